"""infra/*.bicep parses with checkov's parser and follows the Azure Verified Modules conventions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.bicep import ROOT, BicepParseError, Template, bicep_files, parse, render, walk

FILES = bicep_files()


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


class TestParses:
    def test_there_are_templates(self):
        """infra/ holds main.bicep and its modules."""
        assert [p.name for p in FILES if p.parent.name == "infra"] == ["main.bicep"]
        assert len(FILES) >= 8

    @pytest.mark.parametrize("path", FILES, ids=_id)
    def test_parses(self, path):
        """pycep-parser (checkov's pin) parses the file: a file it cannot parse is not checked."""
        parse(path)

    def test_a_parse_error_names_the_file(self, tmp_path):
        """Syntax pycep does not know (here a typed array) fails with the file's name."""
        broken = tmp_path / "broken.bicep"
        broken.write_text("param ids string[]\n", encoding="utf-8")
        with pytest.raises(BicepParseError, match=r"broken\.bicep: .*LSQB"):
            parse(broken)


class TestDescriptions:
    @pytest.mark.parametrize("path", FILES, ids=_id)
    def test_every_parameter_says_required_or_optional(self, path):
        """A parameter without a default is 'Required. ...', one with a default 'Optional. ...'."""
        template = Template(path)
        for name, parameter in template.section("parameters").items():
            description = template.decorators("parameters", name).get("description") or ""
            expected = "Optional. " if parameter.get("default") is not None else "Required. "
            assert description.startswith(expected), (
                f"{template.name}: param {name}: {description!r}"
            )

    @pytest.mark.parametrize("path", FILES, ids=_id)
    def test_every_output_is_described(self, path):
        """Every output carries a description."""
        template = Template(path)
        for name in template.section("outputs"):
            description = template.decorators("outputs", name).get("description") or ""
            assert description.strip(), f"{template.name}: output {name} has no description"

    @pytest.mark.parametrize("path", FILES, ids=_id)
    def test_every_file_says_what_it_is(self, path):
        """Every module opens with metadata name and description."""
        text = path.read_text(encoding="utf-8")
        assert "metadata name = " in text
        assert "metadata description = " in text


class TestKeyless:
    @pytest.mark.parametrize("path", FILES, ids=_id)
    def test_no_key_or_secret_is_read_or_output(self, path):
        """No listKeys(), no connection string with a key, no secure output."""
        text = path.read_text(encoding="utf-8")
        for forbidden in (
            "listKeys(",
            "AccountKey=",
            "listCredentials(",
            "listClusterAdminCredential",
        ):
            assert forbidden not in text, f"{_id(path)} uses {forbidden}"

    def test_storage_allows_entra_only(self):
        """Shared keys off, TLS 1.2, no anonymous blob access, HTTPS only."""
        storage = Template(ROOT / "infra/modules/storage.bicep")
        properties = storage.resource_body("storage")["properties"]
        assert properties["allowSharedKeyAccess"] is False
        assert properties["minimumTlsVersion"] == "TLS1_2"
        assert properties["allowBlobPublicAccess"] is False
        assert properties["supportsHttpsTrafficOnly"] is True

    def test_monitoring_accepts_entra_tokens_only(self):
        """Application Insights and the workspace have local (key) authentication disabled."""
        monitoring = Template(ROOT / "infra/modules/monitoring.bicep")
        insights = monitoring.resource_body("applicationInsights")["properties"]
        assert insights["DisableLocalAuth"] is True
        assert render(insights["WorkspaceResourceId"]) == "workspace.id"  # workspace-based
        workspace = monitoring.resource_body("workspace")["properties"]
        assert workspace["features"]["disableLocalAuth"] is True

    def test_role_assignments_are_loops_named_by_scope_principal_and_role(self):
        """Every role assignment is a loop (or a module loop) named guid(scope, principal, role)."""
        found = 0
        for path in FILES:
            template = Template(path)
            for symbol in template.resources_of_type("Microsoft.Authorization/roleAssignments"):
                found += 1
                config = template.section("resources")[symbol]["config"]
                body = template.resource_body(symbol)
                name = body["name"]["function"]
                assert name["type"] == "guid", f"{template.name}: {symbol}"
                arguments = list(name["parameters"].values())
                assert len(arguments) == 3, (
                    f"{template.name}: {symbol}: guid(scope, principal, role)"
                )
                if "loop_type" not in config:  # the one per-subscription assignment: a module loop
                    assert path.name == "scanner-access.bicep", (
                        f"{template.name}: {symbol} is not a loop"
                    )
        assert (
            found == 5
        )  # storage account, each queue, DCR, App Insights, each target subscription

    def test_no_hard_coded_cloud_endpoint(self):
        """Endpoints come from environment() or resource properties (sovereign clouds work)."""
        for path in FILES:
            for where, value in walk(parse(path)):
                if isinstance(value, str):
                    assert ".windows.net" not in value, f"{_id(path)}: {where}"
                    assert "management.azure.com" not in value, f"{_id(path)}: {where}"
