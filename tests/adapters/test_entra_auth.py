"""shared.adapters.entra_auth against the simulated tenant: key cache, refresh bounds, PyJWT checks."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import jwt
import pytest

from shared.adapters.entra_auth import EntraTokenVerifier, KeyPolicy, SigningKeys
from shared.core.errors import AuthUnavailableError, UnauthenticatedError
from shared.settings import ApiAuthSettings
from sim import Action, Endpoint, Fault, SimulatedEstate, default_estate
from sim.entra import SigningKey


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(name="sim", scope="module")
def _sim() -> Iterator[SimulatedEstate]:
    with SimulatedEstate(default_estate()).start() as sim:
        yield sim


@pytest.fixture(name="tenant")
def _tenant(sim: SimulatedEstate, monkeypatch: pytest.MonkeyPatch) -> SimulatedEstate:
    sim.faults.clear()
    sim.counters.reset()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.ca_bundle)
    return sim


def settings(sim: SimulatedEstate) -> ApiAuthSettings:
    return ApiAuthSettings.from_env(sim.env)


def verifier(
    sim: SimulatedEstate, clock: Clock | None = None, **policy: float
) -> tuple[EntraTokenVerifier, SigningKeys]:
    auth = settings(sim)
    keys = SigningKeys(auth, KeyPolicy(**policy), clock=clock or Clock())  # type: ignore[arg-type]
    return EntraTokenVerifier(auth, keys), keys


class TestCache:
    def test_one_read_serves_many_tokens(self, tenant):
        """Twenty tokens verified: the metadata and the keys were read once each."""
        check, keys = verifier(tenant)
        for _ in range(20):
            assert check.verify(tenant.entra.token())["ver"] == "2.0"
        assert keys.fetches == 1
        assert tenant.counters.count(Endpoint.OPENID) == tenant.counters.count(Endpoint.JWKS) == 1

    def test_a_rotated_key_is_found_by_the_next_allowed_refresh(self, tenant):
        """A new kid: refused within refresh_interval of the last read, accepted after it; old keys still work."""
        clock = Clock()
        check, keys = verifier(tenant, clock)
        old = tenant.entra.token()
        check.verify(old)
        tenant.entra.rotate()
        new = tenant.entra.token()
        clock.now += 10
        with pytest.raises(UnauthenticatedError, match="not among"):
            check.verify(new)
        assert keys.fetches == 1
        clock.now += 300
        assert check.verify(new)["oid"]
        assert keys.fetches == 2
        assert check.verify(old)["oid"]

    def test_a_retired_key_stops_verifying_after_a_refresh(self, tenant):
        """Once the tenant drops a key and the keys are read again, its tokens are refused."""
        clock = Clock()
        check, _ = verifier(tenant, clock)
        old = tenant.entra.token()
        check.verify(old)
        tenant.entra.rotate(retire_others=True)
        clock.now += 301
        check.verify(tenant.entra.token())  # new kid: refresh
        with pytest.raises(UnauthenticatedError, match="not among"):
            check.verify(old)

    def test_keys_are_read_again_after_a_day(self, tenant):
        """max_age (24 h) renews the keys even when every kid is known."""
        clock = Clock()
        check, keys = verifier(tenant, clock)
        check.verify(tenant.entra.token())
        clock.now += 24 * 3600
        check.verify(tenant.entra.token())
        assert keys.fetches == 2

    def test_a_failed_renewal_keeps_the_keys_in_hand(self, tenant, caplog):
        """Keys read before keep verifying while the keys endpoint is down; the failure is logged."""
        clock = Clock()
        check, _ = verifier(tenant, clock)
        check.verify(tenant.entra.token())
        tenant.faults.add(Fault(Endpoint.JWKS, status=503))
        clock.now += 24 * 3600
        assert check.verify(tenant.entra.token())["oid"]
        assert "keeping the 1 keys read before" in caplog.text


class TestFailClosed:
    def test_cold_start_without_keys_is_unavailable_and_backs_off(self, tenant):
        """No keys can be read: 503-class error; the next read waits failure_backoff (30 s)."""
        clock = Clock()
        check, keys = verifier(tenant, clock)
        tenant.faults.add(Fault(Endpoint.OPENID, status=500))
        for step in (0, 10, 10):
            clock.now += step
            with pytest.raises(AuthUnavailableError, match="HTTP 500"):
                check.verify(tenant.entra.token())
        assert keys.fetches == 1
        clock.now += 11
        with pytest.raises(AuthUnavailableError):
            check.verify(tenant.entra.token())
        assert keys.fetches == 2
        tenant.faults.clear()
        clock.now += 31
        assert check.verify(tenant.entra.token())["oid"]

    @pytest.mark.parametrize(
        ("fault", "reason"),
        [
            (Fault(Endpoint.JWKS, Action.BODY, status=200, body=b"[" * 200_000), "larger than"),
            (
                Fault(Endpoint.JWKS, Action.BODY, status=200, body=b"not json"),
                "did not answer JSON",
            ),
            (
                Fault(Endpoint.JWKS, Action.BODY, status=200, body=b"[1]"),
                "not answer a JSON object",
            ),
            (Fault(Endpoint.JWKS, Action.BODY, status=200, body=b'{"keys": []}'), "no usable"),
            (
                Fault(
                    Endpoint.OPENID,
                    Action.BODY,
                    status=302,
                    body=b"{}",
                ),
                "HTTP 302",
            ),
            (Fault(Endpoint.JWKS, Action.DROP), "not read"),
            (Fault(Endpoint.JWKS, Action.TRUNCATE, chunk=40), "not read"),
            (Fault(Endpoint.JWKS, Action.SLOW_BODY, delay=0.4, chunk=1), "longer than"),
        ],
        ids=[
            "too-large",
            "not-json",
            "not-object",
            "no-keys",
            "redirect",
            "reset",
            "cut-short",
            "trickle",
        ],
    )
    def test_bad_documents_are_refused_with_the_reason(self, tenant, fault, reason):
        """Size cap, JSON only, no redirect, overall deadline: each failure names itself."""
        tenant.faults.add(fault)
        check, _ = verifier(tenant, timeout=1.0)
        with pytest.raises(AuthUnavailableError, match=reason):
            check.verify(tenant.entra.token())

    def test_metadata_naming_another_issuer_is_refused(self, tenant):
        """The metadata's issuer must be exactly the configured tenant's v2.0 issuer."""
        body = json.dumps({"issuer": "https://evil.example/t/v2.0", "jwks_uri": "https://x"})
        tenant.faults.add(Fault(Endpoint.OPENID, Action.BODY, status=200, body=body.encode()))
        with pytest.raises(AuthUnavailableError, match="issuer"):
            verifier(tenant)[0].verify(tenant.entra.token())

    def test_a_plain_http_jwks_uri_is_refused(self, tenant):
        """jwks_uri must be https."""
        auth = settings(tenant)
        body = json.dumps({"issuer": auth.issuer, "jwks_uri": "http://127.0.0.1:1/keys"})
        tenant.faults.add(Fault(Endpoint.OPENID, Action.BODY, status=200, body=body.encode()))
        with pytest.raises(AuthUnavailableError, match="not an https URL"):
            verifier(tenant)[0].verify(tenant.entra.token())

    def test_more_keys_than_the_cap_is_refused(self, tenant):
        """A key set larger than max_keys is not taken."""
        tenant.entra.rotate()
        with pytest.raises(AuthUnavailableError, match="more than 1 signing keys"):
            verifier(tenant, max_keys=1)[0].verify(tenant.entra.token())

    @pytest.mark.parametrize(
        "change",
        [
            {"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0"},
            {"use": "enc"},
            {"kty": "EC"},
            {"n": "AQAB"},
        ],
        ids=["other-issuer", "encryption-key", "not-rsa", "tiny-modulus"],
    )
    def test_keys_not_fit_for_this_tenants_signatures_are_skipped(self, tenant, change):
        """A key for another issuer, for encryption, not RSA, or under 2048 bits is never used."""
        auth = settings(tenant)
        jwk = tenant.entra.signing_key.jwk(auth.issuer) | change
        body = json.dumps({"keys": [jwk]}).encode()
        tenant.faults.add(Fault(Endpoint.JWKS, Action.BODY, status=200, body=body))
        with pytest.raises(AuthUnavailableError, match="no usable RS256 signing key"):
            verifier(tenant)[0].verify(tenant.entra.token())


class TestTokenChecks:
    @pytest.mark.parametrize(
        ("offset", "accepted"),
        [(-30, True), (-90, False)],
        ids=["expired-within-skew", "expired-beyond-skew"],
    )
    def test_expiry_allows_one_minute_of_skew(self, tenant, offset, accepted):
        """exp up to 60 s ago is accepted; further back it is not."""
        now = int(time.time())
        token = tenant.entra.token(
            claims={"iat": now - 3600, "nbf": now - 3600, "exp": now + offset}
        )
        check, _ = verifier(tenant)
        if accepted:
            assert check.verify(token)
        else:
            with pytest.raises(UnauthenticatedError, match="expired"):
                check.verify(token)

    @pytest.mark.parametrize(
        ("offset", "accepted"), [(30, True), (90, False)], ids=["nbf-within-skew", "nbf-beyond"]
    )
    def test_not_before_allows_one_minute_of_skew(self, tenant, offset, accepted):
        """nbf up to 60 s ahead is accepted; further ahead it is not."""
        now = int(time.time())
        token = tenant.entra.token(claims={"iat": now, "nbf": now + offset})
        check, _ = verifier(tenant)
        if accepted:
            assert check.verify(token)
        else:
            with pytest.raises(UnauthenticatedError, match="not valid yet"):
                check.verify(token)

    @pytest.mark.parametrize("algorithm", ["RS384", "RS512", "PS256"])
    def test_other_rsa_algorithms_are_refused_with_the_right_key(self, tenant, algorithm):
        """Only RS256: even a correct signature under another RSA algorithm is refused."""
        key = tenant.entra.signing_key
        token = jwt.encode(
            tenant.entra.claims(), key.private, algorithm=algorithm, headers={"kid": key.kid}
        )
        with pytest.raises(UnauthenticatedError, match="RS256"):
            verifier(tenant)[0].verify(token)

    @pytest.mark.parametrize(
        "token",
        ["abc", "a.b.c", "", "e30.e30.", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"],
        ids=["one-part", "not-base64-json", "empty", "no-alg", "no-kid"],
    )
    def test_tokens_that_are_not_signed_jwts_are_refused(self, tenant, token):
        """Garbage, a header without alg, a header without kid: 401, no key fetched for garbage."""
        with pytest.raises(UnauthenticatedError):
            verifier(tenant)[0].verify(token)

    def test_a_token_for_another_audience_names_it_in_the_reason(self, tenant):
        """The reason (for the log) says which aud arrived; the caller is told less."""
        token = tenant.entra.token(claims={"aud": "https://management.azure.com"})
        with pytest.raises(UnauthenticatedError) as caught:
            verifier(tenant)[0].verify(token)
        assert "https://management.azure.com" in caught.value.reason
        assert "management" not in caught.value.detail

    def test_a_different_key_with_the_right_kid_fails_the_signature(self, tenant):
        """A key pair that is not the tenant's, claiming the tenant key's kid: signature fails."""
        rogue = SigningKey.generate()
        token = tenant.entra.token(key=rogue, kid=tenant.entra.signing_key.kid)
        with pytest.raises(UnauthenticatedError, match="signature"):
            verifier(tenant)[0].verify(token)

    def test_no_token_or_key_reaches_the_log(self, tenant, caplog):
        """Refusals and key reads log reasons only: no token, no key material."""
        caplog.set_level(logging.DEBUG)
        check, _ = verifier(tenant)
        token = tenant.entra.token(claims={"aud": "x"})
        with pytest.raises(UnauthenticatedError):
            check.verify(token)
        n = tenant.entra.signing_key.jwk("")["n"]
        assert token not in caplog.text
        assert token.split(".")[2] not in caplog.text
        assert n not in caplog.text
