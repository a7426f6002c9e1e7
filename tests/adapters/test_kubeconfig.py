"""Parsing listClusterUserCredential's kubeconfig without running anything in it."""

from __future__ import annotations

import base64
import datetime
from collections.abc import Mapping

import jwt
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.adapters.kube_policy import RequestPolicy
from shared.adapters.kubeconfig import parse_kubeconfig
from shared.adapters.kubeconfig_source import KubeconfigConnector, kubeconfig_cluster, session_user
from shared.core.errors import CredentialsError

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def kubeconfig(cluster: Mapping[str, object], user: Mapping[str, object]) -> bytes:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "ctx",
            "clusters": [{"name": "c", "cluster": cluster}],
            "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
            "users": [{"name": "u", "user": user}],
        }
    ).encode()


EXEC_USER: dict[str, object] = {
    "exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "kubelogin",
        "args": ["get-token", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"],
    }
}


class TestParse:
    def test_entra_kubeconfig_gives_server_and_ca_and_ignores_exec(self):
        """Server and CA are read; the exec plugin is noted, never run, and gives no credential."""
        ep = parse_kubeconfig(
            kubeconfig(
                {
                    "server": "https://c.hcp.westeurope.azmk8s.io:443",
                    "certificate-authority-data": b64(CA),
                },
                EXEC_USER,
            )
        )
        assert ep.server == "https://c.hcp.westeurope.azmk8s.io:443"
        assert ep.ca_pem == CA
        assert ep.uses_exec_plugin
        assert not ep.has_local_credentials

    def test_local_account_credentials_are_kept_but_not_shown(self):
        """Client certificate and key are decoded, and repr() does not reveal them."""
        ep = parse_kubeconfig(
            kubeconfig(
                {"server": "https://x:443", "certificate-authority-data": b64(CA)},
                {"client-certificate-data": b64("CERTPEM"), "client-key-data": b64("SECRETKEY")},
            )
        )
        assert ep.has_local_credentials
        assert "SECRETKEY" not in repr(ep)

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            (b"::: not yaml :::\n\t- [", "not valid YAML"),
            (b"- a list", "not a YAML mapping"),
            (
                kubeconfig(
                    {"server": "http://x", "certificate-authority-data": b64(CA)}, EXEC_USER
                ),
                "https://",
            ),
            (
                kubeconfig(
                    {
                        "server": "https://x",
                        "insecure-skip-tls-verify": True,
                        "certificate-authority-data": b64(CA),
                    },
                    EXEC_USER,
                ),
                "skip TLS",
            ),
            (kubeconfig({"server": "https://x"}, EXEC_USER), "no cluster CA"),
            (
                kubeconfig({"server": "https://x", "certificate-authority-data": "***"}, EXEC_USER),
                "not base64",
            ),
        ],
        ids=["not-yaml", "not-mapping", "http-server", "insecure-skip", "no-ca", "bad-base64"],
    )
    def test_unusable_kubeconfig_is_a_credentials_error(self, raw, message):
        """Every unusable kubeconfig raises CredentialsError naming the problem."""
        with pytest.raises(CredentialsError, match=message):
            parse_kubeconfig(raw)


class TestKubeconfigConnector:
    def test_missing_token_file_is_a_credentials_error(self, tmp_path):
        """A user whose tokenFile does not exist gives CredentialsError naming the file, not a crash."""
        missing = tmp_path / "no-such-token"
        path = tmp_path / "kubeconfig"
        path.write_bytes(
            kubeconfig(
                {"server": "https://127.0.0.1:1", "certificate-authority-data": b64(CA)},
                {"tokenFile": str(missing)},
            )
        )
        connector = KubeconfigConnector(str(path), None, RequestPolicy())
        with pytest.raises(CredentialsError, match=f"No such file or directory: {missing}"):
            connector.connect(kubeconfig_cluster(str(path), None))


class TestSessionUser:
    """Who a kubeconfig session is, for 4.1.9's "the scanner's own get nodes/proxy"."""

    def test_an_entra_token_names_its_oid(self):
        """A bearer token's oid claim is the user name (never the token itself)."""

        token = jwt.encode({"oid": "0e9d8c7b-6a5f-4e3d-9c2b-1a0f9e8d7c6b"}, "k" * 32)
        assert session_user({"authorization": f"Bearer {token}"}, "") == (
            "0e9d8c7b-6a5f-4e3d-9c2b-1a0f9e8d7c6b"
        )

    def test_a_client_certificate_names_its_common_name(self, tmp_path):
        """A certificate kubeconfig is the user its subject CN names."""

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, "masterclient"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
            ]
        )
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(1)
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256())
        )
        path = tmp_path / "client.crt"
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        assert session_user({}, str(path)) == "masterclient"

    def test_unknown_otherwise(self, tmp_path):
        """A static token, a token without oid or an unreadable certificate: not known ("")."""

        bad = tmp_path / "bad.crt"
        bad.write_text("not a certificate")
        assert session_user({"authorization": "Bearer static-token"}, "") == ""
        assert session_user({}, str(bad)) == ""
        assert session_user({}, "") == ""
