"""A simulated Entra ID tenant as a resource server sees it: OpenID metadata, JWKS, RS256 tokens.

Endpoints (the shapes of the tenant-specific v2.0 documents, MicrosoftDocs/entra-docs
``docs/identity-platform/access-tokens.md``)::

    GET {base}/{tenant}/v2.0/.well-known/openid-configuration
        {"issuer": "{base}/{tenant}/v2.0", "jwks_uri": "{base}/{tenant}/discovery/v2.0/keys", ...}
    GET {base}/{tenant}/discovery/v2.0/keys
        {"keys": [{"kty": "RSA", "use": "sig", "kid": ..., "x5t": ..., "n": ..., "e": "AQAB",
                   "issuer": "{base}/{tenant}/v2.0"}, ...]}

Keys are real 2048-bit RSA keys; ``rotate`` publishes a new one and signs with it from then on
(optionally retiring the others), as Entra rolls its keys. ``token`` mints v2.0 access tokens
for the scanner API with the claims a user (``az account get-access-token``) or an application
(client credentials) gets, and lets a test change any claim, the header, the key or the
algorithm: the hostile-token tests are built from it. Faults on ``Endpoint.OPENID`` and
``Endpoint.JWKS`` make either document fail; counters count every answer.

There is no token endpoint: the simulated callers are tests and the demo, which mint directly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from sim.faults import Endpoint, FaultRegistry, resolve
from sim.http import Request, Response, json_response
from sim.stats import Counters

AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
"""Application id of Microsoft Azure CLI: the ``azp`` of a token from az account get-access-token."""
TOKEN_LIFETIME_SECONDS = 3900  # Entra: 60-90 minutes (access-tokens.md, "Token lifetime")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One of the tenant's RSA key pairs and its key id."""

    kid: str
    private: rsa.RSAPrivateKey = field(repr=False)

    @classmethod
    def generate(cls, bits: int = 2048) -> SigningKey:
        """A fresh key pair; its kid is a thumbprint of the public key, as Entra's look."""
        private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        der = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(_b64url(hashlib.sha1(der, usedforsecurity=False).digest()), private)

    @property
    def public_pem(self) -> bytes:
        """The public key, PEM (what an HS256 confusion attack signs with)."""
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwk(self, issuer: str) -> dict[str, Any]:
        """The key as the keys document lists it."""
        document: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        document.update({"use": "sig", "kid": self.kid, "x5t": self.kid, "issuer": issuer})
        return document


class EntraIssuer:
    """The tenant's signing keys, its two documents, and a token mint. Thread-safe."""

    def __init__(
        self,
        tenant_id: str,
        api_client_id: str,
        faults: FaultRegistry,
        counters: Counters,
    ) -> None:
        self.tenant_id = tenant_id
        self.api_client_id = api_client_id
        self.base_url = ""  # set when the server is up
        self._faults = faults
        self._counters = counters
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = [SigningKey.generate()]
        self._signing = self._keys[0]

    # -- the tenant's keys -----------------------------------------------------------------

    @property
    def issuer(self) -> str:
        """``iss`` of the tenant's v2.0 tokens."""
        return f"{self.base_url}/{self.tenant_id}/v2.0"

    @property
    def signing_key(self) -> SigningKey:
        """The key tokens are signed with now."""
        with self._lock:
            return self._signing

    def published(self) -> tuple[SigningKey, ...]:
        """The keys the JWKS lists now."""
        with self._lock:
            return tuple(self._keys)

    def rotate(self, *, retire_others: bool = False) -> SigningKey:
        """Publish a new key and sign with it from now on; returns it."""
        key = SigningKey.generate()
        with self._lock:
            self._keys = [key] if retire_others else [*self._keys, key]
            self._signing = key
        return key

    # -- tokens ----------------------------------------------------------------------------

    def claims(
        self,
        kind: str = "user",
        *,
        roles: tuple[str, ...] = ("Scan.Run",),
        now: float | None = None,
    ) -> dict[str, Any]:
        """The claims Entra puts in a v2.0 access token for the scanner API.

        ``kind`` user: a person through Azure CLI (``scp``, ``name``, ``preferred_username``);
        app: a pipeline's service principal by client credentials (``idtyp`` app, no ``scp``).
        """
        issued = int(now if now is not None else time.time())
        oid = str(uuid.uuid4())
        claims: dict[str, Any] = {
            "aud": self.api_client_id,
            "iss": self.issuer,
            "iat": issued,
            "nbf": issued,
            "exp": issued + TOKEN_LIFETIME_SECONDS,
            "aio": _b64url(secrets.token_bytes(24)),
            "oid": oid,
            "rh": "0.sim." + _b64url(secrets.token_bytes(12)),
            "sub": oid if kind == "app" else _b64url(secrets.token_bytes(32)),
            "tid": self.tenant_id,
            "uti": _b64url(secrets.token_bytes(16)),
            "ver": "2.0",
        }
        if roles:
            claims["roles"] = list(roles)
        if kind == "app":
            claims.update({"azp": str(uuid.uuid4()), "azpacr": "1", "idtyp": "app"})
        else:
            claims.update(
                {
                    "azp": AZURE_CLI_CLIENT_ID,
                    "azpacr": "0",
                    "name": "Ada Lovelace",
                    "preferred_username": "ada@contoso.example",
                    "scp": "user_impersonation",
                    "idtyp": "user",
                }
            )
        return claims

    def token(
        self,
        kind: str = "user",
        *,
        roles: tuple[str, ...] = ("Scan.Run",),
        claims: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
        key: SigningKey | None = None,
        kid: str | None = None,
        now: float | None = None,
    ) -> str:
        """A signed (RS256) v2.0 access token; ``claims`` override or add claims, ``drop``
        removes some, ``key`` signs with another key (``kid``: the header's key id)."""
        payload = self.claims(kind, roles=roles, now=now)
        payload.update(claims or {})
        for name in drop:
            payload.pop(name, None)
        signer = key or self.signing_key
        return jwt.encode(
            payload,
            signer.private,
            algorithm="RS256",
            headers={"typ": "JWT", "kid": kid or signer.kid},
        )

    # -- the two documents -----------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        """Answer a metadata or keys request."""
        tenant = self.tenant_id
        if request.method != "GET":
            return _error(405, "method not allowed")
        if request.path == f"/{tenant}/v2.0/.well-known/openid-configuration":
            endpoint, render = Endpoint.OPENID, self._metadata
        elif request.path == f"/{tenant}/discovery/v2.0/keys":
            endpoint, render = Endpoint.JWKS, self._keys_document
        else:
            return _error(404, f"no such document: {request.path}")
        response: Response | None = None
        fault = self._faults.take(endpoint)
        if fault is not None:
            response = await resolve(
                fault, lambda f: _error(f.status, f.message or "simulated failure"), render
            )
        if response is None:
            response = render()
        self._counters.add(endpoint, "", response.status)
        return response

    def _metadata(self) -> Response:
        base, tenant = self.base_url, self.tenant_id
        document = {
            "issuer": self.issuer,
            "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
            "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "tenant_region_scope": "EU",
        }
        return json_response(200, json.dumps(document).encode())

    def _keys_document(self) -> Response:
        keys = [key.jwk(self.issuer) for key in self.published()]
        return json_response(200, json.dumps({"keys": keys}).encode())


def _error(status: int, message: str) -> Response:
    body = {"error": "invalid_request", "error_description": message}
    return json_response(status, json.dumps(body).encode())
