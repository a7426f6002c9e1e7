"""Documentation that must not drift from the code: settings in the sample and the README."""

from __future__ import annotations

import json
from pathlib import Path

from shared.settings import DOCUMENTED

ROOT = Path(__file__).resolve().parents[2]


class TestSettingsDocumented:
    def test_local_settings_sample_has_every_setting(self):
        """local.settings.sample.json sets and explains every setting the code reads."""
        sample = json.loads((ROOT / "local.settings.sample.json").read_text())
        assert set(DOCUMENTED) <= set(sample["Values"])
        assert set(DOCUMENTED) <= set(sample["_help"])

    def test_readme_configuration_table_lists_every_setting(self):
        """The README's configuration table has a row for every setting."""
        readme = (ROOT / "README.md").read_text()
        missing = [name for name in DOCUMENTED if f"| `{name}` |" not in readme]
        assert missing == []


class TestCommandLineDocumented:
    def test_readme_lists_every_format(self):
        """README's format table has a row for every --format value."""
        from shared.adapters.output import FORMATS  # noqa: PLC0415

        readme = (ROOT / "README.md").read_text()
        missing = [name for name in FORMATS if f"| `{name}`" not in readme]
        assert missing == []

    def test_readme_lists_every_exit_code(self):
        """README's exit code table has a row for every code the CLI returns."""
        from shared.entrypoints.cli import EXIT_CODES  # noqa: PLC0415

        readme = (ROOT / "README.md").read_text()
        missing = [code for code, _ in EXIT_CODES if f"\n| {code} | " not in readme]
        assert missing == []
