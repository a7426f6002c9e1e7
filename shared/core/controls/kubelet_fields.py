"""The configz fields the kubelet controls read: one entry per field, documented the Kubernetes way.

Each entry gives the wire name (the dotted path under ``kubeletconfig``), the JSON type the
check accepts, the value that applies when configz omits the field, what that absence means,
and what the field does. Source of the types and defaults: ``k8s.io/kubelet/config/v1beta1``
KubeletConfiguration (kubernetes ``staging/src/k8s.io/kubelet/config/v1beta1/types.go`` and
``pkg/kubelet/apis/config/v1beta1/defaults.go``). configz is written by Go's encoding/json, where
``omitempty`` drops zero values, so a missing field is not "unknown": it is the zero value, or
the default the kubelet applied before serialising.

Checks read fields only through ``read`` / ``read_duration`` with an entry from this module; a
test runs every control against a mapping that records the keys it looks up and compares them
with the control's declared ``paths`` (so a memo keyed on those paths is always correct).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.core.controls.configz import (
    Observed,
    read_bool,
    read_duration_at,
    read_int,
    read_str,
    read_str_list,
)


class Kind(enum.Enum):
    """The JSON type a field must have; any other type is a FieldTypeError, never coerced."""

    BOOL = "a boolean"
    INT = "an integer"
    STRING = "a string"
    DURATION = 'a Go duration string such as "4h0m0s"'
    STRING_LIST = "a list of strings"


@dataclass(frozen=True, slots=True)
class KubeletField:
    """One KubeletConfiguration field as configz shows it."""

    path: str  # dotted, under kubeletconfig
    kind: Kind
    default: Any  # the value that applies when configz omits the field
    absence: str  # what a missing field means, in words
    doc: str  # what the field does (Go type, defaulting, deprecation)


ANONYMOUS_AUTH = KubeletField(
    "authentication.anonymous.enabled",
    Kind.BOOL,
    False,
    "false: anonymous requests are rejected",
    "*bool. Allows anonymous requests to the kubelet API (they get user system:anonymous). "
    "Defaulted to false in a config file.",
)
AUTHORIZATION_MODE = KubeletField(
    "authorization.mode",
    Kind.STRING,
    "Webhook",
    "Webhook: requests are authorized by the API server (SubjectAccessReview)",
    "string, AlwaysAllow | Webhook. Defaulted to Webhook in a config file.",
)
CLIENT_CA_FILE = KubeletField(
    "authentication.x509.clientCAFile",
    Kind.STRING,
    "",
    "empty: client certificates are not verified",
    "string. CA bundle that verifies client certificates to the kubelet API.",
)
READ_ONLY_PORT = KubeletField(
    "readOnlyPort",
    Kind.INT,
    0,
    "0: the read-only port is disabled",
    "int32, omitempty. The unauthenticated read-only port; 0 disables it.",
)
STREAMING_IDLE_TIMEOUT = KubeletField(
    "streamingConnectionIdleTimeout",
    Kind.DURATION,
    "4h0m0s",
    "4h0m0s: the kubelet default",
    "Duration. Idle timeout of streaming connections (exec, attach, port-forward). Deprecated "
    "upstream in the newest types (no longer has any effect there).",
)
IPTABLES_UTIL_CHAINS = KubeletField(
    "makeIPTablesUtilChains",
    Kind.BOOL,
    True,
    "true: the kubelet keeps its iptables utility chains",
    "*bool. The kubelet ensures its iptables utility chains exist. Defaulted to true.",
)
EVENT_RECORD_QPS = KubeletField(
    "eventRecordQPS",
    Kind.INT,
    50,
    "50: the kubelet default",
    "*int32. Event creations per second; 0 means no limit. Defaulted to 50.",
)
ROTATE_CERTIFICATES = KubeletField(
    "rotateCertificates",
    Kind.BOOL,
    False,
    "false: the client certificate is not rotated",
    "bool, omitempty. Rotate the kubelet client certificate through the certificates API.",
)
SERVER_TLS_BOOTSTRAP = KubeletField(
    "serverTLSBootstrap",
    Kind.BOOL,
    False,
    "false: the kubelet does not request its serving certificate",
    "bool, omitempty. Request the serving certificate from the certificates.k8s.io API instead "
    "of self-signing (needs the RotateKubeletServerCertificate gate).",
)
SERVER_CERT_ROTATION_GATE = KubeletField(
    "featureGates.RotateKubeletServerCertificate",
    Kind.BOOL,
    True,
    "true: the gate is Beta and on by default since Kubernetes 1.12",
    "bool in map[string]bool featureGates. Serving-certificate rotation.",
)
PROTECT_KERNEL_DEFAULTS = KubeletField(
    "protectKernelDefaults",
    Kind.BOOL,
    False,
    "false: the kubelet changes kernel tunables to match what it expects",
    "bool, omitempty. If true, the kubelet errors when kernel tunables differ from its "
    "expectations instead of changing them.",
)
TLS_CERT_FILE = KubeletField(
    "tlsCertFile",
    Kind.STRING,
    "",
    "empty: with tlsPrivateKeyFile also empty, the kubelet self-signs a serving certificate",
    "string, omitempty. x509 serving certificate (CA after it, if any).",
)
TLS_PRIVATE_KEY_FILE = KubeletField(
    "tlsPrivateKeyFile",
    Kind.STRING,
    "",
    "empty",
    "string, omitempty. The private key matching tlsCertFile.",
)
TLS_CIPHER_SUITES = KubeletField(
    "tlsCipherSuites",
    Kind.STRING_LIST,
    (),
    "nil: Go's crypto/tls default suites, which include ones CIS does not count as strong",
    "[]string, omitempty. The server's allowed cipher suites (TLS 1.3 suites are not "
    "configurable).",
)
POD_PIDS_LIMIT = KubeletField(
    "podPidsLimit",
    Kind.INT,
    -1,
    "-1: no limit (the default, which configz normally shows)",
    "*int64, omitempty. Maximum PIDs in any pod; only a value above 0 is a limit.",
)
SECCOMP_DEFAULT = KubeletField(
    "seccompDefault",
    Kind.BOOL,
    False,
    "false: workloads without a seccomp profile run Unconfined",
    "*bool, omitempty. Use the runtime's RuntimeDefault seccomp profile for every workload "
    "that does not name one.",
)

#: Every field any benchmark reads, in the order of the tables that read them.
FIELDS: tuple[KubeletField, ...] = (
    ANONYMOUS_AUTH,
    AUTHORIZATION_MODE,
    CLIENT_CA_FILE,
    READ_ONLY_PORT,
    STREAMING_IDLE_TIMEOUT,
    IPTABLES_UTIL_CHAINS,
    EVENT_RECORD_QPS,
    ROTATE_CERTIFICATES,
    SERVER_TLS_BOOTSTRAP,
    SERVER_CERT_ROTATION_GATE,
    PROTECT_KERNEL_DEFAULTS,
    TLS_CERT_FILE,
    TLS_PRIVATE_KEY_FILE,
    TLS_CIPHER_SUITES,
    POD_PIDS_LIMIT,
    SECCOMP_DEFAULT,
)

_READERS = {
    Kind.BOOL: read_bool,
    Kind.INT: read_int,
    Kind.STRING: read_str,
    Kind.STRING_LIST: read_str_list,
}


def read(config: Mapping[str, Any], field: KubeletField) -> Observed:
    """The field's value as configz shows it, or its default when absent (FieldTypeError if the
    JSON type is wrong). Durations: use ``read_duration``."""
    if field.kind is Kind.DURATION:
        raise ValueError(f"{field.path} is a duration: read it with read_duration")
    reader: Any = _READERS[field.kind]
    observed: Observed = reader(config, field.path, field.default)
    return observed


def read_duration(config: Mapping[str, Any], field: KubeletField) -> tuple[Observed, float]:
    """A duration field and its value in seconds; its default when absent."""
    if field.kind is not Kind.DURATION:
        raise ValueError(f"{field.path} is not a duration")
    return read_duration_at(config, field.path, field.default)


def paths(*fields: KubeletField) -> tuple[str, ...]:
    """The declared paths of a control that reads ``fields``."""
    return tuple(field.path for field in fields)
