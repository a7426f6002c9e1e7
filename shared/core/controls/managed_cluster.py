"""CIS AKS sections 2, 3.1 and 5 from what ARM says about a cluster: the checks.

Each check reads the facts of one cluster (shared.core.facts) and returns an Outcome with its
evidence; the benchmark tables (cis_aks_18, cis_aks_versions) give them their ids, titles and
levels as ``Recommendation`` rows. Property names are ARM's (``authorizedIPRanges``,
``enableAzureRBAC``, ``enablePrivateClusterPublicFQDN``), not the ``az`` CLI names the CIS audit
text shows. Paths are under the managed cluster's ``properties``. What absence means:

==========================================================  =====================================
``apiServerAccessProfile.enablePrivateCluster``             false
``apiServerAccessProfile.authorizedIPRanges``               none (the endpoint is open)
``apiServerAccessProfile.enablePrivateClusterPublicFQDN``   false
``agentPoolProfiles[].enableNodePublicIP``                  false
``networkProfile.networkPolicy``                            ``none`` (not enforced)
``securityProfile.azureKeyVaultKms.enabled``                false
``aadProfile``                                              no Entra ID integration
``aadProfile.enableAzureRBAC``                              false
``enableRBAC``                                              not false (AKS-managed Entra ID
                                                            needs Kubernetes RBAC)
``disableLocalAccounts``                                    false
registry ``adminUserEnabled``                               false
pricing extension ``isEnabled`` (``"True"``/``"False"``)    the extension is off
==========================================================  =====================================

Sources: the defaults are those of azure-mgmt-containerservice 41.8.0's model docstrings
(``NetworkPolicy.NONE``: "the default value when NetworkPolicy is not specified";
``AzureKeyVaultKms.enabled``: "The default is false") and of the AKS REST specification
(Azure/azure-rest-api-specs ``specification/containerservice/.../stable/2025-10-01``); the
Defender pricing shape is the 2024-01-01 ``ListPricings_example.json`` of
``specification/security/resource-manager/Microsoft.Security/stable/2024-01-01/``, where
``isEnabled`` is the string ``"True"`` or ``"False"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.core import azure_rbac as rbac
from shared.core.controls import Outcome, Recommendation, Scope
from shared.core.controls.arm import (
    Field,
    lookup,
    read_bool,
    read_object,
    read_objects,
    read_str,
    read_str_list,
)
from shared.core.errors import FieldTypeError
from shared.core.facts import (
    DEFENDER_PRICING,
    DIAGNOSTIC_SETTINGS,
    MANAGED_CLUSTER,
    REGISTRIES,
    ROLE_ASSIGNMENTS,
    ROLE_DEFINITIONS,
)
from shared.core.model import NO_EVIDENCE, Evidence, EvidenceValue, Policy, Status

# -- helpers -------------------------------------------------------------------------------


def _properties(facts: Mapping[str, Any]) -> Mapping[str, Any]:
    cluster = facts[MANAGED_CLUSTER]
    if not isinstance(cluster, Mapping):
        raise FieldTypeError("managedCluster", "an object", cluster)
    return read_object(cluster, "properties")


def _values(*fields: Field) -> tuple[tuple[str, EvidenceValue], ...]:
    return tuple((f.path, f.value if f.present else None) for f in fields)


def _outcome(
    ok: bool, actual: str, expected: str, reason: str, evidence: Evidence = NO_EVIDENCE
) -> Outcome:
    return Outcome(Status.PASS if ok else Status.FAIL, actual, expected, reason, evidence)


def _named(items: list[str], noun: str) -> str:
    shown = ", ".join(sorted(items)[:5])
    more = f" and {len(items) - 5} more" if len(items) > 5 else ""
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'} ({shown}{more})"


# -- 2.1.1 audit logs ----------------------------------------------------------------------

AUDIT_CATEGORIES = frozenset({"kube-audit", "kube-audit-admin"})
_DESTINATIONS = (
    "workspaceId",
    "storageAccountId",
    "eventHubAuthorizationRuleId",
    "marketplacePartnerId",
)


def check_audit_logs(facts: Mapping[str, Any], _: Policy) -> Outcome:
    """A diagnostic setting on the cluster sends ``kube-audit`` or ``kube-audit-admin``.

    PASS when at least one setting with a destination (workspace, storage account, event hub or
    partner) enables the category ``kube-audit`` or ``kube-audit-admin``, or the category group
    ``allLogs`` (every category). A setting that enables only the ``audit`` category group is
    MANUAL: whether AKS puts its audit categories in that group was not verified, so the scanner
    does not assume it. No setting, or none that sends audit logs anywhere, is FAIL. The
    settings and what each enables are the evidence.
    """
    settings = facts[DIAGNOSTIC_SETTINGS]
    if not isinstance(settings, list):
        raise FieldTypeError("diagnosticSettings", "a list of objects", settings)
    sending: list[str] = []
    audit_group: list[str] = []
    described: list[str] = []
    for index, setting in enumerate(settings):
        if not isinstance(setting, Mapping):
            raise FieldTypeError(f"diagnosticSettings[{index}]", "an object", setting)
        name = str(setting.get("name") or f"#{index}")
        props = read_object(setting, "properties")
        destination = any(read_str(props, d, "").value for d in _DESTINATIONS)
        enabled: list[str] = []
        for entry in read_objects(props, "logs"):
            on = read_bool(entry, "enabled", False).value
            category = read_str(entry, "category", "").value
            group = read_str(entry, "categoryGroup", "").value
            if not on or not (category or group):
                continue
            enabled.append(category or f"group:{group}")
            if not destination:
                continue
            if category in AUDIT_CATEGORIES or group.lower() == "alllogs":
                sending.append(name)
            elif group.lower() == "audit":
                audit_group.append(name)
        target = "" if destination else " (no destination)"
        described.append(f"{name}: {', '.join(enabled) or 'no logs enabled'}{target}")
    evidence = Evidence(lists=(("settings", tuple(described)),))
    expected = "a diagnostic setting sending kube-audit or kube-audit-admin"
    if sending:
        return _outcome(
            True,
            f"{len(settings)} settings",
            expected,
            f"audit logs are sent by {_named(sorted(set(sending)), 'diagnostic setting')}",
            evidence,
        )
    if audit_group:
        return Outcome(
            Status.MANUAL,
            f"{len(settings)} settings",
            expected,
            "audit logs are sent only through the 'audit' category group, by "
            f"{_named(sorted(set(audit_group)), 'diagnostic setting')}; confirm in the portal "
            "that it includes kube-audit, or enable kube-audit-admin explicitly",
            evidence,
        )
    if not settings:
        reason = (
            "the cluster has no diagnostic setting, so control plane audit logs are kept nowhere"
        )
    else:
        reason = (
            f"none of the cluster's {len(settings)} diagnostic settings sends kube-audit or "
            "kube-audit-admin to a destination"
        )
    return _outcome(False, f"{len(settings)} settings", expected, reason, evidence)


# -- 3.1.x worker node files ---------------------------------------------------------------

NODE_FILES_REASON = (
    "File ownership and permissions on the node are not visible through any API (ARM or "
    "Kubernetes), and AKS manages {file} on its node images, so the scanner cannot judge this. "
    "To audit: on one node per pool (kubectl debug node/<node> -it "
    "--image=mcr.microsoft.com/azurelinux/busybox:1.36 -- chroot /host stat -c '%a %U:%G' {path}) "
    "expect {want}; attach that output with the pool's node image version (Evidence)."
)


def node_files_check(file: str, path: str, want: str) -> Any:
    """A check that is always MANUAL for one node file, with how to audit it by hand."""

    def check(facts: Mapping[str, Any], _: Policy) -> Outcome:
        pools = read_objects(_properties(facts), "agentPoolProfiles")
        images = []
        for index, pool in enumerate(pools):
            name = read_str(pool, "name", f"#{index}").value
            image = read_str(pool, "nodeImageVersion", "").value
            images.append(f"{name}: {image or '(no node image version)'}")
        reason = NODE_FILES_REASON.format(file=file, path=path, want=want)
        return Outcome(
            Status.MANUAL,
            "(not visible through an API)",
            want,
            reason,
            Evidence(lists=(("nodeImages", tuple(images)),)),
        )

    check.__doc__ = (
        f"{file} ({path}) must be {want}: always MANUAL. No API shows file ownership or "
        "permissions on a node and AKS manages the file, so the row says how to check it on "
        "one node per pool and carries each pool's node image version as the evidence to give "
        "an auditor."
    )
    return check


# -- 5.1.1 image scanning ------------------------------------------------------------------

VA_EXTENSION = "ContainerRegistriesVulnerabilityAssessments"


def _enabled_text(value: Any, where: str) -> bool:
    if not isinstance(value, str) or value.lower() not in ("true", "false"):
        raise FieldTypeError(where, 'the string "True" or "False"', value)
    return value.lower() == "true"


def check_image_scanning(facts: Mapping[str, Any], policy: Policy) -> Outcome:
    """Defender for Containers is on for the cluster's subscription with vulnerability assessment.

    PASS when the subscription's ``Containers`` pricing has ``pricingTier`` ``Standard`` and its
    extension ``ContainerRegistriesVulnerabilityAssessments`` has ``isEnabled`` ``"True"``.
    Otherwise FAIL, unless the policy file declares a third-party image scanner
    (``imageScanning.thirdParty``): then MANUAL, since the scanner cannot see that tool. The
    cluster's own Defender sensor (``securityProfile.defender.securityMonitoring.enabled``) is
    evidence only. A missing ``pricingTier`` is treated as ``Free``.
    """
    pricing = facts[DEFENDER_PRICING]
    if not isinstance(pricing, Mapping):
        raise FieldTypeError("defenderPricing", "an object", pricing)
    props = read_object(pricing, "properties")
    tier = read_str(props, "pricingTier", "Free")
    va_on = False
    for index, extension in enumerate(read_objects(props, "extensions")):
        if read_str(extension, "name", "").value.lower() == VA_EXTENSION.lower():
            va_on = _enabled_text(extension.get("isEnabled"), f"extensions[{index}].isEnabled")
    sensor = read_bool(
        _properties(facts), "securityProfile.defender.securityMonitoring.enabled", False
    )
    evidence = Evidence(
        values=(
            ("pricingTier", tier.value),
            (VA_EXTENSION, va_on),
            (sensor.path, sensor.value if sensor.present else None),
        )
    )
    actual = f"pricingTier={tier.value}; {VA_EXTENSION}={'on' if va_on else 'off'}"
    expected = f"Containers plan Standard with {VA_EXTENSION} on"
    if tier.value.lower() == "standard" and va_on:
        return _outcome(
            True,
            actual,
            expected,
            f"Defender for Containers: {tier.describe()}, vulnerability assessment on",
            evidence,
        )
    why = (
        f"Defender for Containers is not on ({tier.describe()})"
        if tier.value.lower() != "standard"
        else f"the Containers plan is Standard but {VA_EXTENSION} is off"
    )
    if policy.third_party_image_scanning:
        return Outcome(
            Status.MANUAL,
            actual,
            expected,
            f"{why}; the policy declares a third-party scanner "
            f"({policy.third_party_image_scanning}): confirm it scans this cluster's images",
            evidence,
        )
    return _outcome(
        False, actual, expected, f"{why}: images are not scanned for vulnerabilities", evidence
    )


# -- 5.1.2 .. 5.1.4 registries -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegistryAccess:
    """What the cluster's kubelet identity reaches, and who may write there."""

    kubelet: str  # object id, lower case ("" when the cluster has no managed kubelet identity)
    registries: tuple[Mapping[str, Any], ...]  # registries the kubelet identity can pull from
    unseen: tuple[str, ...]  # registry scopes of its roles that the scan cannot see
    kubelet_roles: tuple[tuple[rbac.Assignment, Mapping[str, Any] | None], ...]


def _kubelet(props: Mapping[str, Any]) -> str:
    value, present = lookup(props, "identityProfile.kubeletidentity.objectId")
    if not present:
        return ""
    if not isinstance(value, str):
        raise FieldTypeError("identityProfile.kubeletidentity.objectId", "a string", value)
    return value.lower()


def _registries(facts: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    rows = facts[REGISTRIES]
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise FieldTypeError("registries", "a list of objects", rows)
    return rows


def _definitions(facts: Mapping[str, Any]) -> Mapping[str, Any]:
    definitions = facts[ROLE_DEFINITIONS]
    if not isinstance(definitions, Mapping):
        raise FieldTypeError("roleDefinitions", "an object", definitions)
    return definitions


def registry_access(facts: Mapping[str, Any]) -> RegistryAccess:
    """The registries the cluster's kubelet identity holds a role on, and those roles."""
    props = _properties(facts)
    kubelet = _kubelet(props)
    rows = facts[ROLE_ASSIGNMENTS]
    if not isinstance(rows, list):
        raise FieldTypeError("roleAssignments", "a list of objects", rows)
    registries = _registries(facts)
    ids = {str(r.get("id", "")).lower(): r for r in registries}
    reached: dict[str, Mapping[str, Any]] = {}
    unseen: set[str] = set()
    roles: list[tuple[rbac.Assignment, Mapping[str, Any] | None]] = []
    definitions = facts.get(ROLE_DEFINITIONS)
    for assignment in rbac.assignments(rows):
        if not kubelet or assignment.principal_id != kubelet:
            continue
        covered = [rid for rid in ids if rbac.covers(assignment.scope, rid)]
        if rbac.is_registry_scope(assignment.scope) and not covered:
            unseen.add(rbac.registry_of(assignment.scope))
        if not covered and not rbac.is_registry_scope(assignment.scope):
            continue  # a role where no registry is: not about registries
        for rid in covered:
            reached[rid] = ids[rid]
        definition = (
            definitions.get(assignment.role_id) if isinstance(definitions, Mapping) else None
        )
        roles.append((assignment, definition if isinstance(definition, Mapping) else None))
    return RegistryAccess(
        kubelet,
        tuple(reached[k] for k in sorted(reached)),
        tuple(sorted(unseen)),
        tuple(roles),
    )


def _login(registry: Mapping[str, Any]) -> str:
    props = read_object(registry, "properties")
    server = read_str(props, "loginServer", "").value
    return (server or str(registry.get("name") or registry.get("id") or "?")).lower()


def _no_kubelet(props: Mapping[str, Any], control: str) -> Outcome:
    client, _ = lookup(props, "servicePrincipalProfile.clientId")
    return Outcome(
        Status.MANUAL,
        "(no kubelet managed identity)",
        "only read roles on registries" if control == "5.1.3" else "reviewed registry access",
        "the cluster has no managed kubelet identity (identityProfile.kubeletidentity is "
        f"absent; servicePrincipalProfile.clientId is {client!r}): a service principal's roles "
        "are not in the cluster object, so check its roles on your registries by hand",
        Evidence(values=(("servicePrincipalProfile.clientId", str(client) if client else None),)),
    )


_NO_REGISTRY = (
    "the kubelet identity {kubelet} holds no role on any registry the scan can see, so the "
    "cluster pulls from no Azure Container Registry with its identity (or the scanner may not "
    "read those role assignments: Microsoft.Authorization/roleAssignments/read); registries "
    "reached with image pull secrets are not visible here"
)


def _unseen(access: RegistryAccess, expected: str) -> Outcome:
    return Outcome(
        Status.ERROR,
        "",
        expected,
        "the kubelet identity holds roles on registries the scan cannot see: "
        f"{_named(list(access.unseen), 'registry')}; grant Microsoft.ContainerRegistry/registries/read there",
        Evidence(lists=(("unseenRegistries", access.unseen),)),
    )


def _write_principals(
    facts: Mapping[str, Any], access: RegistryAccess
) -> tuple[tuple[str, ...], str]:
    """``"<object id> (<type>): <roles>"`` for each principal with a write role on the registries.

    The second item is the reason they could not all be judged ("" when they could).
    """
    definitions = _definitions(facts)
    writers: dict[str, set[str]] = {}
    for assignment in rbac.assignments(facts[ROLE_ASSIGNMENTS]):
        if not any(rbac.covers(assignment.scope, str(r.get("id", ""))) for r in access.registries):
            continue
        definition = definitions.get(assignment.role_id)
        if not isinstance(definition, Mapping):
            return (), (
                f"the role definition {assignment.role_id} of an assignment at "
                f"{assignment.scope} was not read: grant Microsoft.Authorization/roleDefinitions/read"
            )
        if rbac.writes_registry(definition, f"roleDefinitions[{assignment.role_id}]"):
            label = f"{assignment.principal_id} ({assignment.principal_type or 'unknown type'})"
            writers.setdefault(label, set()).add(rbac.role_name(definition))
    return tuple(f"{who}: {', '.join(sorted(roles))}" for who, roles in sorted(writers.items())), ""


def check_acr_user_access(facts: Mapping[str, Any], policy: Policy) -> Outcome:
    """The cluster's registries keep the admin user off; who may write there is judged by policy.

    The cluster's registries are those its kubelet identity holds a role on. FAIL when any has
    ``adminUserEnabled`` true (a shared user name and password with push rights). Otherwise the
    principals holding a role that writes to those registries (see shared.core.rbac) are the
    evidence: with ``registries.writePrincipals`` in the policy file the row is PASS when all of
    them are listed there and FAIL naming the others; without it the row is MANUAL, since CIS
    leaves who may write to a judgement. No registry reached: MANUAL, saying why.
    """
    expected = "admin user off; write roles only for approved principals"
    access = registry_access(facts)
    early = _registry_preconditions(facts, access, "5.1.2", expected)
    if early is not None:
        return early
    admin = [
        _login(r)
        for r in access.registries
        if read_bool(read_object(r, "properties"), "adminUserEnabled", False).value
    ]
    principals, unread = _write_principals(facts, access)
    if unread:
        return Outcome(Status.ERROR, "", expected, unread)
    logins = tuple(sorted(_login(r) for r in access.registries))
    if admin:
        return _outcome(
            False,
            f"adminUserEnabled on {len(admin)} of {len(logins)}",
            expected,
            f"the admin user is enabled on {_named(admin, 'registry')}: anyone with its "
            "password can push and pull; turn it off (az acr update --admin-enabled false)",
            Evidence(
                lists=(
                    ("adminUserRegistries", tuple(admin)),
                    ("registries", logins),
                    ("writePrincipals", principals),
                )
            ),
        )
    return _judge_writers(principals, logins, policy, expected)


def _judge_writers(
    principals: tuple[str, ...], logins: tuple[str, ...], policy: Policy, expected: str
) -> Outcome:
    evidence = Evidence(lists=(("writePrincipals", principals), ("registries", logins)))
    actual = f"{len(principals)} principals with write roles"
    if policy.acr_write_principals is None:
        return Outcome(
            Status.MANUAL,
            actual,
            expected,
            f"the admin user is off on {_named(list(logins), 'registry')}; "
            f"{len(principals)} principals hold write roles there: review them, or list the "
            "approved ones in the policy file (registries.writePrincipals)",
            evidence,
        )
    others = [p for p in principals if p.split(" ", 1)[0] not in policy.acr_write_principals]
    if others:
        return _outcome(
            False,
            actual,
            expected,
            "principals with write roles on the cluster's registries that are not in the "
            f"policy's registries.writePrincipals: {_named([o.split(' ', 1)[0] for o in others], 'principal')}",
            Evidence(lists=(("unapprovedWritePrincipals", tuple(others)), ("registries", logins))),
        )
    return _outcome(
        True,
        actual,
        expected,
        f"the admin user is off and every principal with write roles on "
        f"{_named(list(logins), 'registry')} is approved by the policy",
        evidence,
    )


def _registry_preconditions(
    facts: Mapping[str, Any], access: RegistryAccess, control: str, expected: str
) -> Outcome | None:
    """The outcome when there is nothing to judge: no kubelet identity, unseen or no registries."""
    if not access.kubelet:
        return _no_kubelet(_properties(facts), control)
    if access.unseen:
        return _unseen(access, expected)
    if not access.registries:
        return Outcome(
            Status.MANUAL,
            "no registry",
            expected,
            _NO_REGISTRY.format(kubelet=access.kubelet),
            Evidence(values=(("identityProfile.kubeletidentity.objectId", access.kubelet),)),
        )
    return None


def check_acr_read_only(facts: Mapping[str, Any], _: Policy) -> Outcome:
    """The cluster's kubelet identity holds only read roles on container registries.

    Every role assignment of ``identityProfile.kubeletidentity.objectId`` whose scope covers a
    registry (or is one) is judged by its role definition (shared.core.rbac): PASS when none of
    those roles writes, FAIL naming the ones that do (Owner, Contributor, AcrPush...). No such
    assignment, or a cluster with a service principal instead of a managed kubelet identity, is
    MANUAL with the reason: there is nothing the scanner can judge.
    """
    expected = "only read roles (AcrPull) on registries"
    props = _properties(facts)
    access = registry_access(facts)
    if not access.kubelet:
        return _no_kubelet(props, "5.1.3")
    if not access.kubelet_roles:
        return Outcome(
            Status.MANUAL,
            "no registry role",
            expected,
            _NO_REGISTRY.format(kubelet=access.kubelet),
            Evidence(values=(("identityProfile.kubeletidentity.objectId", access.kubelet),)),
        )
    writing: list[str] = []
    held: list[str] = []
    for assignment, definition in access.kubelet_roles:
        if definition is None:
            return Outcome(
                Status.ERROR,
                "",
                expected,
                f"the role definition {assignment.role_id} of the kubelet identity's assignment "
                f"at {assignment.scope} was not read: grant Microsoft.Authorization/roleDefinitions/read",
            )
        label = f"{rbac.role_name(definition)} at {assignment.scope}"
        held.append(label)
        if rbac.writes_registry(definition, f"roleDefinitions[{assignment.role_id}]"):
            writing.append(label)
    values = (("identityProfile.kubeletidentity.objectId", access.kubelet),)
    if writing:
        return _outcome(
            False,
            f"{len(writing)} write roles",
            expected,
            f"the kubelet identity holds roles that can change registries: {_named(writing, 'role')}; "
            "replace them with AcrPull (az aks update --attach-acr)",
            Evidence(values=values, lists=(("writeRoles", tuple(writing)), ("roles", tuple(held)))),
        )
    return _outcome(
        True,
        f"{len(held)} read roles",
        expected,
        f"the kubelet identity holds only read roles on registries ({_named(held, 'role')})",
        Evidence(values=values, lists=(("roles", tuple(held)),)),
    )


# -- 5.2.1, 5.4.5: need the Kubernetes API ---------------------------------------------------


def manual_only(reason: str, expected: str) -> Any:
    """A check for a recommendation that only people can judge (CIS AKS 1.0-1.4 5.6.x)."""

    def check(_facts: Mapping[str, Any], _policy: Policy) -> Outcome:
        return Outcome(Status.MANUAL, "(a judgement)", expected, reason)

    check.__doc__ = f"Always MANUAL: {reason}"
    return check


# -- 5.3.1 KMS -----------------------------------------------------------------------------


def check_secrets_kms(facts: Mapping[str, Any], _: Policy) -> Outcome:
    """Secrets are encrypted with a customer key: ``securityProfile.azureKeyVaultKms.enabled``.

    PASS when true; absent means false (FAIL): etcd is then encrypted at rest with
    platform-managed keys only. The key vault's network access is evidence.
    """
    props = _properties(facts)
    kms = read_bool(props, "securityProfile.azureKeyVaultKms.enabled", False)
    access = read_str(props, "securityProfile.azureKeyVaultKms.keyVaultNetworkAccess", "Public")
    evidence = Evidence(values=_values(kms, access))
    if kms.value:
        return _outcome(
            True, kms.show(), "true", f"{kms.describe()} ({access.describe()})", evidence
        )
    return _outcome(
        False,
        kms.show(),
        "true",
        f"{kms.describe()}: Kubernetes secrets are encrypted only with platform-managed keys; "
        "enable KMS with an Azure Key Vault key (az aks update --enable-azure-keyvault-kms)",
        evidence,
    )


# -- 5.4.x networking ----------------------------------------------------------------------

OPEN_RANGES = frozenset({"0.0.0.0/0", "::/0"})


def check_endpoint_restricted(facts: Mapping[str, Any], _: Policy) -> Outcome:
    """The control plane endpoint is restricted: private, or authorized ranges without the world.

    PASS when ``apiServerAccessProfile.enablePrivateCluster`` is true (a private cluster passes
    without ranges, which AKS does not support there), or when
    ``apiServerAccessProfile.authorizedIPRanges`` is non-empty and holds neither ``0.0.0.0/0``
    nor ``::/0``. Absent ranges on a public cluster: anyone may reach the API server (FAIL).
    """
    props = _properties(facts)
    private = read_bool(props, "apiServerAccessProfile.enablePrivateCluster", False)
    ranges = read_str_list(props, "apiServerAccessProfile.authorizedIPRanges")
    public_access = read_str(props, "publicNetworkAccess", "Enabled")
    evidence = Evidence(values=_values(private, ranges, public_access))
    expected = "private, or authorizedIPRanges without 0.0.0.0/0"
    actual = f"enablePrivateCluster={private.show()}; authorizedIPRanges={ranges.show()}"
    if private.value:
        return _outcome(
            True,
            actual,
            expected,
            f"{private.describe()}: the API server has only a private address",
            evidence,
        )
    open_ranges = sorted(r for r in ranges.value if r.strip() in OPEN_RANGES)
    if open_ranges:
        return _outcome(
            False,
            actual,
            expected,
            f"{ranges.path} includes {', '.join(open_ranges)}: every address may reach the API server",
            evidence,
        )
    if not ranges.value:
        return _outcome(
            False,
            actual,
            expected,
            f"{private.describe()} and {ranges.describe()}: the public API server accepts any "
            "address; set authorized IP ranges (az aks update --api-server-authorized-ip-ranges)",
            evidence,
        )
    return _outcome(
        True,
        actual,
        expected,
        f"{ranges.path} limits the public API server to {len(ranges.value)} ranges",
        evidence,
    )


def check_private_endpoint(facts: Mapping[str, Any], _: Policy) -> Outcome:
    """Private endpoint on and no public FQDN: a private cluster without ``enablePrivateClusterPublicFQDN``.

    PASS when ``apiServerAccessProfile.enablePrivateCluster`` is true and
    ``apiServerAccessProfile.enablePrivateClusterPublicFQDN`` is not (absent means false). A
    public cluster, or a private one that also publishes a public FQDN, is FAIL.
    """
    props = _properties(facts)
    private = read_bool(props, "apiServerAccessProfile.enablePrivateCluster", False)
    fqdn = read_bool(props, "apiServerAccessProfile.enablePrivateClusterPublicFQDN", False)
    public_access = read_str(props, "publicNetworkAccess", "Enabled")
    evidence = Evidence(values=_values(private, fqdn, public_access))
    actual = f"enablePrivateCluster={private.show()}; enablePrivateClusterPublicFQDN={fqdn.show()}"
    expected = "enablePrivateCluster true, enablePrivateClusterPublicFQDN not true"
    if not private.value:
        return _outcome(
            False,
            actual,
            expected,
            f"{private.describe()}: the API server has a public endpoint (a private cluster must be created as one)",
            evidence,
        )
    if fqdn.value:
        return _outcome(
            False,
            actual,
            expected,
            f"{fqdn.describe()}: the private cluster also publishes a public FQDN (az aks update --disable-public-fqdn)",
            evidence,
        )
    return _outcome(True, actual, expected, f"{private.describe()}; {fqdn.describe()}", evidence)


def check_private_nodes(facts: Mapping[str, Any], _: Policy) -> Outcome:
    """Private nodes, as CIS audits it: ``apiServerAccessProfile.enablePrivateCluster`` is true.

    PASS when true, FAIL otherwise (absent means false). Node pools whose
    ``enableNodePublicIP`` is true (absent means false) are the evidence, and the reason names
    them whatever the verdict.
    """
    props = _properties(facts)
    private = read_bool(props, "apiServerAccessProfile.enablePrivateCluster", False)
    public_pools: list[str] = []
    for index, pool in enumerate(read_objects(props, "agentPoolProfiles")):
        if read_bool(pool, "enableNodePublicIP", False).value:
            public_pools.append(read_str(pool, "name", f"#{index}").value)
    evidence = Evidence(
        values=_values(private), lists=(("poolsWithNodePublicIP", tuple(public_pools)),)
    )
    tail = (
        f"; node pools giving nodes public IPs (enableNodePublicIP): {_named(public_pools, 'node pool')}"
        if public_pools
        else "; no node pool gives nodes public IPs"
    )
    actual = f"enablePrivateCluster={private.show()}; pools with public IPs={len(public_pools)}"
    return _outcome(
        bool(private.value),
        actual,
        "enablePrivateCluster true",
        private.describe() + tail,
        evidence,
    )


NETWORK_POLICIES = frozenset({"azure", "calico", "cilium"})


def check_network_policy(facts: Mapping[str, Any], _: Policy) -> Outcome:
    """Network policy is enforced: ``networkProfile.networkPolicy`` is ``azure``, ``calico`` or ``cilium``.

    Absent means ``none`` (no enforcement: FAIL), and ``none`` itself is FAIL too (a truthy
    string is not an enabled policy). The plugin and dataplane are evidence.
    """
    props = _properties(facts)
    policy = read_str(props, "networkProfile.networkPolicy", "none")
    plugin = read_str(props, "networkProfile.networkPlugin", "")
    dataplane = read_str(props, "networkProfile.networkDataplane", "")
    evidence = Evidence(values=_values(policy, plugin, dataplane))
    ok = policy.value.lower() in NETWORK_POLICIES
    reason = policy.describe()
    if not ok:
        reason += ": NetworkPolicy objects are not enforced; choose azure, calico or cilium"
    return _outcome(ok, policy.show(), "azure, calico or cilium", reason, evidence)


# -- 5.5.x identity ------------------------------------------------------------------------


def check_entra_rbac(facts: Mapping[str, Any], _: Policy) -> Outcome:
    """Kubernetes RBAC users come from Entra ID: AKS-managed Entra ID integration with RBAC.

    PASS when ``aadProfile.managed`` is true and ``enableRBAC`` is not false (absent: AKS-managed
    Entra ID needs Kubernetes RBAC), or when the legacy integration (``aadProfile.serverAppID``)
    is set and ``enableRBAC`` is true. No ``aadProfile``: FAIL. Local accounts
    (``disableLocalAccounts``, absent means false) are evidence: while they stay on, the
    cluster-admin kubeconfig bypasses Entra ID.
    """
    props = _properties(facts)
    aad = read_object(props, "aadProfile")
    managed = read_bool(props, "aadProfile.managed", False)
    legacy = read_str(props, "aadProfile.serverAppID", "")
    rbac_on = read_bool(props, "enableRBAC", True)
    local_off = read_bool(props, "disableLocalAccounts", False)
    admins = read_str_list(props, "aadProfile.adminGroupObjectIDs")
    evidence = Evidence(
        values=_values(managed, rbac_on, local_off), lists=(("adminGroupObjectIDs", admins.value),)
    )
    local = (
        "local accounts are disabled"
        if local_off.value
        else "local accounts stay enabled (disableLocalAccounts is not true), so the admin kubeconfig bypasses Entra ID"
    )
    actual = f"aadProfile.managed={managed.show()}; enableRBAC={rbac_on.show()}; disableLocalAccounts={local_off.show()}"
    expected = "Entra ID integration with Kubernetes RBAC"
    if not aad:
        return _outcome(
            False,
            actual,
            expected,
            "aadProfile is absent: the cluster has no Entra ID integration; enable AKS-managed Entra ID (az aks update --enable-aad)",
            evidence,
        )
    if rbac_on.value is False:
        return _outcome(
            False, actual, expected, f"{rbac_on.describe()}: Kubernetes RBAC is off", evidence
        )
    if managed.value:
        return _outcome(
            True, actual, expected, f"AKS-managed Entra ID integration; {local}", evidence
        )
    if legacy.value and rbac_on.present:
        return _outcome(
            True,
            actual,
            expected,
            f"legacy Entra ID integration (aadProfile.serverAppID is set; migrate to AKS-managed Entra ID); {local}",
            evidence,
        )
    return _outcome(
        False,
        actual,
        expected,
        "aadProfile is set but neither managed nor a legacy integration with enableRBAC true",
        evidence,
    )


def check_azure_rbac(facts: Mapping[str, Any], _: Policy) -> Outcome:
    """Azure RBAC authorizes Kubernetes requests: ``aadProfile.enableAzureRBAC`` is true.

    Absent means false (FAIL); a cluster without ``aadProfile`` cannot use it (FAIL).
    """
    props = _properties(facts)
    azure = read_bool(props, "aadProfile.enableAzureRBAC", False)
    evidence = Evidence(values=_values(azure))
    reason = azure.describe()
    if not azure.value:
        reason += ": Kubernetes authorization uses only Kubernetes RBAC; enable Azure RBAC (az aks update --enable-azure-rbac)"
    return _outcome(bool(azure.value), azure.show(), "true", reason, evidence)


# -- the recommendations ---------------------------------------------------------------------

_MC = (MANAGED_CLUSTER,)
_ACR = (MANAGED_CLUSTER, REGISTRIES, ROLE_ASSIGNMENTS, ROLE_DEFINITIONS)
_LEARN = "https://learn.microsoft.com/azure/aks/"


def _rec(
    check: Any, reads: tuple[str, ...], expected: str, remediation: str, *links: str
) -> Recommendation:
    return Recommendation(
        paths=(),
        expected=expected,
        remediation=remediation,
        check=check,
        scope=Scope.CLUSTER,
        reads=reads,
        links=links,
    )


AUDIT_LOGS = _rec(
    check_audit_logs,
    (DIAGNOSTIC_SETTINGS,),
    "a diagnostic setting sending kube-audit or kube-audit-admin",
    "Add a diagnostic setting on the cluster that sends kube-audit-admin (or kube-audit, which "
    "also has get and list) to a Log Analytics workspace, storage account or event hub "
    "(az monitor diagnostic-settings create --resource <cluster id> --logs "
    '\'[{"category":"kube-audit-admin","enabled":true}]\' --workspace <workspace id>).',
    _LEARN + "monitor-aks",
)
_NODE_FILES = "AKS builds these files on its node images; nothing to change on a node. Keep node images current (az aks nodepool upgrade --node-image-only) and record the check's output for the auditor."


def _node_files(file: str, path: str, want: str, expected: str) -> Recommendation:
    return _rec(
        node_files_check(file, path, want), _MC, expected, _NODE_FILES, _LEARN + "node-access"
    )


_PERMISSIONS, _OWNER = "permissions 644 or more restrictive", "owned by root:root"
_KUBECONFIG, _AZURE_JSON = "/var/lib/kubelet/kubeconfig", "/etc/kubernetes/azure.json"
_KUBELET_CONFIG = "<the file the kubelet's --config flag names (ps -o args= -C kubelet)>"
KUBECONFIG_PERMISSIONS = _node_files(
    "the kubelet kubeconfig", _KUBECONFIG, _PERMISSIONS, "644 or more restrictive"
)
KUBECONFIG_OWNERSHIP = _node_files("the kubelet kubeconfig", _KUBECONFIG, _OWNER, "root:root")
AZURE_JSON_PERMISSIONS = _node_files(
    "azure.json", _AZURE_JSON, _PERMISSIONS, "644 or more restrictive"
)
AZURE_JSON_OWNERSHIP = _node_files("azure.json", _AZURE_JSON, _OWNER, "root:root")
KUBELET_CONFIG_PERMISSIONS = _node_files(
    "the kubelet configuration file", _KUBELET_CONFIG, _PERMISSIONS, "644 or more restrictive"
)
KUBELET_CONFIG_OWNERSHIP = _node_files(
    "the kubelet configuration file", _KUBELET_CONFIG, _OWNER, "root:root"
)
IMAGE_SCANNING = _rec(
    check_image_scanning,
    (MANAGED_CLUSTER, DEFENDER_PRICING),
    "Containers plan Standard with vulnerability assessment",
    "Enable Microsoft Defender for Containers with its vulnerability assessment in the "
    "subscription (az security pricing create --name Containers --tier Standard --extensions "
    "name=ContainerRegistriesVulnerabilityAssessments isEnabled=True); with another scanner, "
    "declare it in the policy file (imageScanning.thirdParty).",
    "https://learn.microsoft.com/azure/defender-for-cloud/defender-for-containers-introduction",
)
ACR_USER_ACCESS = _rec(
    check_acr_user_access,
    _ACR,
    "admin user off; write roles only for approved principals",
    "Turn the registry admin user off (az acr update --admin-enabled false), grant people and "
    "pipelines the narrowest registry role (AcrPull, AcrPush), and list the principals allowed "
    "to write in the policy file (registries.writePrincipals).",
    "https://learn.microsoft.com/azure/container-registry/container-registry-roles",
)
ACR_READ_ONLY = _rec(
    check_acr_read_only,
    _ACR,
    "only read roles (AcrPull) on registries",
    "Give the kubelet identity AcrPull only (az aks update --attach-acr <registry>) and remove "
    "its other roles on registries and on their resource groups and subscriptions.",
    _LEARN + "cluster-container-registry-integration",
)
SECRETS_KMS = _rec(
    check_secrets_kms,
    _MC,
    "true",
    "Enable KMS etcd encryption with a key in Azure Key Vault (az aks update "
    "--enable-azure-keyvault-kms --azure-keyvault-kms-key-id <key id>).",
    _LEARN + "use-kms-etcd-encryption",
)
ENDPOINT_RESTRICTED = _rec(
    check_endpoint_restricted,
    _MC,
    "private, or authorizedIPRanges without 0.0.0.0/0",
    "Restrict the API server: authorized IP ranges for a public cluster (az aks update "
    "--api-server-authorized-ip-ranges <cidrs>), or a private cluster.",
    _LEARN + "api-server-authorized-ip-ranges",
)
PRIVATE_ENDPOINT = _rec(
    check_private_endpoint,
    _MC,
    "enablePrivateCluster true, enablePrivateClusterPublicFQDN not true",
    "Create the cluster as a private cluster (a public cluster cannot be converted) and drop "
    "its public FQDN (az aks update --disable-public-fqdn).",
    _LEARN + "private-clusters",
)
PRIVATE_NODES = _rec(
    check_private_nodes,
    _MC,
    "enablePrivateCluster true",
    "Create the cluster as a private cluster, and create node pools without "
    "--enable-node-public-ip (moving workloads off pools that have it).",
    _LEARN + "private-clusters",
)
NETWORK_POLICY = _rec(
    check_network_policy,
    _MC,
    "azure, calico or cilium",
    "Enable a network policy engine (az aks update --network-policy azure|calico|cilium) and "
    "define NetworkPolicy objects per namespace.",
    _LEARN + "use-network-policies",
)
ENTRA_RBAC = _rec(
    check_entra_rbac,
    _MC,
    "Entra ID integration with Kubernetes RBAC",
    "Enable AKS-managed Microsoft Entra ID integration (az aks update --enable-aad "
    "--aad-admin-group-object-ids <group>) and disable local accounts (--disable-local-accounts).",
    _LEARN + "enable-authentication-microsoft-entra-id",
)
AZURE_RBAC = _rec(
    check_azure_rbac,
    _MC,
    "true",
    "Enable Azure RBAC for Kubernetes authorization (az aks update --enable-azure-rbac) and "
    "grant the AKS RBAC roles to Entra groups.",
    _LEARN + "manage-azure-rbac",
)
UNTRUSTED_WORKLOADS = _rec(
    manual_only(
        "whether a workload is trusted is a judgement; run untrusted code in separate node "
        "pools or clusters (for example Kata/pod sandboxing) and record the decision",
        "untrusted workloads isolated",
    ),
    (),
    "untrusted workloads isolated",
    "Isolate untrusted workloads (pod sandboxing, separate pools or clusters).",
    _LEARN + "use-pod-sandboxing",
)
HOSTILE_TENANTS = _rec(
    manual_only(
        "hostile multi-tenancy is a judgement; Kubernetes namespaces are not a security boundary "
        "against hostile tenants, so give them separate clusters and record the decision",
        "hostile tenants in separate clusters",
    ),
    (),
    "hostile tenants in separate clusters",
    "Give hostile tenants separate clusters.",
    _LEARN + "operator-best-practices-cluster-isolation",
)
