"""The scanner's two Log Analytics tables, named in one place, with their columns from the records.

Every check in tests/infra (the schema tests and the KQL analysis that ``make infra-check``
runs) takes table names and columns from here. shared/core/records.py owns the columns; this is the
only module under tests/infra that imports it, so moving that module or renaming a table is a
one-line change here.
"""

from __future__ import annotations

from shared.core import records  # the record schema's one import in tests/infra

FINDINGS_TABLE = records.FINDINGS_TABLE
RUNS_TABLE = records.RUNS_TABLE

#: table -> its columns, (name, Log Analytics type), in order
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    FINDINGS_TABLE: records.FINDING_COLUMNS,
    RUNS_TABLE: records.RUN_COLUMNS,
}

#: table -> the record dataclass the code serialises into it
RECORDS: dict[str, type] = {
    FINDINGS_TABLE: records.Finding,
    RUNS_TABLE: records.RunRecord,
}
