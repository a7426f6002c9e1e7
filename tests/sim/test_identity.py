"""The App Service managed identity endpoint and the token format, through azure-identity."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CredentialUnavailableError, ManagedIdentityCredential

from sim import AKS_SERVER_APP_ID, SimulatedEstate
from sim.estate import Identity
from sim.identity import TokenAuthority, TokenError
from tests.sim.conftest import AKS_SCOPE

IDENTITY = Identity(
    client_id="11111111-1111-1111-1111-111111111111",
    principal_id="22222222-2222-2222-2222-222222222222",
)


class TestTokenEndpoint:
    def test_managed_identity_credential_gets_a_token_for_the_requested_resource(
        self, sim, credential
    ):
        """ManagedIdentityCredential(client_id=...) gets a token whose aud is the scope's resource."""
        token = credential.get_token(f"{sim.arm_endpoint}/.default")
        claims = sim.authority.verify(token.token, [sim.arm_endpoint])
        assert claims.object_id == sim.estate.identity.principal_id
        assert claims.app_id == sim.estate.identity.client_id
        assert claims.tenant_id == sim.estate.tenant_id
        assert 3500 < token.expires_on - time.time() <= 3600

    def test_aks_scope_becomes_the_aks_server_app_audience(self, sim, credential):
        """The AKS scope is sent as resource=6dae42f8-... and comes back as the token's aud."""
        token = credential.get_token(AKS_SCOPE)
        assert sim.authority.verify(token.token, [AKS_SERVER_APP_ID]).audience == AKS_SERVER_APP_ID

    def test_tokens_are_cached_by_the_credential(self, sim, credential):
        """A second get_token for the same scope is served from msal's cache."""
        before = sim.tokens_issued("https://monitor.azure.com")
        credential.get_token("https://monitor.azure.com/.default")
        credential.get_token("https://monitor.azure.com/.default")
        assert sim.tokens_issued("https://monitor.azure.com") == before + 1

    def test_unknown_client_id_is_refused(self, sim):
        """A client id the estate does not have gets App Service's 400 'Unable to load' answer."""
        with (
            ManagedIdentityCredential(client_id="99999999-9999-9999-9999-999999999999") as cred,
            pytest.raises((CredentialUnavailableError, ClientAuthenticationError)) as caught,
        ):
            cred.get_token(AKS_SCOPE)
        assert "Unable to load the proper Managed Identity" in str(caught.value)

    def test_wrong_identity_header_is_refused(self, sim, monkeypatch):
        """Without the right X-IDENTITY-HEADER no token is issued."""
        monkeypatch.setenv("IDENTITY_HEADER", "not-the-secret")
        before = sim.tokens_issued()
        with (
            ManagedIdentityCredential(client_id=sim.env["AZURE_CLIENT_ID"]) as cred,
            pytest.raises((CredentialUnavailableError, ClientAuthenticationError)),
        ):
            cred.get_token(AKS_SCOPE)
        assert sim.tokens_issued() == before

    def test_token_endpoint_fault_answers_its_status(self, sim):
        """A TOKEN fault makes the endpoint fail; the credential reports it."""
        from sim import Endpoint, Fault  # noqa: PLC0415 - local to the fault tests

        fault = sim.faults.add(Fault(Endpoint.TOKEN, status=500, times=10))
        with (
            ManagedIdentityCredential(client_id=sim.env["AZURE_CLIENT_ID"], retry_total=0) as cred,
            pytest.raises((CredentialUnavailableError, ClientAuthenticationError)),
        ):
            cred.get_token("https://example.invalid/.default")
        assert sim.faults.hits(fault) >= 1


class TestTokenAuthority:
    def test_a_minted_token_is_jwt_shaped_and_verifies(self):
        """header.payload.signature, base64url, HS256; verify returns the claims."""
        authority = TokenAuthority("33333333-3333-3333-3333-333333333333")
        token, expires = authority.mint(IDENTITY, "https://monitor.azure.com", now=1_000_000)
        assert token.count(".") == 2
        assert "=" not in token
        claims = authority.verify(token, ["https://monitor.azure.com/"], now=1_000_100)
        assert (claims.object_id, claims.expires, claims.not_before) == (
            IDENTITY.principal_id,
            expires,
            1_000_000 - 300,
        )

    @pytest.mark.parametrize(
        ("mutate", "audiences", "at", "reason"),
        [
            pytest.param(
                lambda t: t,
                ["https://management.azure.com"],
                1_000_100,
                "audience",
                id="wrong-audience",
            ),
            pytest.param(
                lambda t: t, ["https://monitor.azure.com"], 1_003_600, "expired", id="expired"
            ),
            pytest.param(
                lambda t: t,
                ["https://monitor.azure.com"],
                999_000,
                "not_yet_valid",
                id="not-yet-valid",
            ),
            pytest.param(
                lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"),
                ["https://monitor.azure.com"],
                1_000_100,
                "signature",
                id="bad-signature",
            ),
            pytest.param(
                lambda t: "abc",
                ["https://monitor.azure.com"],
                1_000_100,
                "malformed",
                id="not-a-jwt",
            ),
        ],
    )
    def test_verify_refuses(self, mutate, audiences, at, reason):
        """Audience, lifetime and signature are all checked."""
        authority = TokenAuthority("33333333-3333-3333-3333-333333333333")
        token, _ = authority.mint(IDENTITY, "https://monitor.azure.com", now=1_000_000)
        with pytest.raises(TokenError) as caught:
            authority.verify(mutate(token), audiences, now=at)
        assert caught.value.reason == reason

    def test_another_estates_token_does_not_verify(self):
        """Each estate signs with its own secret."""
        token, _ = TokenAuthority("t").mint(IDENTITY, "aud")
        with pytest.raises(TokenError) as caught:
            TokenAuthority("t").verify(token, ["aud"])
        assert caught.value.reason == "signature"


def test_sim_fixture_sets_the_scanner_environment(sim: SimulatedEstate) -> None:
    """env carries everything the scanner needs, all on loopback."""
    assert set(sim.env) >= {
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "AZURE_CLIENT_ID",
        "ARM_ENDPOINT",
        "LOGS_INGESTION_ENDPOINT",
        "LOGS_DCR_IMMUTABLE_ID",
        "REQUESTS_CA_BUNDLE",
    }
    assert sim.env["IDENTITY_ENDPOINT"].startswith("http://127.0.0.1:")
    assert sim.env["ARM_ENDPOINT"].startswith("https://127.0.0.1:")
    assert sim.env["LOGS_INGESTION_ENDPOINT"].startswith("https://127.0.0.1:")
    assert sim.env["LOGS_DCR_IMMUTABLE_ID"].startswith("dcr-")
    assert len(sim.env["LOGS_DCR_IMMUTABLE_ID"]) == 36
