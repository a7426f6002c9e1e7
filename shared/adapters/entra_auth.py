"""Entra ID access tokens of POST /api/scan: the tenant's signing keys, and PyJWT.

The edge: the tenant's v2.0 OpenID Connect metadata document
(``{authority}/{tenant}/v2.0/.well-known/openid-configuration``) names ``jwks_uri``, the JSON Web
Key Set of the keys Entra signs tokens with. Both are read over HTTPS with requests (the
transport, proxy and CA settings of the Azure SDKs, REQUESTS_CA_BUNDLE included) and are bounded:

* each document: ``timeout`` per connect and per read, ``timeout`` overall, at most
  ``max_document_bytes``, no redirect, HTTP 200 and a JSON object only;
* the key set: at most ``max_keys`` usable keys (RSA, ``use`` sig or absent, 2048 bits or more,
  and a key ``issuer``, where the document gives one, that names this tenant's v2.0 issuer);
* refreshes: the keys are read once, then again after ``max_age`` (Microsoft: "a reasonable
  frequency to check for updates to the public keys used by Microsoft Entra ID is every 24
  hours", entra-docs access-tokens.md), and once more when a token names a ``kid`` the set does
  not hold, at most every ``refresh_interval`` seconds (keys rotate; a forged ``kid`` must not
  make every request a fetch). A failed read is not retried for ``failure_backoff`` seconds.

Fail closed: without keys no token is accepted (AuthUnavailableError, 503, the reason logged);
keys read earlier stay in use while a later refresh fails.

Tokens are decoded by PyJWT only (never by hand): the algorithm pinned to RS256 (what Entra
signs with; ``none``, HS256 and everything else are refused before any key is used), the
signature against the key the token's ``kid`` names, ``iss`` exactly the tenant's v2.0 issuer,
``aud`` exactly the API's client id (v2.0 access tokens: "this value is always the client ID of
the API", entra-docs access-token-claims-reference.md), ``exp``/``nbf``/``iat`` present, with
CLOCK_SKEW_SECONDS of leeway. The claims it returns are checked further by
``shared.core.auth.caller_from_claims``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
import urllib3.exceptions
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from shared.core.auth import CLOCK_SKEW_SECONDS
from shared.core.errors import AuthUnavailableError, UnauthenticatedError
from shared.settings import ApiAuthSettings

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
MIN_RSA_BITS = 2048


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    """Bounds of the signing-key cache (see the module docstring)."""

    timeout: float = 5.0
    max_document_bytes: int = 128 * 1024
    max_keys: int = 50
    max_age: float = 24 * 3600.0
    refresh_interval: float = 300.0
    failure_backoff: float = 30.0


class _FetchError(Exception):
    """A metadata or key document could not be read; the message says why (no secret in it)."""


class SigningKeys:
    """The tenant's signing keys, read from its OpenID metadata and cached. Thread-safe."""

    def __init__(
        self,
        settings: ApiAuthSettings,
        policy: KeyPolicy = KeyPolicy(),
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._policy = policy
        self._session = session or requests.Session()
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched: float | None = None  # when the keys in hand were read
        self._attempted: float | None = None  # when a read was last tried
        self._failure = ""
        self.fetches = 0  # reads attempted (tests and the log read it)

    def key(self, kid: str) -> jwt.PyJWK:
        """The key ``kid`` names; UnauthenticatedError if the tenant has none such,
        AuthUnavailableError if the keys cannot be read at all."""
        with self._lock:
            now = self._clock()
            if self._fetched is None or now - self._fetched >= self._policy.max_age:
                self._refresh(now, why="no keys in hand" if self._fetched is None else "keys aged")
            found = self._keys.get(kid)
            if found is None and self._may_refresh(now, self._policy.refresh_interval):
                self._refresh(now, why=f"unknown kid {kid!r}")
                found = self._keys.get(kid)
            if found is not None:
                return found
            if not self._keys:
                raise AuthUnavailableError(
                    "",
                    "the tenant's signing keys cannot be read right now, so no token can be "
                    "checked; retry later",
                    f"no signing keys: {self._failure}",
                )
            raise UnauthenticatedError(
                "invalid_token",
                "the token is not signed by a key of this API's tenant",
                f"kid {kid!r} is not among the tenant's {len(self._keys)} signing keys "
                f"(read {now - (self._fetched or now):.0f} s ago; refreshed at most every "
                f"{self._policy.refresh_interval:.0f} s)",
            )

    def _may_refresh(self, now: float, interval: float) -> bool:
        if self._attempted is None:
            return True
        wait = interval if not self._failure else max(interval, self._policy.failure_backoff)
        return now - self._attempted >= wait

    def _refresh(self, now: float, *, why: str) -> None:
        """Read metadata and keys; on failure keep what is in hand and remember why."""
        if self._failure and not self._may_refresh(now, self._policy.failure_backoff):
            return  # failed moments ago: do not hammer a service that is down
        self._attempted = now
        self.fetches += 1
        try:
            keys = self._read_keys()
        except _FetchError as exc:
            self._failure = str(exc)
            log.error(
                "Entra signing keys of tenant %s not refreshed (%s): %s; %s",
                self._settings.tenant_id,
                why,
                exc,
                f"keeping the {len(self._keys)} keys read before"
                if self._keys
                else "no token can be accepted until they are read",
            )
            return
        self._keys, self._fetched, self._failure = keys, now, ""
        log.info(
            "Entra signing keys of tenant %s read (%s): %d keys",
            self._settings.tenant_id,
            why,
            len(keys),
        )

    def _read_keys(self) -> dict[str, jwt.PyJWK]:
        metadata = self._document(self._settings.metadata_url)
        issuer, jwks_uri = metadata.get("issuer"), metadata.get("jwks_uri")
        if issuer != self._settings.issuer:
            raise _FetchError(
                f"the metadata's issuer {issuer!r} is not the configured {self._settings.issuer!r}"
            )
        if not isinstance(jwks_uri, str) or urlsplit(jwks_uri).scheme != "https":
            raise _FetchError(f"the metadata's jwks_uri {jwks_uri!r} is not an https URL")
        document = self._document(jwks_uri)
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise _FetchError(f"{jwks_uri} has no keys list")
        keys: dict[str, jwt.PyJWK] = {}
        skipped = 0
        for entry in entries:
            key = self._usable(entry)
            if key is None:
                skipped += 1
                continue
            keys[str(key.key_id)] = key
            if len(keys) > self._policy.max_keys:
                raise _FetchError(f"{jwks_uri} has more than {self._policy.max_keys} signing keys")
        if not keys:
            raise _FetchError(f"{jwks_uri} has no usable RS256 signing key ({skipped} skipped)")
        return keys

    def _usable(self, entry: object) -> jwt.PyJWK | None:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA":
            return None
        if entry.get("use", "sig") != "sig" or not isinstance(entry.get("kid"), str):
            return None
        key_issuer = entry.get("issuer")
        if key_issuer is not None:
            # Keys documents give each key's issuer, templated for multi-tenant use; a key is
            # used only for the issuer it names (entra-docs access-tokens.md, "signing key issuer").
            named = str(key_issuer).replace("{tenantid}", self._settings.tenant_id)
            if named != self._settings.issuer:
                return None
        try:
            key = jwt.PyJWK(entry, algorithm=ALGORITHM)
        except jwt.PyJWTError:
            return None
        public = key.key
        if not isinstance(public, RSAPublicKey) or public.key_size < MIN_RSA_BITS:
            return None
        return key

    def _document(self, url: str) -> dict[str, Any]:
        """One JSON object from ``url``, within the policy's time and size bounds."""
        policy = self._policy
        deadline = time.monotonic() + policy.timeout
        try:
            with self._session.get(
                url,
                timeout=(policy.timeout, policy.timeout),
                stream=True,
                allow_redirects=False,
                headers={"Accept": "application/json"},
            ) as response:
                if response.status_code != 200:
                    raise _FetchError(f"HTTP {response.status_code} from {url}")
                body = bytearray()
                # read1: what one socket read brings, so a peer that trickles bytes meets the
                # deadline instead of filling a buffer slowly (a read timeout never fires then).
                while chunk := response.raw.read1(8192, decode_content=True):
                    body += chunk
                    if len(body) > policy.max_document_bytes:
                        raise _FetchError(f"{url} is larger than {policy.max_document_bytes} bytes")
                    if time.monotonic() > deadline:
                        raise _FetchError(f"{url} took longer than {policy.timeout:.0f} s")
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            # urllib3's own errors come from read1 (a reset or a short body mid-document).
            raise _FetchError(f"{url} not read: {type(exc).__name__}: {exc}") from None
        try:
            document = json.loads(bytes(body))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise _FetchError(f"{url} did not answer JSON") from None
        if not isinstance(document, dict):
            raise _FetchError(f"{url} did not answer a JSON object")
        return document


#: PyJWT's refusals that need no more words than these.
_REFUSALS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "the token has expired"),
    (jwt.ImmatureSignatureError, "the token is not valid yet (nbf/iat)"),
    (jwt.InvalidSignatureError, "the token's signature does not verify"),
)


class EntraTokenVerifier:
    """Verifies an Entra v2.0 access token for this API (see the module docstring)."""

    def __init__(self, settings: ApiAuthSettings, keys: SigningKeys) -> None:
        self._settings = settings
        self._keys = keys

    def verify(self, token: str) -> Mapping[str, Any]:
        """The verified claims; UnauthenticatedError naming what is wrong, or
        AuthUnavailableError when the keys cannot be read."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise UnauthenticatedError("invalid_token", "the token is not a signed JWT") from None
        alg = header.get("alg")
        if alg != ALGORITHM:
            raise UnauthenticatedError(
                "invalid_token",
                f"the token is not signed with {ALGORITHM}",
                f"token header alg {alg!r} refused (only {ALGORITHM})",
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise UnauthenticatedError("invalid_token", "the token names no signing key (kid)")
        key = self._keys.key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                audience=self._settings.client_id,
                issuer=self._settings.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "nbf", "iat", "iss", "aud"], "strict_aud": True},
            )
        except jwt.PyJWTError as exc:
            raise self._rejected(token, exc) from None
        return claims

    def _rejected(self, token: str, exc: jwt.PyJWTError) -> UnauthenticatedError:
        """What to tell the caller and the log about a token PyJWT refused."""
        for kind, detail in _REFUSALS:
            if isinstance(exc, kind):
                return UnauthenticatedError("invalid_token", detail)
        if isinstance(exc, jwt.MissingRequiredClaimError):
            return UnauthenticatedError("invalid_token", f"the token has no {exc.claim} claim")
        if isinstance(exc, jwt.InvalidAudienceError | jwt.InvalidIssuerError):
            # The signature verified before PyJWT compared these claims, so they are Entra's own.
            seen = jwt.decode(token, options={"verify_signature": False})
            if isinstance(exc, jwt.InvalidAudienceError):
                return UnauthenticatedError(
                    "invalid_token",
                    "the token is for another application (aud)",
                    f"aud {seen.get('aud')!r} is not this API's client id "
                    f"{self._settings.client_id}",
                )
            issuer = str(seen.get("iss"))
            hint = (
                "; a v1.0 token: the API's app registration must set "
                "api.requestedAccessTokenVersion to 2 (infra/hooks/scanner-api.sh does)"
                if issuer.startswith("https://sts.windows.net/")
                else ""
            )
            return UnauthenticatedError(
                "invalid_token",
                "the token was not issued by this API's tenant (iss)",
                f"iss {issuer!r} is not {self._settings.issuer!r}{hint}",
            )
        return UnauthenticatedError(
            "invalid_token", "the token is not valid", f"{type(exc).__name__}: {exc}"
        )
