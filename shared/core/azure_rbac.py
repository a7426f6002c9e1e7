"""Azure RBAC (role assignments and definitions in ARM), read the way the registry controls and
4.1.1 (Azure's cluster-admins) need it: who holds which role where.

Pure functions over the ARM JSON of role assignments (``properties.principalId``,
``principalType``, ``roleDefinitionId``, ``scope``) and role definitions
(``properties.roleName``, ``permissions[].actions/notActions/dataActions/notDataActions``).

Interpretations, stated once:

* A scope covers a resource when the resource id equals the scope or lies under it
  (case-insensitive, at a ``/`` boundary). The tenant root (``/``) and management group scopes
  are taken to cover every resource the scan sees: the scanner does not read the management
  group tree, so an assignment there counts wherever it could apply.
* A role writes to a registry when one of its actions or data actions matches one of
  ``REGISTRY_WRITE_OPERATIONS`` and none of its notActions / notDataActions matches that
  operation (``*`` matches any text, case-insensitive, as in Azure role definitions). So
  ``*`` (Owner, Contributor) and ``Microsoft.ContainerRegistry/*`` write, ``*/read`` (Reader)
  and ``.../pull/read`` (AcrPull) do not, ``.../push/write`` (AcrPush) does.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.core.controls.arm import read_object, read_str, read_str_list
from shared.core.errors import FieldTypeError

_MANAGEMENT_GROUP = "/providers/microsoft.management/managementgroups/"
REGISTRY_SEGMENT = "/providers/microsoft.containerregistry/registries/"

#: Operations that change a registry or its content, or hand out credentials that do.
#: Action names: Microsoft Learn "Azure permissions for Containers" and "Azure Container
#: Registry roles and permissions" (registries/write, delete, push/write, importImage/action,
#: artifacts/delete, sign/write, metadata/write, listCredentials/action ...).
REGISTRY_WRITE_OPERATIONS = (
    "microsoft.containerregistry/registries/write",
    "microsoft.containerregistry/registries/delete",
    "microsoft.containerregistry/registries/push/write",
    "microsoft.containerregistry/registries/artifacts/delete",
    "microsoft.containerregistry/registries/importimage/action",
    "microsoft.containerregistry/registries/sign/write",
    "microsoft.containerregistry/registries/metadata/write",
    "microsoft.containerregistry/registries/quarantine/write",
    "microsoft.containerregistry/registries/listcredentials/action",
    "microsoft.containerregistry/registries/regeneratecredential/action",
    "microsoft.containerregistry/registries/generatecredentials/action",
)
#: Data actions of registries with repository permissions (ABAC) that change content.
REGISTRY_WRITE_DATA_OPERATIONS = (
    "microsoft.containerregistry/registries/repositories/content/write",
    "microsoft.containerregistry/registries/repositories/content/delete",
    "microsoft.containerregistry/registries/repositories/metadata/write",
)


@dataclass(frozen=True, slots=True)
class Assignment:
    """One role assignment, as the registry controls use it."""

    principal_id: str
    principal_type: str
    role_id: str  # the role definition's GUID, lower case
    scope: str

    @classmethod
    def of(cls, row: Mapping[str, Any], where: str) -> Assignment:
        """From a role assignment's ARM JSON; FieldTypeError names ``where``."""
        if not isinstance(row, Mapping):
            raise FieldTypeError(where, "an object", row)
        props = read_object(row, "properties")
        principal = read_str(props, "principalId", "").value
        role = read_str(props, "roleDefinitionId", "").value
        scope = read_str(props, "scope", "").value
        kind = read_str(props, "principalType", "").value
        return cls(principal.lower(), kind, role.rstrip("/").rsplit("/", 1)[-1].lower(), scope)


def assignments(rows: Iterable[Any], where: str = "roleAssignments") -> list[Assignment]:
    """Every role assignment of a read, validated."""
    return [Assignment.of(row, f"{where}[{i}]") for i, row in enumerate(rows)]


def covers(scope: str, resource_id: str) -> bool:
    """True when an assignment at ``scope`` applies to ``resource_id`` (see module docstring)."""
    s = scope.lower().rstrip("/")
    if s == "" or s.startswith(_MANAGEMENT_GROUP):
        return True
    r = resource_id.lower()
    return r == s or r.startswith(s + "/")


def is_registry_scope(scope: str) -> bool:
    """True when ``scope`` is a container registry (or a resource under one)."""
    return REGISTRY_SEGMENT in scope.lower()


def registry_of(scope: str) -> str:
    """The registry resource id a registry-level scope names (lower case)."""
    lower = scope.lower()
    head, _, tail = lower.partition(REGISTRY_SEGMENT)
    return head + REGISTRY_SEGMENT + tail.split("/", 1)[0]


def role_name(definition: Mapping[str, Any]) -> str:
    """The role's display name (``properties.roleName``), or its GUID."""
    props = read_object(definition, "properties")
    name = read_str(props, "roleName", "").value
    return str(name or definition.get("name") or "?")


def _permission_blocks(definition: Mapping[str, Any], where: str) -> list[Mapping[str, Any]]:
    """A role definition's ``properties.permissions`` blocks; FieldTypeError names ``where``."""
    props = read_object(definition, "properties")
    permissions = props.get("permissions") or []
    if not isinstance(permissions, list):
        raise FieldTypeError(f"{where}.properties.permissions", "a list of objects", permissions)
    for index, block in enumerate(permissions):
        if not isinstance(block, Mapping):
            raise FieldTypeError(f"{where}.properties.permissions[{index}]", "an object", block)
    return permissions


def holds_every_data_action(
    definition: Mapping[str, Any], operation: str, where: str = "roleDefinition"
) -> bool:
    """True when one permissions block grants ``operation`` (a wildcard such as
    ``microsoft.containerservice/managedclusters/*``) through a data action that covers it and
    carves nothing out (no ``notDataActions``): the whole of it, not most of it."""
    for block in _permission_blocks(definition, where):
        grants = [p.lower() for p in read_str_list(block, "dataActions").value]
        if read_str_list(block, "notDataActions").value:
            continue
        if any(fnmatch.fnmatchcase(operation, p) for p in grants):
            return True
    return False


def writes_registry(definition: Mapping[str, Any], where: str = "roleDefinition") -> bool:
    """True when the role can change a registry or its content (see module docstring)."""
    for block in _permission_blocks(definition, where):
        for allowed, denied, operations in (
            ("actions", "notActions", REGISTRY_WRITE_OPERATIONS),
            ("dataActions", "notDataActions", REGISTRY_WRITE_DATA_OPERATIONS),
        ):
            grants = [p.lower() for p in read_str_list(block, allowed).value]
            holes = [p.lower() for p in read_str_list(block, denied).value]
            for operation in operations:
                if any(fnmatch.fnmatchcase(operation, p) for p in grants) and not any(
                    fnmatch.fnmatchcase(operation, p) for p in holes
                ):
                    return True
    return False
