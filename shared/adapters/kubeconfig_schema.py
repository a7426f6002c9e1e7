"""A person's kubeconfig (``scan --kubeconfig``) as pydantic models: the shapes the kubernetes
config loader reads, checked before it runs anything.

The loader (kubernetes ``config/kube_config.py`` and ``exec_provider.py``) crashes on a wrong
shape (an ``int`` where a list of contexts belongs, a string where a user mapping belongs) and,
for an ``exec`` stanza without ``command`` or ``apiVersion``, logs an error and carries on
without credentials. The fields and their types follow client-go's kubeconfig API (kubernetes
``staging/src/k8s.io/client-go/tools/clientcmd/api/v1/types.go``: ``Cluster``, ``AuthInfo``,
``Context``, ``ExecConfig``, ``ExecEnvVar``, ``AuthProviderConfig``). Fields the scanner and the
loader do not read are allowed, as kubectl allows them (``extensions``, ``preferences``, ...).
"""

from __future__ import annotations

import base64
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

#: kubeconfig entries: exact types, unknown keys allowed (kubectl's own files carry some).
KUBECONFIG = ConfigDict(strict=True, extra="allow", frozen=True, hide_input_in_errors=True)
EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")


def _https(server: str) -> str:
    if not server.startswith("https://") or len(server) <= len("https://"):
        raise ValueError(
            f"{server[:100]!r} is not an https:// URL (the scanner reads configz over TLS only)"
        )
    return server


def _base64(text: str) -> str:
    try:
        base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error, or a character that is not ASCII
        raise ValueError("must be base64 (the PEM, encoded)") from None
    return text


Base64 = Annotated[str, AfterValidator(_base64), Field(description="must be base64 text")]


def _exec_api(version: str) -> str:
    if version not in EXEC_API_VERSIONS:
        raise ValueError(f"{version[:80]!r} is not one of {', '.join(EXEC_API_VERSIONS)}")
    return version


def _command(command: str) -> str:
    if not command:
        raise ValueError("must name the credential plugin to run")
    return command


class ClusterEntry(BaseModel):
    """``clusters[].cluster``."""

    model_config = KUBECONFIG
    WHAT: ClassVar[str] = "must be a mapping with server"

    server: Annotated[str, AfterValidator(_https), Field(description="must be an https:// URL")]
    certificate_authority: str | None = Field(default=None, alias="certificate-authority")
    certificate_authority_data: Base64 | None = Field(
        default=None, alias="certificate-authority-data"
    )
    asks_to_skip_verification: Annotated[  # refused at connect time (KubeconfigConnector)
        bool | None, Field(alias="insecure-skip-tls-verify", description="must be true or false")
    ] = None
    tls_server_name: str | None = Field(default=None, alias="tls-server-name")
    proxy_url: str | None = Field(default=None, alias="proxy-url")


class ExecEnvVar(BaseModel):
    """``exec.env[]``: one variable for the credential plugin."""

    model_config = KUBECONFIG
    WHAT: ClassVar[str] = "must be a mapping with name and value"

    name: str
    value: str


class ExecConfig(BaseModel):
    """``users[].user.exec``: the credential plugin (kubelogin, ...), run by the loader."""

    model_config = KUBECONFIG
    WHAT: ClassVar[str] = "must be a mapping with command and apiVersion"

    command: Annotated[str, AfterValidator(_command), Field(description="must be a string")]
    apiVersion: Annotated[
        str,
        AfterValidator(_exec_api),
        Field(description=f"must be one of {', '.join(EXEC_API_VERSIONS)}"),
    ]
    args: Annotated[list[str] | None, Field(description="must be a list of strings")] = None
    env: Annotated[
        list[ExecEnvVar] | None, Field(description="must be a list of {name, value} mappings")
    ] = None
    installHint: str | None = None
    provideClusterInfo: Annotated[bool | None, Field(description="must be true or false")] = None
    interactiveMode: Annotated[
        str | None, Field(description="must be Never, IfAvailable or Always")
    ] = None


class AuthProvider(BaseModel):
    """``users[].user.auth-provider``."""

    model_config = KUBECONFIG
    WHAT: ClassVar[str] = "must be a mapping with name"

    name: str
    config: Annotated[dict[str, str] | None, Field(description="must be a mapping of strings")] = (
        None
    )


class UserEntry(BaseModel):
    """``users[].user``: how to authenticate."""

    model_config = KUBECONFIG
    WHAT: ClassVar[str] = "must be a mapping (token, client certificate, exec, ...)"

    token: str | None = None
    tokenFile: str | None = None
    client_certificate: str | None = Field(default=None, alias="client-certificate")
    client_certificate_data: Base64 | None = Field(default=None, alias="client-certificate-data")
    client_key: str | None = Field(default=None, alias="client-key")
    client_key_data: Base64 | None = Field(default=None, alias="client-key-data")
    username: str | None = None
    password: str | None = None
    exec: ExecConfig | None = None
    auth_provider: AuthProvider | None = Field(default=None, alias="auth-provider")


class ContextEntry(BaseModel):
    """``contexts[].context``: which cluster, as which user."""

    model_config = KUBECONFIG
    WHAT: ClassVar[str] = "must be a mapping with cluster and user"

    cluster: str
    user: str | None = None
    namespace: str | None = None


class NamedCluster(BaseModel):
    model_config = KUBECONFIG
    WHAT: ClassVar[str] = "must be a mapping with name and cluster"

    name: str
    cluster: ClusterEntry


class NamedUser(BaseModel):
    model_config = KUBECONFIG
    WHAT: ClassVar[str] = "must be a mapping with name and user"

    name: str
    user: UserEntry


class NamedContext(BaseModel):
    model_config = KUBECONFIG
    WHAT: ClassVar[str] = "must be a mapping with name and context"

    name: str
    context: ContextEntry


class Kubeconfig(BaseModel):
    """The whole file (``kind: Config``)."""

    model_config = KUBECONFIG
    WHAT: ClassVar[str] = "must be a kubeconfig mapping (clusters, contexts, users)"

    clusters: Annotated[
        list[NamedCluster], Field(description="must be a list of named clusters")
    ] = Field(default_factory=list)
    contexts: Annotated[
        list[NamedContext], Field(description="must be a list of named contexts")
    ] = Field(default_factory=list)
    users: Annotated[list[NamedUser], Field(description="must be a list of named users")] = Field(
        default_factory=list
    )
    current_context: str | None = Field(default=None, alias="current-context")
