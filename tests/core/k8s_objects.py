"""Builders of Kubernetes objects as the API serves them (plain dicts), for the section 4 tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Labels = Mapping[str, str] | None

RBAC = "rbac.authorization.k8s.io"
DEFAULTS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AKS = {"addonmanager.kubernetes.io/mode": "Reconcile"}


def rule(
    verbs: Sequence[str],
    resources: Sequence[str] = (),
    groups: Sequence[str] = ("",),
    names: Sequence[str] = (),
    urls: Sequence[str] = (),
) -> dict[str, Any]:
    """A PolicyRule."""
    out: dict[str, Any] = {"verbs": list(verbs)}
    if resources:
        out["apiGroups"] = list(groups)
        out["resources"] = list(resources)
    if names:
        out["resourceNames"] = list(names)
    if urls:
        out["nonResourceURLs"] = list(urls)
    return out


def meta(name: str, namespace: str = "", labels: Labels = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if namespace:
        out["namespace"] = namespace
    if labels:
        out["labels"] = dict(labels)
    out.update(extra)
    return out


def cluster_role(
    name: str, *rules: dict[str, Any], labels: Labels = None, aggregated: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {"metadata": meta(name, labels=labels), "rules": list(rules)}
    if aggregated:
        out["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {"x": "true"}}]}
    return out


def role(
    namespace: str, name: str, *rules: dict[str, Any], labels: Labels = None
) -> dict[str, Any]:
    return {"metadata": meta(name, namespace, labels), "rules": list(rules)}


def user(name: str) -> dict[str, Any]:
    return {"apiGroup": RBAC, "kind": "User", "name": name}


def group(name: str) -> dict[str, Any]:
    return {"apiGroup": RBAC, "kind": "Group", "name": name}


def sa(namespace: str, name: str) -> dict[str, Any]:
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


def crb(
    name: str, role_name: str, *subjects: dict[str, Any], labels: Labels = None
) -> dict[str, Any]:
    return {
        "metadata": meta(name, labels=labels),
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role_name},
        "subjects": list(subjects),
    }


def rb(
    namespace: str,
    name: str,
    role_kind: str,
    role_name: str,
    *subjects: dict[str, Any],
    labels: Labels = None,
) -> dict[str, Any]:
    return {
        "metadata": meta(name, namespace, labels),
        "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role_name},
        "subjects": list(subjects),
    }


def container(
    name: str = "app", image: str = "myacr.azurecr.io/app:1", **fields: Any
) -> dict[str, Any]:
    return {"name": name, "image": image, **fields}


def pod(
    namespace: str,
    name: str,
    *containers: dict[str, Any],
    init: Sequence[dict[str, Any]] = (),
    ephemeral: Sequence[dict[str, Any]] = (),
    owner: tuple[str, str] | None = None,
    labels: Labels = None,
    **spec: Any,
) -> dict[str, Any]:
    metadata = meta(name, namespace, labels)
    if owner is not None:
        metadata["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": owner[0],
                "name": owner[1],
                "uid": "u",
                "controller": True,
            }
        ]
    body: dict[str, Any] = {"containers": list(containers) or [container()], **spec}
    if init:
        body["initContainers"] = list(init)
    if ephemeral:
        body["ephemeralContainers"] = list(ephemeral)
    return {"metadata": metadata, "spec": body}


def account(namespace: str, name: str = "default", automount: bool | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"metadata": meta(name, namespace)}
    if automount is not None:
        out["automountServiceAccountToken"] = automount
    return out


def namespace(name: str, enforce: str = "") -> dict[str, Any]:
    labels = {"kubernetes.io/metadata.name": name}
    if enforce:
        labels["pod-security.kubernetes.io/enforce"] = enforce
    return {"metadata": meta(name, labels=labels)}


def netpol(namespace: str, name: str = "default-deny") -> dict[str, Any]:
    return {"metadata": meta(name, namespace), "spec": {"podSelector": {}}}


def deployment(namespace: str, name: str, *containers: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": meta(name, namespace),
        "spec": {"template": {"spec": {"containers": list(containers) or [container()]}}},
    }


def replica_set(namespace: str, name: str, deployment_name: str) -> dict[str, Any]:
    metadata = meta(name, namespace)
    metadata["ownerReferences"] = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": deployment_name,
            "uid": "u",
            "controller": True,
        }
    ]
    return {"metadata": metadata, "spec": {"template": {"spec": {"containers": [container()]}}}}
