#!/usr/bin/env bash
# make infra-check: checkov on the Bicep in infra/, fully offline.
#
# Fails on any failed check, on any file checkov could not parse (checkov itself only logs those),
# and on any skip without a reason. Skips live inline in the Bicep:
#   // checkov:skip=CKV_AZURE_NN: why this check does not apply
# CHECKOV (default .venv-infra/bin/checkov, installed from requirements-infra.txt) and PYTHON
# (default: the python next to it) can be overridden.
set -euo pipefail
cd "$(dirname "$0")/.."

checkov="${CHECKOV:-.venv-infra/bin/checkov}"
python="${PYTHON:-$(dirname "$checkov")/python}"
report_dir="$(mktemp -d)"
trap 'rm -rf "$report_dir"' EXIT

# --skip-download: no guidelines or policy metadata from the platform (no network at all);
# external Bicep modules are not fetched either (the default), and infra/ uses none.
status=0
"$checkov" --directory infra --framework bicep --skip-download --compact --quiet \
  --output cli --output json --output-file-path "console,$report_dir/results.json" || status=$?

"$python" - "$report_dir/results.json" <<'PY'
import json
import sys

report = json.load(open(sys.argv[1], encoding="utf-8"))
summary = report["summary"]
print(
    "checkov bicep: passed {passed}, failed {failed}, skipped {skipped}, "
    "parsing errors {parsing_errors}, resources {resource_count}".format(**summary)
)
problems = []
if summary["failed"]:
    problems.append(f"{summary['failed']} failed checks")
if summary["parsing_errors"]:
    problems.append(
        f"{summary['parsing_errors']} file(s) checkov could not parse "
        "(tests/infra names them: pytest tests/infra -k parses)"
    )
if summary["resource_count"] == 0:
    problems.append("no resource was scanned")
for skipped in report["results"].get("skipped_checks", []):
    reason = (skipped.get("check_result") or {}).get("suppress_comment", "")
    if not reason.strip() or reason == "No comment provided":
        problems.append(f"{skipped['check_id']} skipped without a reason in {skipped['file_path']}")
for problem in problems:
    print(f"infra-check: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
exit "$status"
