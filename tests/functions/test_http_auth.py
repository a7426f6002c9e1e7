"""POST /api/scan refuses every caller without a valid Entra token and the app role, before
anything is read, scanned or queued.

The HTTP function is invoked as the host would (function_app.manual_scan) against the simulated
estate, whose Entra tenant (sim.entra) publishes real RS256 keys; validation is the real path
(shared.adapters.entra_auth with PyJWT). Each hostile token is its own test; each ends in 401,
403 or 503, with no queue message, and with not one request to ARM, an API server, the token
endpoint or Logs Ingestion (the estate's counters, the tenant's two documents aside).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import jwt
import pytest

import function_app
from shared.core.auth import bearer_token
from shared.core.errors import UnauthenticatedError
from shared.entrypoints.httpapi import authenticate
from sim import Action, Endpoint, Fault, SimulatedEstate, default_estate
from sim.entra import SigningKey

OTHER_TENANT = "0b8d6f4e-2c1a-4e3b-9f5d-7a6c8e0b1d2f"
http_fn = function_app.manual_scan.build().get_user_function()
AUTH_ENDPOINTS = {str(Endpoint.OPENID), str(Endpoint.JWKS)}


class Out:
    def __init__(self) -> None:
        self.value: Any = None

    def set(self, value: Any) -> None:
        self.value = value


def _estate(monkeypatch: pytest.MonkeyPatch, sim: SimulatedEstate) -> None:
    sim.faults.clear()
    for key, value in sim.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SCAN_API_AUTH", raising=False)


@pytest.fixture(name="sim", scope="module")
def _sim() -> Iterator[SimulatedEstate]:
    with SimulatedEstate(default_estate()).start() as sim:
        yield sim


@pytest.fixture(name="env")
def _env(sim: SimulatedEstate, monkeypatch: pytest.MonkeyPatch) -> SimulatedEstate:
    _estate(monkeypatch, sim)
    return sim


@pytest.fixture(name="cold")
def _cold(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimulatedEstate]:
    """A fresh estate: its tenant's keys have never been read (a cold start)."""
    with SimulatedEstate(default_estate()).start() as sim:
        _estate(monkeypatch, sim)
        yield sim


def call(
    headers: dict[str, str] | None = None, params: dict[str, str] | None = None
) -> tuple[func.HttpResponse, Any]:
    """POST /api/scan with ``headers``; the response and what went to the queue."""
    request = func.HttpRequest(
        method="POST",
        url="/api/scan",
        body=b'{"wait": true}',
        headers={"content-type": "application/json", **(headers or {})},
        params=params or {},
    )
    out = Out()
    response: func.HttpResponse = http_fn(request, out)
    return response, out.value


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def estate_calls(sim: SimulatedEstate) -> dict[str, int]:
    """Every request the estate answered, the tenant's metadata and keys aside."""
    return {k: n for k, n in sim.snapshot().items() if k.split("|")[0] not in AUTH_ENDPOINTS}


def refused(sim: SimulatedEstate, headers: dict[str, str], status: int, **kw: Any) -> Any:
    """Call, assert the refusal and that nothing ran; return (problem body, response)."""
    before = estate_calls(sim)
    response, queued = call(headers, **kw)
    assert response.status_code == status, response.get_body()
    assert response.mimetype == "application/problem+json"
    assert queued is None
    assert estate_calls(sim) == before
    problem = json.loads(response.get_body())
    assert problem["status"] == status
    return problem, response


def challenge(response: func.HttpResponse) -> str:
    value: str = response.headers["WWW-Authenticate"]
    assert value.startswith('Bearer realm="aks-kubelet-scanner"')
    return value


def _b64(document: dict[str, Any]) -> str:
    raw = json.dumps(document, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class TestMissingOrMalformedCredentials:
    def test_no_authorization_header_is_401_with_a_bare_challenge(self, env):
        """No token at all: 401, WWW-Authenticate: Bearer without an error code (RFC 6750 3.1)."""
        problem, response = refused(env, {}, 401)
        assert challenge(response) == 'Bearer realm="aks-kubelet-scanner"'
        assert "Authorization: Bearer" in problem["detail"]

    def test_basic_credentials_are_401(self, env):
        """Authorization: Basic (a password, say) is not a bearer token: 401 invalid_request."""
        basic = base64.b64encode(b"admin:hunter2").decode()
        problem, response = refused(env, {"Authorization": f"Basic {basic}"}, 401)
        assert 'error="invalid_request"' in challenge(response)
        assert "'Basic'" in problem["detail"]

    def test_token_in_the_query_string_is_refused_even_with_a_valid_header(self, env):
        """access_token in the URL is not accepted (URLs are logged): 401 invalid_request."""
        token = env.entra.token()
        problem, _ = refused(env, bearer(token), 401, params={"access_token": token})
        assert "query string" in problem["detail"]

    def test_token_only_in_the_query_string_is_401(self, env):
        """A valid token offered only as ?access_token= is refused: 401."""
        refused(env, {}, 401, params={"access_token": env.entra.token()})

    @pytest.mark.parametrize(
        "mangle",
        [
            lambda t: f"Bearer {t}, Bearer {t}",
            lambda t: f"Bearer {t},Bearer {t}",
            lambda t: f"Bearer  {t}",
            lambda t: f"Bearer\t{t}",
            lambda t: f"Bearer {t} ",
            lambda t: f" Bearer {t}",
            lambda t: f"Bearer {t[:20]} {t[20:]}",
            lambda t: "Bearer",
            lambda t: f"Bearer: {t}",
        ],
        ids=[
            "joined-duplicate",
            "joined-no-space",
            "two-spaces",
            "tab",
            "trailing-space",
            "leading-space",
            "space-inside",
            "scheme-only",
            "colon",
        ],
    )
    def test_mangled_or_duplicated_header_is_401(self, env, mangle):
        """A header the front end joined from two, or with stray whitespace: 401, never a guess."""
        problem, response = refused(env, {"Authorization": mangle(env.entra.token())}, 401)
        assert 'error="invalid_request"' in challenge(response) or "not" in problem["detail"]

    def test_two_authorization_headers_are_401(self, env):
        """Two Authorization headers (names differing in case) are refused, not one picked."""

        token = env.entra.token()
        with pytest.raises(UnauthenticatedError, match="more than one"):
            bearer_token({"Authorization": f"Bearer {token}", "authorization": f"Bearer {token}"})

    def test_a_token_far_larger_than_any_real_one_is_401_before_parsing(self, env):
        """A 1 MB token is refused by length before any JOSE parsing or key lookup."""
        huge = env.entra.token(claims={"padding": "x" * 1_000_000})
        problem, _ = refused(env, bearer(huge), 401)
        assert "longer than 16384 bytes" in problem["detail"]


class TestHostileTokens:
    def test_alg_none_is_401(self, env):
        """An unsigned token (alg none) with every right claim: 401."""
        claims = env.entra.claims()
        token = f"{_b64({'typ': 'JWT', 'alg': 'none'})}.{_b64(claims)}."
        problem, response = refused(env, bearer(token), 401)
        assert 'error="invalid_token"' in challenge(response)
        assert "RS256" in problem["detail"]

    def test_hs256_signed_with_the_public_key_is_401(self, env):
        """Algorithm confusion: HS256 with the tenant's public key as the HMAC secret: 401."""
        key = env.entra.signing_key
        head = _b64({"typ": "JWT", "alg": "HS256", "kid": key.kid})
        body = _b64(env.entra.claims())
        mac = hmac.new(key.public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
        token = f"{head}.{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
        problem, _ = refused(env, bearer(token), 401)
        assert "RS256" in problem["detail"]

    def test_a_kid_not_in_the_jwks_is_401_after_one_bounded_read(self, cold):
        """An unknown key id on a cold start: the keys are read once, then 401; more forged key
        ids read nothing more (one refresh per 300 s at most), and real tokens still verify."""
        rogue = SigningKey.generate()
        problem, _ = refused(cold, bearer(cold.entra.token(key=rogue)), 401)
        assert "not signed by a key" in problem["detail"]
        assert cold.counters.count(Endpoint.JWKS) == 1
        for forged in ("forged-1", "forged-2", rogue.kid):
            refused(cold, bearer(cold.entra.token(key=rogue, kid=forged)), 401)
        assert cold.counters.count(Endpoint.JWKS) == 1
        refused(cold, bearer(cold.entra.token(roles=())), 403)  # verified, then judged: no role

    def test_a_tampered_payload_is_401(self, env):
        """A real token whose payload was edited (the role added): the signature fails, 401."""
        head, _, signature = env.entra.token(roles=()).split(".")
        forged = env.entra.claims(roles=("Scan.Run",))
        problem, _ = refused(env, bearer(f"{head}.{_b64(forged)}.{signature}"), 401)
        assert "signature" in problem["detail"]

    def test_another_tenants_issuer_is_401(self, env, caplog):
        """Signed by the right key but issued for another tenant (iss): 401, the log says which."""
        other = f"{env.entra.base_url}/{OTHER_TENANT}/v2.0"
        problem, _ = refused(env, bearer(env.entra.token(claims={"iss": other})), 401)
        assert "issued by this API's tenant" in problem["detail"]
        assert OTHER_TENANT in caplog.text

    def test_another_tenants_tid_is_401(self, env):
        """The right issuer string but another tenant's tid: 401."""
        refused(env, bearer(env.entra.token(claims={"tid": OTHER_TENANT})), 401)

    def test_a_v1_token_is_401_and_the_log_says_how_to_fix_it(self, env, caplog):
        """A v1.0 token (iss sts.windows.net): 401; the log names requestedAccessTokenVersion."""
        v1 = f"https://sts.windows.net/{env.entra.tenant_id}/"
        refused(env, bearer(env.entra.token(claims={"iss": v1, "ver": "1.0"})), 401)
        assert "requestedAccessTokenVersion" in caplog.text

    @pytest.mark.parametrize(
        "audience",
        [
            "https://management.azure.com",
            "00000003-0000-0000-c000-000000000000",
            "api://5e3c9a71-8f2d-4b6e-a0c4-7d1e9f2b3a58",
            ["5e3c9a71-8f2d-4b6e-a0c4-7d1e9f2b3a58", "https://management.azure.com"],
        ],
        ids=["arm", "graph", "identifier-uri", "list"],
    )
    def test_a_wrong_audience_is_401(self, env, audience):
        """A token for ARM, Graph, the identifier URI or a list of audiences: 401 (v2.0 aud is the client id)."""
        problem, _ = refused(env, bearer(env.entra.token(claims={"aud": audience})), 401)
        assert "another application" in problem["detail"] or "not valid" in problem["detail"]

    def test_an_expired_token_is_401(self, env):
        """exp an hour ago: 401."""
        now = int(time.time())
        token = env.entra.token(claims={"iat": now - 7200, "nbf": now - 7200, "exp": now - 3600})
        problem, _ = refused(env, bearer(token), 401)
        assert "expired" in problem["detail"]

    def test_a_token_not_yet_valid_is_401(self, env):
        """nbf an hour ahead: 401."""
        now = int(time.time())
        token = env.entra.token(claims={"nbf": now + 3600, "iat": now + 3600})
        problem, _ = refused(env, bearer(token), 401)
        assert "not valid yet" in problem["detail"]

    @pytest.mark.parametrize("claim", ["exp", "nbf", "iat", "oid"])
    def test_a_token_without_a_required_claim_is_401(self, env, claim):
        """No exp, nbf, iat or oid: 401."""
        refused(env, bearer(env.entra.token(drop=(claim,))), 401)

    def test_a_token_of_another_tenant_with_its_own_keys_is_401(self, env):
        """A genuine token of another (simulated) tenant, its own key: unknown kid, 401."""
        stranger = SigningKey.generate()
        token = jwt.encode(
            {**env.entra.claims(), "tid": OTHER_TENANT},
            stranger.private,
            algorithm="RS256",
            headers={"kid": stranger.kid},
        )
        refused(env, bearer(token), 401)


class TestRole:
    def test_a_valid_token_without_the_role_is_403_naming_it(self, env):
        """A valid token with no roles claim: 403, and the problem and challenge name Scan.Run."""
        problem, response = refused(env, bearer(env.entra.token(roles=())), 403)
        assert "'Scan.Run'" in problem["detail"]
        assert 'error="insufficient_scope"' in challenge(response)

    def test_another_role_is_403(self, env):
        """roles holds a different role of the API: 403."""
        refused(env, bearer(env.entra.token(roles=("Scan.Read",))), 403)

    @pytest.mark.parametrize(
        "claims",
        [
            {"scp": "Scan.Run"},
            {"scp": "user_impersonation Scan.Run"},
            {"groups": ["Scan.Run"]},
            {"wids": ["Scan.Run"]},
            {"roles": "Scan.Run"},
            {"roles": ["scan.run"]},
        ],
        ids=["scp", "scp-list", "groups", "wids", "roles-string", "roles-wrong-case"],
    )
    def test_the_role_anywhere_but_the_roles_list_is_403(self, env, claims):
        """The role's name in scp, groups or wids, as a string, or in another case grants nothing: 403."""
        token = env.entra.token(roles=(), claims=claims)
        refused(env, bearer(token), 403)

    def test_the_application_role_works_for_a_pipeline(self, env):
        """An application's own token (client credentials, idtyp app) with the role passes the check."""

        caller = authenticate(bearer(env.entra.token("app")), ())
        assert caller.kind == "app"


class TestSigningKeysUnavailable:
    @pytest.mark.parametrize(
        "fault",
        [
            Fault(Endpoint.JWKS, status=503),
            Fault(Endpoint.OPENID, status=500),
            Fault(Endpoint.JWKS, Action.BODY, status=200, body=b"<html>login</html>"),
            Fault(Endpoint.OPENID, Action.BODY, status=200, body=b'{"issuer": 5}'),
            Fault(Endpoint.JWKS, Action.BODY, status=200, body=b'{"keys": "none"}'),
            Fault(Endpoint.JWKS, Action.DROP),
        ],
        ids=["jwks-503", "metadata-500", "jwks-html", "metadata-garbage", "jwks-garbage", "reset"],
    )
    def test_keys_that_cannot_be_read_fail_closed_with_503_and_a_logged_reason(
        self, cold, fault, caplog
    ):
        """The keys endpoint down or answering garbage on a cold start: 503 with Retry-After,
        the reason in the log, nothing scanned; a valid token is not let through."""
        cold.faults.add(fault)
        problem, response = refused(cold, bearer(cold.entra.token()), 503)
        assert response.headers["Retry-After"] == "30"
        assert "cannot be read" in problem["detail"]
        assert "not refreshed" in caplog.text
        assert "no token can be accepted" in caplog.text

    def test_a_down_keys_endpoint_is_not_hammered(self, cold):
        """Ten requests while the keys cannot be read cost one fetch (30 s back-off)."""
        cold.faults.add(Fault(Endpoint.JWKS, status=503))
        for _ in range(10):
            refused(cold, bearer(cold.entra.token()), 503)
        assert cold.counters.count(Endpoint.JWKS) == 1


class TestSwitchedOff:
    def test_off_locally_accepts_without_a_token_and_records_anonymous(
        self, env, monkeypatch, caplog
    ):
        """SCAN_API_AUTH=off (local use): no token needed, the caller is anonymous, a warning logged."""

        monkeypatch.setenv("SCAN_API_AUTH", "off")
        assert authenticate({}, ()).kind == "anonymous"
        assert "SCAN_API_AUTH=off" in caplog.text

    @pytest.mark.parametrize("marker", ["WEBSITE_SKU", "WEBSITE_SITE_NAME", "WEBSITE_INSTANCE_ID"])
    def test_off_in_azure_is_refused_and_nothing_runs(self, env, monkeypatch, marker):
        """SCAN_API_AUTH=off where the platform's variables show Azure: 500 naming both, no scan."""
        monkeypatch.setenv("SCAN_API_AUTH", "off")
        monkeypatch.setenv(marker, "FlexConsumption")
        before = estate_calls(env)
        response, queued = call()
        assert response.status_code == 500
        detail = json.loads(response.get_body())["detail"]
        assert detail.startswith("SCAN_API_AUTH:")
        assert marker in detail
        assert queued is None
        assert estate_calls(env) == before
