"""shared.core.auth: the Authorization header, the claim rules, the caller, the refusal."""

from __future__ import annotations

import json

import pytest

from shared.core.auth import (
    MAX_TOKEN_BYTES,
    Caller,
    bearer_token,
    caller_from_claims,
    refusal,
)
from shared.core.errors import (
    AuthUnavailableError,
    ForbiddenError,
    UnauthenticatedError,
)

TENANT = "8e1c3a51-6f2d-4c1e-9b7a-2d4f6a8c0e11"
OID = "1f0e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
APP = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJ4IjoxfQ.c2ln"


def user_claims(**extra: object) -> dict[str, object]:
    claims: dict[str, object] = {
        "tid": TENANT,
        "oid": OID,
        "azp": APP,
        "name": "Ada Lovelace",
        "preferred_username": "ada@contoso.example",
        "scp": "user_impersonation",
        "roles": ["Scan.Run"],
    }
    claims.update(extra)
    return claims


class TestBearerToken:
    @pytest.mark.parametrize(
        "header",
        [f"Bearer {TOKEN}", f"bearer {TOKEN}", f"BEARER {TOKEN}", "Bearer abc=="],
        ids=["canonical", "lower-scheme", "upper-scheme", "padding"],
    )
    def test_one_bearer_header_gives_its_token(self, header):
        """The scheme is case-insensitive; the token is everything after the one space."""
        assert bearer_token({"Authorization": header}) == header.split(" ", 1)[1]

    def test_missing_header_is_unauthenticated_without_an_error_code(self):
        """No credentials: RFC 6750 3.1 says the challenge carries no error code."""
        with pytest.raises(UnauthenticatedError) as caught:
            bearer_token({})
        assert caught.value.error == ""

    @pytest.mark.parametrize(
        ("header", "words"),
        [
            ("Basic YWRtaW46aHVudGVyMg==", "'Basic' scheme"),
            ("Negotiate abc", "'Negotiate' scheme"),
            (f"Bearer {TOKEN}, Bearer {TOKEN}", "exactly one"),
            (f"Bearer  {TOKEN}", "exactly one"),
            (f"Bearer {TOKEN}\n", "exactly one"),
            (f"Bearer {TOKEN}\x00", "exactly one"),
            ("Bearer tok;en", "exactly one"),
            ("Bearer ", "exactly one"),
        ],
        ids=["basic", "negotiate", "joined", "two-spaces", "newline", "nul", "semicolon", "empty"],
    )
    def test_anything_else_is_invalid_request(self, header, words):
        """Other schemes and malformed values are refused with invalid_request, naming why."""
        with pytest.raises(UnauthenticatedError, match=words) as caught:
            bearer_token({"Authorization": header})
        assert caught.value.error == "invalid_request"

    def test_whitespace_only_is_missing(self):
        """A header of blanks is no credential at all."""
        with pytest.raises(UnauthenticatedError, match="required"):
            bearer_token({"authorization": "   "})

    def test_header_names_differing_in_case_are_two_headers(self):
        """Two Authorization headers are refused rather than one picked."""
        with pytest.raises(UnauthenticatedError, match="more than one"):
            bearer_token({"Authorization": f"Bearer {TOKEN}", "AUTHORIZATION": f"Bearer {TOKEN}"})

    def test_query_string_token_is_refused_first(self):
        """access_token in the query is refused even beside a good header."""
        with pytest.raises(UnauthenticatedError, match="query string") as caught:
            bearer_token({"Authorization": f"Bearer {TOKEN}"}, {"access_token"})
        assert caught.value.error == "invalid_request"

    def test_the_size_cap_applies_before_the_format(self):
        """A token longer than MAX_TOKEN_BYTES is refused by length; exactly the cap is allowed."""
        assert bearer_token({"Authorization": "Bearer " + "a" * MAX_TOKEN_BYTES})
        with pytest.raises(UnauthenticatedError) as caught:
            bearer_token({"Authorization": "Bearer " + "a" * (MAX_TOKEN_BYTES + 1)})
        assert caught.value.error == "invalid_token"
        assert "longer than 16384 bytes" in caught.value.detail
        assert "a" * 100 not in caught.value.reason


class TestCallerFromClaims:
    def test_a_user_with_the_role(self):
        """A person's token: kind user (it has scp), oid, azp, display name."""
        caller = caller_from_claims(user_claims(), tenant_id=TENANT, role="Scan.Run")
        assert caller == Caller("user", OID, APP, "Ada Lovelace", TENANT)

    def test_an_application_with_the_role(self):
        """A client-credentials token (no scp, idtyp app) is an app; its roles work the same."""
        claims = {"tid": TENANT, "oid": OID, "azp": APP, "idtyp": "app", "roles": ["Scan.Run"]}
        caller = caller_from_claims(claims, tenant_id=TENANT, role="Scan.Run")
        assert (caller.kind, caller.name) == ("app", "")

    @pytest.mark.parametrize(
        ("extra", "kind"),
        [({"idtyp": "app"}, "app"), ({"idtyp": "user"}, "user"), ({"idtyp": "device"}, "user")],
        ids=["idtyp-app", "idtyp-user", "idtyp-unknown-falls-back-to-scp"],
    )
    def test_idtyp_decides_the_kind_when_present(self, extra, kind):
        """The optional idtyp claim names the kind; an unknown value falls back to scp."""
        caller = caller_from_claims(user_claims(**extra), tenant_id=TENANT, role="Scan.Run")
        assert caller.kind == kind

    @pytest.mark.parametrize(
        ("extra", "name"),
        [
            ({}, "Ada Lovelace"),
            ({"name": None}, "ada@contoso.example"),
            ({"name": None, "preferred_username": None, "app_displayname": "ci"}, "ci"),
            ({"name": "Ada\n2026-01-01 INFO forged line"}, "Ada?2026-01-01 INFO forged line"),
            ({"name": "x" * 1000}, "x" * 256),
        ],
        ids=["name", "preferred-username", "app-displayname", "control-chars", "long"],
    )
    def test_display_name_fallbacks_and_sanitising(self, extra, name):
        """name, else preferred_username, else app_displayname; control characters replaced, capped."""
        caller = caller_from_claims(user_claims(**extra), tenant_id=TENANT, role="Scan.Run")
        assert caller.name == name

    def test_v1_appid_is_the_application_when_azp_is_absent(self):
        """appid (v1.0) stands in for azp."""
        claims = user_claims(azp=None, appid=APP)
        assert caller_from_claims(claims, tenant_id=TENANT, role="Scan.Run").app_id == APP

    @pytest.mark.parametrize(
        "extra",
        [
            {"tid": "0b8d6f4e-2c1a-4e3b-9f5d-7a6c8e0b1d2f"},
            {"tid": None},
            {"oid": None},
            {"oid": "me"},
        ],
        ids=["other-tenant", "no-tid", "no-oid", "oid-not-guid"],
    )
    def test_wrong_tenant_or_no_object_id_is_unauthenticated(self, extra):
        """Another tenant's tid, or no GUID oid: 401 invalid_token."""
        with pytest.raises(UnauthenticatedError) as caught:
            caller_from_claims(user_claims(**extra), tenant_id=TENANT, role="Scan.Run")
        assert caught.value.error == "invalid_token"

    def test_the_tenant_compares_case_insensitively(self):
        """A GUID in upper case is the same tenant."""
        claims = user_claims(tid=TENANT.upper())
        assert caller_from_claims(claims, tenant_id=TENANT, role="Scan.Run").tenant_id == TENANT

    @pytest.mark.parametrize(
        "roles",
        [None, [], ["Scan.Read"], "Scan.Run", ["scan.run"], [["Scan.Run"]], [{"Scan.Run": 1}]],
        ids=["absent", "empty", "other", "string", "case", "nested", "object"],
    )
    def test_without_the_role_is_forbidden_naming_it(self, roles):
        """Only the exact role as a string in the roles list counts; 403 names the role."""
        with pytest.raises(ForbiddenError, match=r"'Scan\.Run'") as caught:
            caller_from_claims(user_claims(roles=roles), tenant_id=TENANT, role="Scan.Run")
        assert caught.value.error == "insufficient_scope"
        assert OID in caught.value.reason

    def test_a_configured_role_replaces_the_default(self):
        """SCAN_API_ROLE decides which role is needed."""
        claims = user_claims(roles=["Scanner.Trigger"])
        assert caller_from_claims(claims, tenant_id=TENANT, role="Scanner.Trigger").object_id == OID
        with pytest.raises(ForbiddenError, match=r"Scanner\.Trigger"):
            caller_from_claims(user_claims(), tenant_id=TENANT, role="Scanner.Trigger")


class TestCaller:
    def test_triggered_by_is_compact_json_without_empty_fields(self):
        """TriggeredBy holds the kind and the identifiers that are set."""
        assert json.loads(Caller("user", OID, APP, "Ada", TENANT).triggered_by()) == {
            "kind": "user",
            "objectId": OID,
            "appId": APP,
            "name": "Ada",
            "tenantId": TENANT,
        }
        assert Caller.system("timer").triggered_by() == '{"kind":"timer"}'

    def test_describe_names_the_caller_for_a_log_line(self):
        """The log line shows kind, name, oid and app; system callers just their kind."""
        assert Caller("app", OID, APP).describe() == f"app (oid {OID}, app {APP})"
        assert Caller("user", OID, APP, "Ada").describe() == f"user 'Ada' (oid {OID}, app {APP})"
        assert Caller.system("queue").describe() == "queue"


class TestRefusal:
    def test_401_carries_a_bearer_challenge_with_the_error(self):
        """invalid_token: WWW-Authenticate names the realm, error and description."""
        status, headers, body = refusal(
            UnauthenticatedError("invalid_token", "the token has expired")
        )
        assert status == 401
        assert headers == {
            "WWW-Authenticate": 'Bearer realm="aks-kubelet-scanner", error="invalid_token", '
            'error_description="the token has expired"'
        }
        assert body == {
            "type": "about:blank",
            "title": "Unauthorized",
            "status": 401,
            "detail": "the token has expired",
        }

    def test_error_description_keeps_to_rfc_6750_characters(self):
        """Quotes, backslashes and non-ASCII become '?' so the header stays well formed."""
        _, headers, _ = refusal(UnauthenticatedError("invalid_token", 'a "b" \\ c é'))
        assert headers["WWW-Authenticate"].endswith('error_description="a ?b? ? c ?"')

    def test_403_names_the_role_in_the_body(self):
        """insufficient_scope with the role in the detail."""
        status, headers, body = refusal(ForbiddenError("insufficient_scope", "needs 'Scan.Run'"))
        assert status == 403
        assert 'error="insufficient_scope"' in headers["WWW-Authenticate"]
        assert body["title"] == "Forbidden"
        assert "Scan.Run" in body["detail"]

    def test_503_asks_to_retry_and_issues_no_challenge(self):
        """Keys unavailable: the token was not judged; Retry-After instead of a challenge."""
        status, headers, body = refusal(AuthUnavailableError("", "keys cannot be read"))
        assert (status, headers, body["title"]) == (
            503,
            {"Retry-After": "30"},
            "Service Unavailable",
        )

    def test_the_reason_stays_out_of_the_answer(self):
        """What the log is told (reason) is not what the caller is told (detail)."""
        error = UnauthenticatedError("invalid_token", "public", "private detail for the log")
        _, headers, body = refusal(error)
        assert "private" not in json.dumps(body) + json.dumps(headers)
