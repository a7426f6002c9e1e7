"""TLS verification cannot be turned off: not by a setting, not by an SDK's environment variable.

An impostor API server (``SimulatedEstate.impostor``) answers exactly like the cluster's but
presents a certificate from another CA, and the kubeconfig listClusterUserCredential returns
points at it while still carrying the cluster's own CA. A scanner that skipped verification
would read every node; this one must give ERROR rows naming the TLS verification failure,
whatever the settings. A kubeconfig with ``insecure-skip-tls-verify: true`` is refused on both
paths elsewhere: tests/adapters/test_kubeconfig.py::TestParse::test_unusable_kubeconfig_is_a_credentials_error
[insecure-skip] (listClusterUserCredential) and
tests/e2e/test_scan_estate.py::TestAnyKubeconfig::test_kubeconfig_that_skips_tls_verification_is_refused
(``scan --kubeconfig``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from shared.entrypoints.cli import main
from shared.settings import DOCUMENTED
from sim import AKS_SERVER_APP_ID, SimulatedEstate
from sim.runner import Impostor

PROD_SUB = "3c5a7e91-2b4d-4f6a-8c0e-1a2b3c4d5e6f"
CLUSTER = "aks-legacy-eus"
CLUSTER_ID = (
    f"/subscriptions/{PROD_SUB}/resourceGroups/rg-legacy-eus"
    f"/providers/Microsoft.ContainerService/managedClusters/{CLUSTER}"
)
ROOT = Path(__file__).resolve().parents[2]
POLICY = "version: 1\neventRecordQPS: {mode: zero-only, minimum: 1}\nlevels: [1]\n"


def alternatives(sim: SimulatedEstate, tmp: Path) -> dict[str, dict[str, str]]:
    """For each documented setting, a valid value other than the default (with its partner
    when two settings go together). Settings that must name the estate keep its value."""
    no_upload = {"LOGS_INGESTION_ENDPOINT": "", "LOGS_DCR_IMMUTABLE_ID": ""}
    return {
        "AZURE_CLIENT_ID": {"AZURE_CLIENT_ID": sim.env["AZURE_CLIENT_ID"].upper()},
        "ARM_ENDPOINT": {"ARM_ENDPOINT": sim.arm_endpoint + "/"},
        "SCAN_SUBSCRIPTIONS": {"SCAN_SUBSCRIPTIONS": PROD_SUB},
        "DISCOVERY_MODE": {"DISCOVERY_MODE": "arm"},
        "CIS_BENCHMARK": {"CIS_BENCHMARK": "cis-aks-1.0"},
        "CIS_SECTIONS": {"CIS_SECTIONS": "3.2"},
        "EVENT_RECORD_QPS_MODE": {"EVENT_RECORD_QPS_MODE": "zero-only"},
        "EVENT_RECORD_QPS_MIN": {"EVENT_RECORD_QPS_MIN": "1"},
        "ALLOW_LOCAL_ACCOUNTS": {"ALLOW_LOCAL_ACCOUNTS": "true"},
        "SCAN_CONCURRENCY": {"SCAN_CONCURRENCY": "1"},
        "SCAN_CLUSTER_CONCURRENCY": {"SCAN_CLUSTER_CONCURRENCY": "1"},
        "SCAN_REQUEST_TIMEOUT": {"SCAN_REQUEST_TIMEOUT": "300"},
        "SCAN_MAX_RETRIES": {"SCAN_MAX_RETRIES": "10"},
        "CONFIGZ_MAX_BYTES": {"CONFIGZ_MAX_BYTES": str(64 * 1024 * 1024)},
        "LOGS_INGESTION_ENDPOINT": no_upload,
        "LOGS_DCR_IMMUTABLE_ID": no_upload,
        "LOGS_FINDINGS_STREAM": {"LOGS_FINDINGS_STREAM": "Custom-OtherFindings"},
        "LOGS_RUNS_STREAM": {"LOGS_RUNS_STREAM": "Custom-OtherRuns"},
        "SCAN_POLICY": {"SCAN_POLICY": POLICY},
        "SCAN_SCHEDULE": {"SCAN_SCHEDULE": "0 */5 * * * *"},
        "DEADLETTER_CONTAINER": {"DEADLETTER_CONTAINER": "elsewhere"},
        "DEADLETTER_DIR": {"DEADLETTER_DIR": str(tmp / "letters-elsewhere")},
        "PRIVATE_CLUSTER_MODE": {"PRIVATE_CLUSTER_MODE": "run-command"},
        # Read by POST /api/scan only; a scan must not care.
        "SCAN_API_AUTH": {"SCAN_API_AUTH": "off"},
        "SCAN_API_TENANT_ID": {"SCAN_API_TENANT_ID": "0b8d6f4e-2c1a-4e3b-9f5d-7a6c8e0b1d2f"},
        "SCAN_API_CLIENT_ID": {"SCAN_API_CLIENT_ID": "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"},
        "SCAN_API_ROLE": {"SCAN_API_ROLE": "Scan.Everything"},
        "SCAN_API_AUTHORITY": {"SCAN_API_AUTHORITY": "https://login.microsoftonline.us"},
    }


def one_cluster_kubeconfig(cluster: dict[str, object], token: str) -> str:
    """A kubeconfig (YAML) with one cluster entry for CLUSTER and a bearer-token user."""
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "c",
            "clusters": [{"name": CLUSTER, "cluster": cluster}],
            "contexts": [{"name": "c", "context": {"cluster": CLUSTER, "user": "u"}}],
            "users": [{"name": "u", "user": {"token": token}}],
        }
    )


@pytest.fixture(name="impostor")
def _impostor(env: dict[str, str], sim: SimulatedEstate) -> Iterator[Impostor]:
    with sim.impostor(CLUSTER) as impostor:
        yield impostor


def scan_rows(tmp: Path, *argv: str) -> list[dict[str, str]]:
    """The finding rows of an in-process ``scan ... --format json``."""
    out = tmp / "out.json"
    main(["scan", *argv, "--format", "json", "--output", str(out)])
    findings: list[dict[str, str]] = json.loads(out.read_text())["findings"]
    return findings


def assert_refused_for_tls(rows: list[dict[str, str]], server: str) -> None:
    """Every row of the cluster that the API server answers (node-scoped controls) is ERROR and
    names the TLS verification failure at ``server``; the rows ARM answers need no API server."""
    mine = [r for r in rows if r["ClusterName"] == CLUSTER and r["Scope"] == "node"]
    assert mine, "the cluster has no row"
    assert {r["Status"] for r in mine} == {"ERROR"}
    for row in mine:
        assert f"TLS verification of the API server {server} failed" in row["Reason"]
        assert "CERTIFICATE_VERIFY_FAILED" in row["Reason"]


class TestSettings:
    def test_every_documented_setting_has_an_alternative(self, sim, tmp_path):
        """The table below covers exactly the documented settings: a new one must be added."""
        assert set(alternatives(sim, tmp_path)) == set(DOCUMENTED)

    def test_the_genuine_server_is_read(self, env, tmp_path):
        """Without the impostor the same scan reads both nodes: the refusals below are the certificate's doing."""
        rows = scan_rows(tmp_path, "--cluster", CLUSTER_ID)
        assert {r["Status"] for r in rows} >= {"PASS", "FAIL"}
        assert len({r["NodeName"] for r in rows if r["NodeName"]}) == 2

    @pytest.mark.parametrize("setting", sorted(DOCUMENTED))
    def test_no_setting_accepts_the_impostor(self, sim, impostor, tmp_path, monkeypatch, setting):
        """With each setting at another valid value, the impostor's certificate is still refused."""
        for name, value in alternatives(sim, tmp_path)[setting].items():
            monkeypatch.setenv(name, value)
        rows = scan_rows(tmp_path, "--cluster", CLUSTER_ID)
        assert_refused_for_tls(rows, impostor.url)


def write_pem(path: Path, *pems: bytes) -> str:
    path.write_bytes(b"".join(pems))
    return str(path)


class TestEnvironment:
    def test_sdk_variables_do_not_turn_verification_off(self, env, sim, impostor, tmp_path):
        """REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE/SSL_CERT_FILE trusting the impostor, PYTHONHTTPSVERIFY=0 and
        KUBECONFIG with insecure-skip-tls-verify: the API server is verified against the cluster CA only."""
        public_ca = Path(sim.ca_bundle).read_bytes()
        impostor_ca = write_pem(tmp_path / "impostor-ca.pem", impostor.ca_pem)
        certs = tmp_path / "certs"
        certs.mkdir()
        write_pem(certs / "impostor.pem", impostor.ca_pem)
        insecure = tmp_path / "kubeconfig"
        insecure.write_text(
            one_cluster_kubeconfig(
                {"server": impostor.url, "insecure-skip-tls-verify": True},
                sim.token(AKS_SERVER_APP_ID),
            )
        )
        variables = {
            **env,
            "REQUESTS_CA_BUNDLE": write_pem(tmp_path / "bundle.pem", public_ca, impostor.ca_pem),
            "CURL_CA_BUNDLE": impostor_ca,
            "SSL_CERT_FILE": impostor_ca,
            "SSL_CERT_DIR": str(certs),
            "PYTHONHTTPSVERIFY": "0",
            "KUBECONFIG": str(insecure),
            "AZURE_AUTHORITY_HOST": "https://127.0.0.1:9",
            "PATH": os.environ.get("PATH", ""),
        }
        out = tmp_path / "out.json"
        # The kubelet section: the cluster controls come from ARM, which the refused TLS
        # connection to the API server does not stop.
        argv = ["scan", "--cluster", CLUSTER_ID, "--sections", "3.2", "--format", "json"]
        argv += ["--output", str(out)]
        result = subprocess.run(
            [sys.executable, "-m", "shared", *argv],
            env=variables,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        # Exit 4: the one cluster was refused, so the scan reached nothing (README "Exit codes").
        assert result.returncode == 4, result.stderr
        assert_refused_for_tls(json.loads(out.read_text())["findings"], impostor.url)

    def test_azure_sdks_verify_against_the_ca_bundle(self, env, sim, monkeypatch, tmp_path):
        """With a CA bundle that does not sign ARM and Logs Ingestion, every Azure call fails its
        handshake: no client was built with connection_verify=False, whatever the settings."""
        other = write_pem(tmp_path / "other.pem", sim.cluster_ca_pem(CLUSTER).encode())
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", other)
        for setting, values in alternatives(sim, tmp_path).items():
            if setting not in ("LOGS_INGESTION_ENDPOINT", "LOGS_DCR_IMMUTABLE_ID"):
                for name, value in values.items():
                    monkeypatch.setenv(name, value)
        monkeypatch.setenv("DISCOVERY_MODE", "auto")
        before = sim.snapshot()
        rows = scan_rows(tmp_path, "--subscription", PROD_SUB)
        assert {r["Status"] for r in rows} == {"ERROR"}
        assert all("CERTIFICATE_VERIFY_FAILED" in r["Reason"] for r in rows), rows[0]["Reason"]
        reached = {k for k, v in sim.snapshot().items() if v != before.get(k)}
        assert not {k for k in reached if not k.startswith("token|")}, reached


class TestKubeconfigPath:
    def test_person_kubeconfig_with_the_cluster_ca_refuses_the_impostor(
        self, env, sim, impostor, tmp_path
    ):
        """`scan --kubeconfig` whose server is the impostor and whose CA is the cluster's: ERROR rows naming TLS."""
        path = tmp_path / "kubeconfig"
        ca = base64.b64encode(sim.cluster_ca_pem(CLUSTER).encode()).decode()
        path.write_text(
            one_cluster_kubeconfig(
                {"server": impostor.url, "certificate-authority-data": ca},
                sim.token(AKS_SERVER_APP_ID),
            )
        )
        assert_refused_for_tls(scan_rows(tmp_path, "--kubeconfig", str(path)), impostor.url)


class TestSource:
    FORBIDDEN = re.compile(
        r"connection_verify|verify_ssl\s*=\s*False|verify\s*=\s*False|CERT_NONE"
        r"|check_hostname\s*=\s*False|insecure_skip_tls_verify|_create_unverified_context"
    )

    def test_no_code_path_turns_verification_off(self):
        """No module of the scanner (the simulator aside) names a switch that disables verification."""
        offenders = [
            f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
            for path in sorted((ROOT / "shared").rglob("*.py"))
            if "sim" not in path.relative_to(ROOT / "shared").parts
            for number, line in enumerate(path.read_text().splitlines(), 1)
            if self.FORBIDDEN.search(line)
        ]
        assert not offenders, offenders

    def test_the_pattern_finds_a_switch(self):
        """The pattern catches the ways azure-core, requests, kubernetes and ssl spell it."""
        for line in (
            "Client(credential, connection_verify=False)",
            "session.get(url, verify=False)",
            "config.verify_ssl = False",
            "context.verify_mode = ssl.CERT_NONE",
            "ctx = ssl._create_unverified_context()",
        ):
            assert self.FORBIDDEN.search(line), line
