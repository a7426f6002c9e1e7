"""sim.entra: the tenant's OpenID metadata and keys over HTTPS, rotation, tokens, faults."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
import requests

from sim import Endpoint, Fault, SimulatedEstate
from sim.entra import AZURE_CLI_CLIENT_ID


def metadata(sim: SimulatedEstate) -> dict[str, Any]:
    url = f"{sim.login_endpoint}/{sim.estate.tenant_id}/v2.0/.well-known/openid-configuration"
    document: dict[str, Any] = requests.get(url, timeout=10).json()
    return document


def keys(sim: SimulatedEstate) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = requests.get(metadata(sim)["jwks_uri"], timeout=10).json()["keys"]
    return found


class TestDocuments:
    def test_metadata_names_the_tenants_issuer_and_keys(self, sim):
        """Tenant-specific v2.0 metadata: issuer {base}/{tenant}/v2.0, an https jwks_uri, RS256."""
        document = metadata(sim)
        assert document["issuer"] == f"{sim.login_endpoint}/{sim.estate.tenant_id}/v2.0"
        assert document["jwks_uri"].startswith("https://")
        assert document["id_token_signing_alg_values_supported"] == ["RS256"]

    def test_keys_are_rsa_signing_keys_of_this_issuer(self, sim):
        """Each JWK: kty RSA, use sig, kid = x5t, the issuer, and a public modulus only."""
        for key in keys(sim):
            assert (key["kty"], key["use"], key["e"]) == ("RSA", "sig", "AQAB")
            assert key["kid"] == key["x5t"]
            assert key["issuer"] == sim.entra.issuer
            assert "d" not in key
            assert "p" not in key

    def test_rotation_publishes_the_new_key_and_signs_with_it(self, sim):
        """rotate(): both keys published, new tokens name the new kid; retire_others drops the old."""
        old = sim.entra.signing_key
        new = sim.entra.rotate()
        assert {k["kid"] for k in keys(sim)} >= {old.kid, new.kid}
        assert jwt.get_unverified_header(sim.entra.token())["kid"] == new.kid
        sim.entra.rotate(retire_others=True)
        assert old.kid not in {k["kid"] for k in keys(sim)}

    def test_unknown_paths_and_methods_are_refused(self, sim):
        """Only the two documents exist, and only for GET."""
        assert requests.get(f"{sim.login_endpoint}/common/v2.0/x", timeout=10).status_code == 404
        url = f"{sim.login_endpoint}/{sim.estate.tenant_id}/discovery/v2.0/keys"
        assert requests.post(url, timeout=10).status_code == 405

    @pytest.mark.parametrize("endpoint", [Endpoint.OPENID, Endpoint.JWKS])
    def test_faults_and_counters_cover_both_documents(self, sim, endpoint):
        """A fault on either document answers its status, and the counters count it."""
        sim.faults.add(Fault(endpoint, status=503, times=1))
        before = sim.counters.count(endpoint, status=503)
        url = (
            f"{sim.login_endpoint}/{sim.estate.tenant_id}/v2.0/.well-known/openid-configuration"
            if endpoint is Endpoint.OPENID
            else f"{sim.login_endpoint}/{sim.estate.tenant_id}/discovery/v2.0/keys"
        )
        assert requests.get(url, timeout=10).status_code == 503
        assert sim.counters.count(endpoint, status=503) == before + 1


class TestTokens:
    def test_a_user_token_has_the_claims_of_az_account_get_access_token(self, sim):
        """User: v2.0, aud the API, azp Azure CLI, scp, name, the role; verifiable with the published key."""
        token = sim.entra.token("user")
        jwk = {k["kid"]: k for k in keys(sim)}[jwt.get_unverified_header(token)["kid"]]
        claims = jwt.decode(
            token,
            jwt.PyJWK(jwk).key,
            algorithms=["RS256"],
            audience=sim.env["SCAN_API_CLIENT_ID"],
            issuer=sim.entra.issuer,
        )
        assert (claims["ver"], claims["azp"], claims["idtyp"]) == (
            "2.0",
            AZURE_CLI_CLIENT_ID,
            "user",
        )
        assert claims["roles"] == ["Scan.Run"]
        assert "scp" in claims
        assert "name" in claims

    def test_an_application_token_is_client_credentials_shaped(self, sim):
        """App: idtyp app, no scp and no name, sub = oid, the role in roles."""
        claims = jwt.decode(sim.entra.token("app"), options={"verify_signature": False})
        assert claims["idtyp"] == "app"
        assert "scp" not in claims
        assert "name" not in claims
        assert claims["sub"] == claims["oid"]

    def test_overrides_and_drops_change_exactly_what_they_name(self, sim):
        """claims= overrides, drop= removes, roles=() leaves no roles claim."""
        token = sim.entra.token(roles=(), claims={"aud": "x"}, drop=("nbf",))
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["aud"] == "x"
        assert "nbf" not in claims
        assert "roles" not in claims

    def test_the_estate_environment_points_the_app_at_this_tenant(self, sim):
        """sim.env carries SCAN_API_TENANT_ID, SCAN_API_CLIENT_ID and SCAN_API_AUTHORITY."""
        assert sim.env["SCAN_API_TENANT_ID"] == sim.estate.tenant_id
        assert sim.env["SCAN_API_AUTHORITY"] == sim.login_endpoint
