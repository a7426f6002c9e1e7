"""How an Azure SDK failure reads in an ERROR row: one wording for every ARM caller.

Used by discovery and credentials (shared.adapters.azure_arm) and by the run command path
(shared.adapters.run_command), so a throttled, refused or token-less call reads the same
whichever of them made it.
"""

from __future__ import annotations

from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError


def token_failure_reason(exc: AzureError, doing: str) -> str:
    """The credential could not get a token (the managed identity endpoint failed or refused)."""
    first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    return (
        f"the managed identity could not get a token while {doing} (check AZURE_CLIENT_ID and "
        f"that the identity is assigned to this app): {first}"
    )


def azure_reason(exc: AzureError, doing: str) -> str:
    """``HTTP <status> <ARM error code> while <doing>: <message>``, or the token failure."""
    if isinstance(exc, ClientAuthenticationError) and exc.status_code is None:
        return token_failure_reason(exc, doing)
    if isinstance(exc, HttpResponseError):
        code = getattr(exc.error, "code", None) or exc.reason or ""
        message = getattr(exc.error, "message", None) or ""
        return f"HTTP {exc.status_code} {code} while {doing}: {str(message)[:300]}".rstrip(": ")
    return f"{type(exc).__name__} while {doing}: {str(exc).splitlines()[0][:300] if str(exc) else ''}".rstrip(
        ": "
    )
