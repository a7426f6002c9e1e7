"""Hostile command lines: ``python -m shared`` exits 2 with a message and calls nothing, or runs.

Generated: argument vectors of the ``scan`` command's options (and unknown ones) with values
that are valid, empty, padded, look-alikes or files that do not exist, cannot be written, or
hold a broken policy or kubeconfig. Invariant: exit 2, ``error:`` on stderr and the simulated
estate's request counters unchanged; or exit 0/1 with output in the asked format. Never a
traceback (any other exception fails the test). The estate is one cluster with one node, so a
valid case costs one small scan.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from shared.core.controls.registry import get_benchmark
from shared.entrypoints.cli import main
from sim import AKS_SERVER_APP_ID, SimulatedEstate, generated_estate
from sim.estate import cluster_resource_id
from tests.hypothesis_profiles import count, examples

pytestmark = pytest.mark.inputs

ESTATE = generated_estate(1, 1, subscriptions=1)
(SUBSCRIPTION,) = ESTATE.subscriptions
(CLUSTER,) = SUBSCRIPTION.clusters
CLUSTER_ID = cluster_resource_id(SUBSCRIPTION.id, CLUSTER)
FILES = Path("/nonexistent-dir-for-inputs")  # never created


@pytest.fixture(name="files", scope="module")
def _files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("cli")
    paths = {
        "policy-ok": root / "policy.yaml",
        "policy-bad-date": root / "bad-date.yaml",
        "policy-timestamp": root / "timestamp.yaml",
        "kubeconfig-bad": root / "bad-kubeconfig",
        "directory": root,
    }
    exemption = "exemptions:\n  - control: '3.2.4'\n    scope: /subscriptions/*\n    reason: legacy exporter\n    expires: {}\n"
    paths["policy-ok"].write_text("levels: [1]\n")
    paths["policy-bad-date"].write_text(exemption.format("2027-02-30"))
    paths["policy-timestamp"].write_text(exemption.format("2027-03-01T10:00:00Z"))
    paths["kubeconfig-bad"].write_text("contexts: 5\ncurrent-context: a\n")
    named = {name: str(path) for name, path in paths.items()}
    named["missing"] = str(root / "missing.yaml")
    named["unwritable"] = str(FILES / "out.json")
    named["out"] = str(root / "out.json")
    return named


@pytest.fixture(name="sim", scope="module")
def _sim(
    files: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SimulatedEstate]:
    with SimulatedEstate(ESTATE).start() as sim, pytest.MonkeyPatch.context() as patch:
        for key, value in {**sim.env, "DEADLETTER_DIR": str(tmp_path_factory.mktemp("dl"))}.items():
            patch.setenv(key, value)
        patch.chdir(tmp_path_factory.mktemp("cwd"))  # generated relative paths land here
        kubeconfig = {
            "apiVersion": "v1",
            "current-context": "person",
            "clusters": [
                {
                    "name": CLUSTER.name,
                    "cluster": {
                        "server": sim.api_server_url(CLUSTER.name),
                        "certificate-authority-data": base64.b64encode(
                            sim.cluster_ca_pem(CLUSTER.name).encode()
                        ).decode(),
                    },
                }
            ],
            "contexts": [{"name": "person", "context": {"cluster": CLUSTER.name, "user": "me"}}],
            "users": [{"name": "me", "user": {"token": sim.token(AKS_SERVER_APP_ID)}}],
        }
        path = Path(files["directory"]) / "kubeconfig"
        path.write_text(yaml.safe_dump(kubeconfig))
        files["kubeconfig-ok"] = str(path)
        yield sim


def run(argv: list[str]) -> tuple[int, str, str]:
    """main(argv) with stdout and stderr captured; argparse's SystemExit is its exit code."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def value(pool: list[str]) -> st.SearchStrategy[str]:
    """Valid values from ``pool``, empty or option-like values, or any short text."""
    hostile = st.sampled_from(["", " ", "-", "--format"]) | st.text(max_size=6)
    valid = st.sampled_from(pool)
    return st.one_of(valid, valid, hostile) if pool else hostile  # two to one for valid values


def options(files: dict[str, str]) -> st.SearchStrategy[list[list[str]]]:
    file_names = st.sampled_from(sorted(set(files) - {"out"})).map(lambda name: files[name])
    paths = st.one_of(file_names, file_names, value([]))  # mostly the module's files
    # Outputs are written: never one of the input files (a policy or kubeconfig a later case reads).
    outputs = st.sampled_from([files["out"], files["unwritable"], files["directory"]]) | value([])
    option = st.one_of(
        st.tuples(st.just("--format"), value(["table", "json", "jsonl", "JSON", "xml"])).map(list),
        st.tuples(st.just("--output"), outputs).map(list),
        st.just(["--fail-on-findings"]),
        st.just(["-v"]),
        st.tuples(st.just("--policy"), paths).map(list),
        st.tuples(st.just("--benchmark"), value(["cis-aks-1.8", "cis-aks-1.0", "cis-aks-9"])).map(
            list
        ),
        st.tuples(
            st.just("--subscription"),
            value([SUBSCRIPTION.id, SUBSCRIPTION.id.upper(), SUBSCRIPTION.id + "\n"]),
        ).map(list),
        st.tuples(
            st.just("--cluster"), value([CLUSTER_ID, CLUSTER_ID.lower(), CLUSTER_ID + "/"])
        ).map(list),
        st.tuples(st.just("--kubeconfig"), paths).map(list),
        st.tuples(st.just("--context"), value(["person", "Person"])).map(list),
        st.sampled_from(
            [["--faults", files["missing"]], ["--bogus"], ["positional"], ["--format"]]
        ),
    )
    return st.lists(option, max_size=4)


class TestCommandLine:
    def test_any_argument_vector_exits_2_without_a_call_or_runs(self, sim, files):
        """Generated scan command lines: exit 2 with error: and no request to the estate, or a completed scan with parseable output."""

        @examples(60)
        @given(chosen=options(files))
        def check(chosen: list[list[str]]) -> None:
            count("cli")
            argv = ["scan", *[part for option in chosen for part in option]]
            out_file = Path(files["out"])
            out_file.unlink(missing_ok=True)
            before = sim.snapshot()
            code, out, err = run(argv)
            assert code in (0, 1, 2), (argv, code, err)
            if code == 2:
                assert "error: " in err, (argv, err)
                assert sim.snapshot() == before, (
                    argv,
                    "an invalid command line reached the estate",
                )
                return
            fmt = next((o[1] for o in reversed(chosen) if o[0] == "--format"), "table")
            target = next((o[1] for o in reversed(chosen) if o[0] == "--output"), None)
            text = Path(target).read_text() if target else out
            if fmt == "json":
                assert "run" in json.loads(text)
            elif fmt == "jsonl":
                assert "run" in json.loads(text.splitlines()[-1])

        check()

    @examples(40)
    @given(
        argv=st.lists(
            st.text(max_size=8) | st.sampled_from(["scan", "demo", "-h", "--", "-v"]), max_size=3
        )
    )
    def test_any_words_exit_2_or_run(self, sim, argv):
        """Any words as the command line: argparse's exit 2 (or 0 for --help) with its message, and no request to the estate unless a scan ran."""
        count("cli")
        if argv == ["scan"] or argv[:1] == ["demo"]:
            return  # a whole scan (covered above) or the demo's own estate (tests/e2e/test_scan_estate.py)
        before = sim.snapshot()
        code, out, err = run(argv)
        assert code in (0, 2), (argv, code, err)
        if code == 2:
            assert "error: " in err
            assert sim.snapshot() == before
        else:
            assert "usage:" in out or sim.snapshot() != before

    @pytest.mark.parametrize(
        ("argv", "named"),
        [
            (["scan", "--kubeconfig", ""], "--kubeconfig: must not be empty"),
            (["scan", "--context", "", "--kubeconfig", "K"], "--context: must not be empty"),
            (["scan", "--policy", ""], "--policy: must not be empty"),
            (["scan", "--benchmark", ""], "--benchmark: must not be empty"),
            (["scan", "--output", ""], "--output: must not be empty"),
            (["scan", "--format", "xml"], "--format: invalid choice: 'xml'"),
            (["scan", "--bogus"], "unrecognized arguments: --bogus"),
            (["scan", "--output", "\x00"], "--output: must not contain a NUL character"),
        ],
        ids=[
            "empty-kubeconfig",
            "empty-context",
            "empty-policy",
            "empty-benchmark",
            "empty-output",
            "bad-format",
            "unknown-option",
            "nul-output",
        ],
    )
    def test_regressions_argparse(self, sim, argv, named):
        """An empty --kubeconfig scanned every AKS cluster instead (widened); an empty --context, --policy or --benchmark was ignored; an empty --output was a traceback, and (found by make fuzz) so was a NUL in a path given to main(); now each exits 2 naming the option."""
        before = sim.snapshot()
        code, _out, err = run(argv)
        assert code == 2
        assert named in err, err
        assert sim.snapshot() == before

    @pytest.mark.parametrize(
        ("option", "file", "named"),
        [
            (
                "--output",
                "unwritable",
                "--output: cannot write /nonexistent-dir-for-inputs/out.json: No such file or directory",
            ),
            (
                "--policy",
                "policy-bad-date",
                "exemptions[0].expires: '2027-02-30' is not a date that exists",
            ),
            (
                "--policy",
                "policy-timestamp",
                "exemptions[0].expires: '2027-03-01T10:00:00Z' is a timestamp",
            ),
            (
                "--kubeconfig",
                "kubeconfig-bad",
                "contexts: must be a list of named contexts, got integer",
            ),
        ],
        ids=[
            "output-unwritable",
            "policy-date-that-does-not-exist",
            "policy-timestamp",
            "kubeconfig-contexts-int",
        ],
    )
    def test_regressions_files(self, sim, files, option, file, named):
        """An unwritable --output, a 2027-02-30 expiry and a bad kubeconfig were tracebacks (exit 1); a timestamp expiry called the estate, then crashed; now each exits 2 before any call."""
        before = sim.snapshot()
        code, _out, err = run(["scan", option, files[file], "--format", "json"])
        assert (code, sim.snapshot() == before) == (2, True), err
        assert named in err, err
        assert "Traceback" not in err

    def test_demo_fault_that_cannot_fire_exits_2_before_the_estate_starts(self, sim, tmp_path):
        """demo --faults with a cluster the estate does not have ran a fault-free demo; now exit 2 naming the entry."""
        path = tmp_path / "faults.json"
        path.write_text(json.dumps([{"endpoint": "configz", "cluster": "aks-nope"}]))
        code, _out, err = run(["demo", "--faults", str(path)])
        assert code == 2
        assert "[0]: cluster: 'aks-nope' is not a cluster of the estate" in err

    def test_valid_kubeconfig_scan_still_runs(self, sim, files):
        """The generator's valid kubeconfig scans its one node (its cluster controls that need
        ARM are SKIPPED rows without a node; section 4's are read from its API server)."""
        code, out, _err = run(["scan", "--kubeconfig", files["kubeconfig-ok"], "--format", "json"])
        assert code == 0
        findings = json.loads(out)["findings"]
        assert {f["NodeName"] for f in findings if f["Scope"] == "node"} == {
            n.name for n in CLUSTER.nodes()
        }
        arm = {c.id for c in get_benchmark("cis-aks-1.8").arm_controls}
        cluster = [f for f in findings if f["Scope"] == "cluster"]
        assert {f["Status"] for f in cluster if f["ControlId"] in arm} == {"SKIPPED"}
        assert "SKIPPED" not in {f["Status"] for f in cluster if f["ControlId"] not in arm}
