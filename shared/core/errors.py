"""The scanner's one exception hierarchy.

::

    ScannerError
    ├── SettingsError          a setting is missing or malformed; the run stops before any call
    ├── OutOfScopeError        a request names a subscription or cluster outside the configured scope
    ├── DiscoveryError         a subscription's clusters could not be listed
    ├── ClusterError           one cluster cannot be scanned; its rows become ERROR, node name empty
    │   ├── CredentialsError   listClusterUserCredential failed, or its kubeconfig is unusable
    │   ├── UnsupportedAuthError  the cluster has no Entra ID integration and local accounts are off
    │   ├── ApiServerError     the API server refused, failed or could not be reached (nodes list)
    │   │   └── ApiServerUnreachableError  no HTTP answer at all: connect refused, DNS, timeout
    │   └── RunCommandError    the AKS run command API refused, failed or did not finish (private clusters)
    ├── NodeError              one node's configz cannot be read; its rows become ERROR
    │   ├── ConfigzFetchError  transport, HTTP status, timeout or size cap
    │   └── ConfigzParseError  the body is not a configz document
    ├── FieldTypeError         one configz field has the wrong JSON type; that control's row is ERROR
    ├── ListError              one Kubernetes list could not be read; only the controls that need it are ERROR
    │   ├── ListDeniedError    403: names the missing permission (``list pods in API group ""``)
    │   ├── ListExpiredError   410 again after the one restart the list is allowed
    │   ├── ListNotServedError 404: the API group/version is not served (a CRD that is not installed)
    │   └── ListFetchError     transport, 5xx/429 after retries, or a body that is not a List
    ├── SinkError              a sink could not accept rows (Log Analytics, a file)
    └── AuthError              POST /api/scan refused its caller before reading the body
        ├── UnauthenticatedError  no usable bearer token: 401 with WWW-Authenticate
        ├── ForbiddenError        a valid token without the app role: 403
        └── AuthUnavailableError  the tenant's signing keys could not be read: 503 (fail closed)

AuthError carries two texts: ``detail`` for the caller (the problem body) and ``reason`` for
the log, which may say more (the issuer or audience the token named) but never the token.

Per-target failures never end the run: the pipeline turns ClusterError and NodeError into
ERROR finding rows whose Reason is the exception's message, so every message here is written
for an operator to act on and never contains a token, key or kubeconfig.
"""

from __future__ import annotations


class ScannerError(Exception):
    """Base of every error the scanner raises on purpose."""


class SettingsError(ScannerError):
    """A setting is missing or malformed. The message names the setting."""


class OutOfScopeError(ScannerError):
    """A request asked for more than the configured scope; ``field`` names the item."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


class DiscoveryError(ScannerError):
    """A subscription's clusters could not be listed."""


class ClusterError(ScannerError):
    """One cluster cannot be scanned."""


class CredentialsError(ClusterError):
    """The cluster's user kubeconfig could not be obtained or parsed."""


class UnsupportedAuthError(ClusterError):
    """The cluster cannot accept the scanner's Entra ID token."""


class ApiServerError(ClusterError):
    """The cluster's API server refused, failed or could not be reached."""


class ApiServerUnreachableError(ApiServerError):
    """No HTTP answer from the API server: connection refused or reset, DNS, or a timeout."""


class RunCommandError(ClusterError):
    """The AKS run command API refused the command, or the command failed or did not finish."""


class NodeError(ScannerError):
    """One node's configz cannot be read."""


class ConfigzFetchError(NodeError):
    """configz could not be fetched: transport, HTTP status, timeout or size cap."""


class ConfigzParseError(NodeError):
    """The configz body is not a kubelet configuration document."""


class FieldTypeError(ScannerError):
    """A configz field holds a value of the wrong JSON type ("5" for a number, a list for a bool)."""

    def __init__(self, path: str, expected: str, value: object) -> None:
        super().__init__(
            f"{path} has the wrong type: expected {expected}, got {type(value).__name__} "
            f"{_excerpt(value)}; not evaluated rather than guessed"
        )
        self.path = path


def _excerpt(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class SinkError(ScannerError):
    """A sink could not accept rows; ``failed_rows`` are the rows it did not keep."""

    def __init__(self, message: str, failed_rows: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.failed_rows = failed_rows or []


class ListError(ScannerError):
    """One Kubernetes list could not be read. ``resource`` names it (``pods``, ``deployments.apps``)."""

    def __init__(self, message: str, resource: str) -> None:
        super().__init__(message)
        self.resource = resource


class ListDeniedError(ListError):
    """The API server answered 403; ``permission`` is the missing grant, e.g.
    ``list pods in API group ""``."""

    def __init__(self, message: str, resource: str, permission: str) -> None:
        super().__init__(message, resource)
        self.permission = permission


class ListExpiredError(ListError):
    """The continue token expired (410 Gone) again after the list was restarted once."""


class ListNotServedError(ListError):
    """The API server does not serve this group/version (404): its CRD is not installed."""


class ListFetchError(ListError):
    """Transport failure, an error status after retries, or a body that is not a List."""


class AuthError(ScannerError):
    """A caller of POST /api/scan was refused; nothing was parsed, scanned or queued.

    ``error`` is the RFC 6750 error code for ``WWW-Authenticate`` ("" when the request carried
    no credentials at all, for which RFC 6750 section 3.1 says to send none), ``detail`` what
    the caller is told, ``reason`` what the log says.
    """

    status = 401

    def __init__(self, error: str, detail: str, reason: str = "") -> None:
        super().__init__(reason or detail)
        self.error = error
        self.detail = detail
        self.reason = reason or detail


class UnauthenticatedError(AuthError):
    """No bearer token, or one that is not a valid token of the configured tenant for this API."""


class ForbiddenError(AuthError):
    """A valid token whose ``roles`` claim lacks the app role the trigger requires."""

    status = 403


class AuthUnavailableError(AuthError):
    """The tenant's OpenID metadata or signing keys could not be read, so no token can be checked."""

    status = 503
