"""Hostile kubeconfigs: a person's file (``scan --kubeconfig``) is one Cluster or a SettingsError
naming --kubeconfig/--context and the field, before the kubernetes loader runs anything; the
kubeconfig ARM returns (listClusterUserCredential) is a KubeEndpoint or a CredentialsError.

Generated: valid files with one field of the chosen context's cluster, user or exec stanza
replaced by a value of the wrong type or shape; whole documents of any shape; YAML text with
aliases, depth and duplicates.
"""

from __future__ import annotations

import base64
import contextlib
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from shared.adapters.kubeconfig import parse_kubeconfig
from shared.adapters.kubeconfig_source import kubeconfig_cluster
from shared.core.errors import CredentialsError, SettingsError
from shared.core.model import Cluster
from tests.hypothesis_profiles import count, examples

pytestmark = pytest.mark.inputs

CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode()
ANY: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=15,
)
EXEC = {
    "apiVersion": "client.authentication.k8s.io/v1beta1",
    "command": "kubelogin",
    "args": ["get-token"],
}


def kubeconfig(user: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "me@aks",
        "clusters": [
            {
                "name": "aks",
                "cluster": {"server": "https://aks.example:443", "certificate-authority-data": CA},
            }
        ],
        "contexts": [{"name": "me@aks", "context": {"cluster": "aks", "user": "me"}}],
        "users": [{"name": "me", "user": user if user is not None else {"token": "t0ken"}}],
    }
    document.update(changes)
    return document


def replaced(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A deep copy of ``document`` with the value at ``path`` replaced."""
    copy: dict[str, Any] = yaml.safe_load(yaml.safe_dump(document))
    target: Any = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copy


PATHS = st.sampled_from(
    [
        ("clusters",),
        ("clusters", 0),
        ("clusters", 0, "cluster"),
        ("clusters", 0, "cluster", "server"),
        ("clusters", 0, "cluster", "insecure-skip-tls-verify"),
        ("clusters", 0, "name"),
        ("contexts",),
        ("contexts", 0),
        ("contexts", 0, "context"),
        ("contexts", 0, "context", "cluster"),
        ("contexts", 0, "context", "user"),
        ("contexts", 0, "name"),
        ("users",),
        ("users", 0, "user"),
        ("users", 0, "user", "token"),
        ("users", 0, "user", "client-certificate-data"),
        ("users", 0, "user", "exec"),
        ("current-context",),
    ]
)
EXEC_PATHS = st.sampled_from(["command", "apiVersion", "args", "env", "provideClusterInfo"])
SHAPES = ANY | st.sampled_from(
    ["", "http://aks.example", "https://", "aks", [{"name": 1}], {"name": "x"}, 5, True, None]
)


def outcome(tmp: Path, text: str, context: str | None = None) -> Cluster | str:
    path = tmp / "kubeconfig"
    path.write_text(text, encoding="utf-8")
    try:
        return kubeconfig_cluster(str(path), context)
    except SettingsError as exc:
        message = str(exc)
        assert message.startswith(("--kubeconfig: ", "--context: ")), message
        return message


def loader_accepts(tmp: Path) -> None:
    """The kubernetes loader on a file kubeconfig_cluster accepted: a configuration or a ConfigException."""
    configuration = k8s.Configuration()
    with contextlib.suppress(ConfigException):
        k8s_config.load_kube_config(
            config_file=str(tmp / "kubeconfig"),
            client_configuration=configuration,
            persist_config=False,
        )


class TestPersonsKubeconfig:
    @examples(300)
    @given(path=PATHS, value=SHAPES)
    def test_one_wrong_field_is_named_or_the_file_is_usable(self, path, value):
        """One field replaced by any value: the Cluster of its context, or a named error; the loader never crashes on an accepted file."""
        count("kubeconfig")
        with tempfile.TemporaryDirectory() as directory:
            tmp = Path(directory)
            result = outcome(tmp, yaml.safe_dump(replaced(kubeconfig(), path, value)))
            if isinstance(result, Cluster):
                loader_accepts(tmp)

    @examples(200)
    @given(key=EXEC_PATHS, value=SHAPES)
    def test_exec_stanza_of_the_wrong_shape_is_named_before_it_runs(self, key, value):
        """exec with a wrong command, apiVersion, args or env is named; the loader used to log it and carry on without credentials."""
        count("kubeconfig")
        with tempfile.TemporaryDirectory() as directory:
            result = outcome(
                Path(directory), yaml.safe_dump(kubeconfig({"exec": {**EXEC, key: value}}))
            )
        valid = {
            "command": isinstance(value, str) and value != "",
            "apiVersion": value
            in ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"),
            "args": value is None
            or (isinstance(value, list) and all(isinstance(a, str) for a in value)),
            "env": value is None
            or (
                isinstance(value, list)
                and all(
                    isinstance(e, dict)
                    and isinstance(e.get("name"), str)
                    and isinstance(e.get("value"), str)
                    for e in value
                )
            ),
            "provideClusterInfo": value is None or isinstance(value, bool),
        }[key]
        if valid:
            assert isinstance(result, Cluster), result
        else:
            assert isinstance(result, str)
            assert f"users[0].user.exec.{key}" in result, result

    @examples(200)
    @given(text=st.text(max_size=120) | ANY.map(yaml.safe_dump))
    def test_any_text_is_a_cluster_or_a_settings_error(self, text):
        """Any file contents: a Cluster or a SettingsError naming --kubeconfig or --context."""
        count("kubeconfig")
        with tempfile.TemporaryDirectory() as directory:
            outcome(Path(directory), text)

    @examples(100)
    @given(context=st.text(max_size=10) | st.sampled_from(["me@aks", "ME@AKS", "me@aks ", "aks"]))
    def test_context_matches_whole_names(self, context):
        """--context names exactly one context (no trimming, no case folding), else it is named."""
        count("kubeconfig")
        with tempfile.TemporaryDirectory() as directory:
            result = outcome(Path(directory), yaml.safe_dump(kubeconfig()), context)
        assert isinstance(result, Cluster) == (context == "me@aks")


class TestAzureKubeconfig:
    @examples(200)
    @given(document=ANY | st.builds(replaced, st.just(kubeconfig()), PATHS, SHAPES))
    def test_any_document_is_an_endpoint_or_a_credentials_error(self, document):
        """The kubeconfig listClusterUserCredential returns, of any shape: a KubeEndpoint or a CredentialsError."""
        count("kubeconfig")
        with contextlib.suppress(CredentialsError):
            parse_kubeconfig(yaml.safe_dump(document).encode())


BILLION_LAUGHS = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    + ["current-context: c", "contexts: [{name: c, context: {cluster: *a8}}]"]
)


class TestRegressions:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            (
                "contexts: 5\ncurrent-context: a\n",
                "contexts: must be a list of named contexts, got integer",
            ),
            (
                "contexts: [{name: a, context: text}]\ncurrent-context: a\n",
                "contexts[0].context: must be a mapping with cluster and user, got string",
            ),
            (
                "contexts: [{name: [1], context: {}}]\ncurrent-context: a\n",
                "contexts[0].name: must be a string, got list",
            ),
            ("current-context: [a]\n", "current-context: must be a string, got list"),
            ("x: " + "[" * 200 + "]" * 200 + "\n", "nests deeper than 64 levels"),
            (BILLION_LAUGHS, "expands to more than 100000 YAML nodes"),
        ],
        ids=[
            "contexts-int",
            "context-string",
            "name-list",
            "current-list",
            "deep",
            "billion-laughs",
        ],
    )
    def test_file_shape_is_named_not_a_traceback(self, tmp_path, text, message):
        """Each was a TypeError, AttributeError or RecursionError traceback (or a 10^8-element str()); now a named usage error."""
        result = outcome(tmp_path, text)
        assert isinstance(result, str)
        assert message in result, result

    @pytest.mark.parametrize(
        ("user", "field"),
        [
            (
                {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1"}},
                "users[0].user.exec.command: required",
            ),
            ({"exec": {"command": "kubelogin"}}, "users[0].user.exec.apiVersion: required"),
            (
                {"exec": "kubelogin"},
                "users[0].user.exec: must be a mapping with command and apiVersion, got string",
            ),
            (
                {"exec": {**EXEC, "env": [1]}},
                "users[0].user.exec.env[0]: must be a mapping with name and value, got integer",
            ),
            (
                {"client-certificate-data": 5},
                "users[0].user.client-certificate-data: must be a string, got integer",
            ),
        ],
        ids=["exec-no-command", "exec-no-api-version", "exec-string", "exec-env", "cert-int"],
    )
    def test_user_shape_is_named_before_the_loader_runs(self, tmp_path, user, field):
        """The loader logged these and scanned without credentials (or crashed at connect); now named up front."""
        result = outcome(tmp_path, yaml.safe_dump(kubeconfig(user)))
        assert isinstance(result, str)
        assert field in result, result

    def test_user_that_is_text_is_named(self, tmp_path):
        """user: hello was an AttributeError in the loader at connect time."""
        document = kubeconfig()
        document["users"][0]["user"] = "hello"
        result = outcome(tmp_path, yaml.safe_dump(document))
        assert "users[0].user: must be a mapping" in str(result)

    def test_file_that_is_not_utf8_is_named(self, tmp_path):
        """A Latin-1 file was a UnicodeDecodeError traceback."""
        path = tmp_path / "kubeconfig"
        path.write_bytes(b"current-context: caf\xe9\n")
        with pytest.raises(SettingsError, match="is not UTF-8"):
            kubeconfig_cluster(str(path), None)

    def test_context_naming_a_missing_cluster_is_named(self, tmp_path):
        """A context whose cluster is not in the file is named, not left to fail at connect."""
        document = kubeconfig()
        document["contexts"][0]["context"]["cluster"] = "elsewhere"
        assert "names cluster 'elsewhere', which the file does not define" in str(
            outcome(tmp_path, yaml.safe_dump(document))
        )

    def test_arm_kubeconfig_with_non_ascii_certificate_data_is_a_credentials_error(self):
        """Found by make fuzz: certificate data with a non-ASCII character raised ValueError (not binascii.Error) and ended the run."""
        document = kubeconfig({"token": "t", "client-certificate-data": "\x80"})
        with pytest.raises(
            CredentialsError, match="client-certificate-data is not base64-encoded PEM"
        ):
            parse_kubeconfig(yaml.safe_dump(document).encode())

    def test_arm_kubeconfig_with_non_list_sections_is_a_credentials_error(self):
        """contexts: 5 in Azure's answer was a TypeError that ended the run; now that cluster's CredentialsError."""
        with pytest.raises(CredentialsError):
            parse_kubeconfig(b"contexts: 5\nclusters: 7\n")
