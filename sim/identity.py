"""Managed identity tokens: the App Service token endpoint and the token format.

Endpoint contract (what msal 1.39, used by azure-identity 1.27 ``ManagedIdentityCredential``,
sends when ``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER`` are set and
``IDENTITY_SERVER_THUMBPRINT`` is not)::

    GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=<resource>[&client_id=<id>]
    X-IDENTITY-HEADER: {IDENTITY_HEADER}
    Metadata: true

and it reads ``access_token`` and ``expires_on`` (epoch seconds, a string on App Service),
``resource`` and ``token_type`` from a 200 JSON answer. Errors are
``{"statusCode": 400, "message": "...", "correlationId": "..."}`` (the shape App Service
answers for an unknown identity; msal reports ``statusCode`` and ``message``).

Tokens are JWT-shaped like Entra v1 access tokens (``aud``, ``iss``, ``iat``, ``nbf``, ``exp``,
``appid``, ``oid``, ``sub``, ``tid``, ``ver``...) but signed HS256 with a per-estate secret
instead of Entra's RS256 keys; ``TokenAuthority.verify`` is what every simulated resource
server uses to check signature, lifetime and audience.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sim.estate import Estate, Identity
from sim.faults import Endpoint, FaultRegistry, resolve
from sim.http import Reply, Request, Response, json_response
from sim.stats import Counters

log = logging.getLogger(__name__)

TOKEN_LIFETIME_SECONDS = 3600
_CACHE_LIMIT = 50_000
#: Issued tokens kept for tests that search outputs for them (the SDKs cache tokens, so a run
#: asks for a handful; the cap only bounds a long serve-mode session).
ISSUED_TOKENS_KEPT = 10_000


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenError(Exception):
    """A bearer token was refused. ``reason``: missing, malformed, signature, expired,
    not_yet_valid or audience; ``audience`` is the token's own audience when it was readable."""

    def __init__(self, reason: str, message: str, audience: str = "", expires: int = 0) -> None:
        super().__init__(message)
        self.reason = reason
        self.audience = audience
        self.expires = expires


@dataclass(frozen=True, slots=True)
class Claims:
    """The claims a resource server acts on."""

    audience: str
    object_id: str
    app_id: str
    tenant_id: str
    issued_at: int
    not_before: int
    expires: int


class TokenAuthority:
    """Mints and verifies the estate's tokens. Thread-safe."""

    def __init__(self, tenant_id: str, secret: bytes | None = None) -> None:
        self.tenant_id = tenant_id
        self.secret = secret if secret is not None else secrets.token_bytes(32)
        self.issuer = f"https://sts.windows.net/{tenant_id}/"
        self._verified: dict[str, tuple[dict[str, Any], Claims]] = {}
        self._lock = threading.Lock()

    def mint(
        self,
        identity: Identity,
        resource: str,
        *,
        now: float | None = None,
        lifetime: int = TOKEN_LIFETIME_SECONDS,
    ) -> tuple[str, int]:
        """A token for ``identity`` with ``aud`` = ``resource``; returns (token, exp)."""
        issued = int(now if now is not None else time.time())
        expires = issued + lifetime
        header = {
            "typ": "JWT",
            "alg": "HS256",
            "kid": "sim-" + hashlib.sha256(self.secret).hexdigest()[:8],
        }
        claims: dict[str, Any] = {
            "aud": resource,
            "iss": self.issuer,
            "iat": issued,
            "nbf": issued - 300,
            "exp": expires,
            "aio": _b64url(secrets.token_bytes(24)),
            "appid": identity.client_id,
            "appidacr": "2",
            "idp": self.issuer,
            "idtyp": "app",
            "oid": identity.principal_id,
            "rh": "0.sim." + _b64url(secrets.token_bytes(12)),
            "sub": identity.principal_id,
            "tid": self.tenant_id,
            "uti": _b64url(secrets.token_bytes(16)),
            "ver": "1.0",
        }
        if identity.resource_id:
            claims["xms_mirid"] = identity.resource_id
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = hmac.new(self.secret, signing_input.encode("ascii"), hashlib.sha256).digest()
        return f"{signing_input}.{_b64url(signature)}", expires

    def verify(self, token: str, audiences: Collection[str], *, now: float | None = None) -> Claims:
        """The token's claims if its signature, lifetime and audience hold; TokenError if not.

        Audiences compare exactly, except that a trailing slash is ignored (ARM accepts
        ``https://management.azure.com`` and ``https://management.azure.com/``).
        """
        cached = self._verified.get(token)
        if cached is None:
            cached = self._decode(token)
            with self._lock:
                if len(self._verified) >= _CACHE_LIMIT:
                    self._verified.clear()
                self._verified[token] = cached
        _, claims = cached
        moment = now if now is not None else time.time()
        if moment >= claims.expires:
            raise TokenError("expired", "token expired", claims.audience, claims.expires)
        if moment < claims.not_before:
            raise TokenError(
                "not_yet_valid", "token not yet valid", claims.audience, claims.expires
            )
        wanted = {a.rstrip("/") for a in audiences}
        if claims.audience.rstrip("/") not in wanted:
            raise TokenError(
                "audience",
                f"token audience {claims.audience!r} is not accepted here",
                claims.audience,
            )
        return claims

    def _decode(self, token: str) -> tuple[dict[str, Any], Claims]:
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("malformed", "token is not a JWT (three dot-separated parts)")
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii", "replace")
        try:
            header = json.loads(_unb64url(parts[0]))
            payload = json.loads(_unb64url(parts[1]))
            signature = _unb64url(parts[2])
        except (ValueError, binascii.Error) as exc:
            raise TokenError("malformed", "token segments are not base64url JSON") from exc
        if not isinstance(header, dict) or header.get("alg") != "HS256":
            raise TokenError("signature", "token signature algorithm is not accepted")
        expected = hmac.new(self.secret, signing_input, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, signature):
            raise TokenError("signature", "token signature is invalid")
        if not isinstance(payload, dict):
            raise TokenError("malformed", "token payload is not a JSON object")
        try:
            claims = Claims(
                audience=str(payload["aud"]),
                object_id=str(payload.get("oid", "")),
                app_id=str(payload.get("appid", payload.get("azp", ""))),
                tenant_id=str(payload.get("tid", "")),
                issued_at=int(payload["iat"]),
                not_before=int(payload["nbf"] if "nbf" in payload else payload["iat"]),
                expires=int(payload["exp"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TokenError("malformed", "token lacks aud, iat or exp") from exc
        return payload, claims


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class IdentityService:
    """The App Service managed identity endpoint (``/msi/token``) for the estate's identity."""

    path = "/msi/token"

    def __init__(
        self,
        estate: Estate,
        authority: TokenAuthority,
        header_secret: str,
        faults: FaultRegistry,
        counters: Counters,
    ) -> None:
        self._estate = estate
        self._authority = authority
        self._secret = header_secret
        self._faults = faults
        self._counters = counters
        self.issued: dict[str, int] = {}
        self._tokens: deque[str] = deque(maxlen=ISSUED_TOKENS_KEPT)
        self._lock = threading.Lock()

    def issued_tokens(self) -> tuple[str, ...]:
        """Every access token this endpoint answered with (the last ISSUED_TOKENS_KEPT)."""
        with self._lock:
            return tuple(self._tokens)

    async def handle(self, request: Request) -> Response:
        """Answer one token request."""
        try:
            response = await self._issue(request)
        except Reply as reply:
            response = reply.response
        self._counters.add(Endpoint.TOKEN, "", response.status)
        return response

    def _check(self, request: Request) -> str:
        """The requested resource; Reply with App Service's error answer if the request is bad."""
        if request.path != self.path:
            raise Reply(_error(404, "Not Found"))
        if request.method != "GET":
            raise Reply(_error(405, "Method Not Allowed"))
        if request.headers.get("x-identity-header") != self._secret:
            # [I] App Service's exact answer to a wrong header is not documented; 401 is assumed.
            raise Reply(_error(401, "The request did not carry the expected X-IDENTITY-HEADER."))
        api_version = request.param("api-version")
        if api_version != "2019-08-01":
            raise Reply(_error(400, f"The api-version '{api_version}' is not supported."))
        resource = request.param("resource") or ""
        if not resource:
            raise Reply(_error(400, "The resource parameter is required."))
        identity = self._estate.identity
        client_id = request.param("client_id")
        object_id = request.param("object_id") or request.param("principal_id")
        resource_id = request.param("mi_res_id")
        if (
            (client_id is not None and client_id.lower() != identity.client_id.lower())
            or (object_id is not None and object_id.lower() != identity.principal_id.lower())
            or (resource_id is not None and resource_id.lower() != identity.resource_id.lower())
        ):
            raise Reply(_error(400, "Unable to load the proper Managed Identity."))
        return resource

    async def _issue(self, request: Request) -> Response:
        resource = self._check(request)
        fault = self._faults.take(Endpoint.TOKEN)
        if fault is not None:
            outcome = await resolve(
                fault,
                lambda f: _error(
                    f.status,
                    f.message or "Simulated managed identity endpoint failure.",
                    f.retry_after_headers(),
                ),
            )
            if outcome is not None:
                return outcome
        await sleep_ms(self._estate.latency.token_ms)
        identity = self._estate.identity
        token, expires = self._authority.mint(identity, resource)
        with self._lock:
            self.issued[resource] = self.issued.get(resource, 0) + 1
            self._tokens.append(token)
        log.debug("issued a token for resource %s", resource)
        body = {
            "access_token": token,
            "expires_on": str(expires),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": identity.client_id,
        }
        return json_response(
            200,
            json.dumps(body, separators=(",", ":")).encode(),
            content_type="application/json; charset=utf-8",
        )


def _error(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    body = {"statusCode": status, "message": message, "correlationId": str(uuid.uuid4())}
    return json_response(
        status,
        json.dumps(body, separators=(",", ":")).encode(),
        content_type="application/json; charset=utf-8",
        headers=headers,
    )


async def sleep_ms(ms: float) -> None:
    """Wait ``ms`` milliseconds (configured latency); no-op for 0."""
    if ms > 0:
        await asyncio.sleep(ms / 1000.0)
