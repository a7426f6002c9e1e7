"""CIS AKS Benchmark section 4 "Policies" with 5.1.4, 5.2.1 and 5.4.5: the control metadata.

One ``PolicyControl`` per recommendation, in benchmark order: the id, the title as CIS words it,
the profile level, Automated or Manual, what the scanner reads, what absence means, whether CIS
asks for a judgement (an allow-list the policy file supplies), and the remediation. The
evaluation itself is ``shared.core.section4``; this table is what rows and docs are built from.

Sources:

* Titles and Automated/Manual: aquasecurity/kube-bench ``cfg/aks-1.8/policies.yaml`` (commit
  0bc354a1cffdab41b59c5d69d5e5ded3bd5bc8f6) and ``cfg/aks-1.8/managedservices.yaml`` (commit
  812e6ae935f5308e6c42a3773d28825ced6abfbd), which transcribe the CIS text; levels and 1.7's
  Automated status from the CyberStrikeus/CyberStrike per-recommendation transcription of CIS
  AKS v1.7.0 and v1.8.0 (third-party; to be checked against the CIS Workbench PDF). Summarised
  in this project's ``shared/reference/cis-aks-sections-4-5.md`` sections 1 and 4.
* 1.7 differs only in section 4.1 (4.1.1-4.1.6, no 4.1.7-4.1.12) and in 4.1.x and 4.2.x being
  Automated there; the other ids, titles and levels are the same.
* 4.4.1's CIS audit is ``az aks show --query networkProfile``: an ARM read, not a Kubernetes list.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class PolicyControl:
    """One CIS recommendation of section 4 (or 5.1.4, 5.2.1, 5.4.5)."""

    id: str
    title: str
    level: int
    automated: bool
    reads: str  # what the scanner reads for it
    absent: str  # what an absent field, or nothing found, means
    judgement: str  # "" or what the allow-list (policy file) decides
    remediation: str


_RBAC = "clusterroles, clusterrolebindings, roles, rolebindings (rbac.authorization.k8s.io/v1)"
_PODS = "pods (v1), all namespaces but the excluded system ones"
_PSA = (
    "Enforce it at admission: label the namespace pod-security.kubernetes.io/enforce=baseline "
    "(or restricted), or assign the Azure Policy for Kubernetes built-in that denies it; then "
    "change the workloads named here."
)
_RBAC_FIX = (
    "Remove the verb or resource from the roles named here, or the bindings that give them to "
    "subjects that do not need it; prefer a Role in one namespace to a ClusterRole."
)

CIS_AKS_18_POLICIES: tuple[PolicyControl, ...] = (
    PolicyControl(
        "4.1.1",
        "Ensure that the cluster-admin role is only used where required",
        1,
        False,
        _RBAC + "; on Azure-RBAC clusters also Azure role assignments at the cluster scope",
        "no binding to cluster-admin besides the defaults: nothing found",
        "subjects allowed to hold cluster-admin",
        "Delete or narrow each ClusterRoleBinding and RoleBinding to cluster-admin named here; "
        "keep system:masters and the AKS-managed bindings; disable local accounts.",
    ),
    PolicyControl(
        "4.1.2",
        "Minimize access to secrets",
        1,
        False,
        _RBAC,
        "no rule granting get, list or watch on secrets: nothing found",
        "subjects allowed to read secrets",
        _RBAC_FIX,
    ),
    PolicyControl(
        "4.1.3",
        "Minimize wildcard use in Roles and ClusterRoles",
        1,
        False,
        _RBAC,
        "no * in verbs, apiGroups or resources of a customer role: nothing found",
        "roles allowed to use wildcards",
        "Replace * with the verbs, groups and resources the role needs.",
    ),
    PolicyControl(
        "4.1.4",
        "Minimize access to create pods",
        1,
        False,
        _RBAC,
        "no rule granting create on pods: nothing found",
        "subjects allowed to create pods",
        _RBAC_FIX,
    ),
    PolicyControl(
        "4.1.5",
        "Ensure that default service accounts are not actively used",
        1,
        False,
        "serviceaccounts, pods, rolebindings and clusterrolebindings",
        "automountServiceAccountToken absent on a default service account means true (found)",
        "",
        "Set automountServiceAccountToken: false on each namespace's default service account, "
        "remove its bindings, and give workloads their own service accounts.",
    ),
    PolicyControl(
        "4.1.6",
        "Ensure that Service Account Tokens are only mounted where necessary",
        1,
        False,
        "pods and serviceaccounts",
        "absent on the pod and its service account means the token is mounted",
        "pods or workloads that need the Kubernetes API",
        "Set automountServiceAccountToken: false in the pod template of each workload that does "
        "not call the Kubernetes API.",
    ),
    PolicyControl(
        "4.1.7",
        "Limit use of the Bind, Impersonate and Escalate permissions in the Kubernetes cluster",
        1,
        False,
        _RBAC,
        "no bind, escalate or impersonate grant besides the defaults: nothing found",
        "subjects allowed to bind, escalate or impersonate",
        _RBAC_FIX,
    ),
    PolicyControl(
        "4.1.8",
        "Minimize access to create Persistent Volumes",
        1,
        False,
        _RBAC,
        "no rule granting create on persistentvolumes: nothing found",
        "subjects allowed to create PersistentVolumes",
        _RBAC_FIX,
    ),
    PolicyControl(
        "4.1.9",
        "Minimize access to the proxy sub-resource of Nodes",
        1,
        False,
        _RBAC,
        "no rule reaching nodes/proxy besides the defaults and the scanner's own get: nothing found",
        "subjects allowed to reach nodes/proxy (the scanner's own get is always allowed)",
        _RBAC_FIX,
    ),
    PolicyControl(
        "4.1.10",
        "Minimize access to the approval sub-resource of CertificateSigningRequests objects",
        1,
        False,
        _RBAC,
        "no update or patch on certificatesigningrequests/approval: nothing found",
        "subjects allowed to approve CSRs",
        _RBAC_FIX,
    ),
    PolicyControl(
        "4.1.11",
        "Minimize access to webhook configuration objects",
        1,
        False,
        _RBAC,
        "no write on validating/mutating webhook configurations: nothing found",
        "subjects allowed to change admission webhooks",
        _RBAC_FIX,
    ),
    PolicyControl(
        "4.1.12",
        "Minimize access to the service account token creation",
        1,
        False,
        _RBAC,
        "no create on serviceaccounts/token: nothing found",
        "subjects allowed to create service account tokens",
        _RBAC_FIX,
    ),
    PolicyControl(
        "4.2.1",
        "Minimize the admission of privileged containers",
        1,
        False,
        _PODS + "; namespace Pod Security labels and admission webhooks as evidence",
        "securityContext.privileged absent means false",
        "",
        _PSA,
    ),
    PolicyControl(
        "4.2.2",
        "Minimize the admission of containers wishing to share the host process ID namespace",
        1,
        False,
        _PODS,
        "hostPID absent means false",
        "",
        _PSA,
    ),
    PolicyControl(
        "4.2.3",
        "Minimize the admission of containers wishing to share the host IPC namespace",
        1,
        False,
        _PODS,
        "hostIPC absent means false",
        "",
        _PSA,
    ),
    PolicyControl(
        "4.2.4",
        "Minimize the admission of containers wishing to share the host network namespace",
        1,
        False,
        _PODS,
        "hostNetwork absent means false",
        "",
        _PSA,
    ),
    PolicyControl(
        "4.2.5",
        "Minimize the admission of containers with allowPrivilegeEscalation",
        1,
        False,
        _PODS,
        "allowPrivilegeEscalation absent is not counted (the CIS audit selects == true); the "
        "number of such containers is noted, and a policy may count them",
        "",
        _PSA + " Set allowPrivilegeEscalation: false in every container.",
    ),
    PolicyControl(
        "4.4.1",
        "Ensure latest CNI version is used",
        1,
        False,
        "ARM networkProfile (networkPlugin, networkPluginMode, networkDataplane, networkPolicy)",
        "the CNI version is managed by AKS and not visible: evidence only",
        "a person confirms the plugin is current",
        "AKS upgrades the CNI with the cluster and node image: keep both on a supported version.",
    ),
    PolicyControl(
        "4.4.2",
        "Ensure that all Namespaces have Network Policies defined",
        2,
        True,
        "namespaces; networkpolicies (networking.k8s.io/v1); Calico and Cilium policies when "
        "their CRDs are installed",
        "a namespace with no policy is found (system, kube-public and kube-node-lease exempt)",
        "",
        "Create at least one NetworkPolicy (a default deny) in each namespace named here.",
    ),
    PolicyControl(
        "4.5.1",
        "Prefer using secrets as files over secrets as environment variables",
        2,
        True,
        "pods and the pod templates of deployments, daemonsets, statefulsets, replicasets, "
        "jobs and cronjobs",
        "no env[].valueFrom.secretKeyRef and no envFrom[].secretRef: nothing found",
        "",
        "Mount the Secret as a volume (or use the Secrets Store CSI driver) instead of env or "
        "envFrom in the workloads named here.",
    ),
    PolicyControl(
        "4.5.2",
        "Consider external secret storage",
        2,
        False,
        "ARM addonProfiles.azureKeyvaultSecretsProvider",
        "addon absent: no evidence of external secret storage",
        "a person confirms the secret store",
        "Enable the Azure Key Vault provider for the Secrets Store CSI driver, or another external store.",
    ),
    PolicyControl(
        "4.6.1",
        "Create administrative boundaries between resources using namespaces",
        1,
        False,
        "namespaces",
        "evidence only",
        "a person confirms the namespaces are boundaries",
        "Create namespaces per team or application and scope RBAC and policies to them.",
    ),
    PolicyControl(
        "4.6.2",
        "Apply Security Context to Your Pods and Containers",
        2,
        False,
        _PODS,
        "a pod securityContext absent or {} is listed (the CIS audit)",
        "a person confirms each pod's security context",
        "Set a pod securityContext (runAsNonRoot, seccompProfile RuntimeDefault) and container "
        "securityContexts in the workloads named here.",
    ),
    PolicyControl(
        "4.6.3",
        "The default namespace should not be used",
        2,
        True,
        "pods, services, configmaps (names only), serviceaccounts, ingresses and workload "
        "controllers in the default namespace",
        "only Service kubernetes, ConfigMap kube-root-ca.crt and ServiceAccount default: nothing found",
        "",
        "Move the objects named here to their own namespaces.",
    ),
    PolicyControl(
        "5.1.4",
        "Minimize Container Registries to only those approved",
        2,
        False,
        _PODS + " (every container's image registry)",
        "no approved registries supplied: the registries in use are the evidence",
        "the approved registries",
        "Allow only approved registries at admission (Azure Policy for Kubernetes) and limit "
        "egress to them.",
    ),
    PolicyControl(
        "5.2.1",
        "Prefer using dedicated AKS Service Accounts",
        1,
        False,
        "rolebindings and clusterrolebindings",
        "no binding to a default service account: nothing found",
        "",
        "Bind roles to dedicated service accounts, not to a namespace's default one.",
    ),
    PolicyControl(
        "5.4.5",
        "Encrypt traffic to HTTPS load balancers with TLS certificates",
        2,
        False,
        "services (type LoadBalancer) and ingresses (spec.tls)",
        "no LoadBalancer Service with a port other than 443 and no Ingress without tls: nothing found",
        "a person confirms each listed port or ingress terminates TLS",
        "Terminate TLS on the ingress (spec.tls) or the load balancer for every HTTPS endpoint.",
    ),
)

#: CIS AKS 1.7.0: 4.1 has 4.1.1-4.1.6 only, and 4.1.x and 4.2.x are Automated there.
CIS_AKS_17_POLICIES: tuple[PolicyControl, ...] = tuple(
    replace(c, automated=True) if c.id.startswith(("4.1.", "4.2.")) else c
    for c in CIS_AKS_18_POLICIES
    if c.id not in {f"4.1.{n}" for n in range(7, 13)}
)

TABLES = {"cis-aks-1.8": CIS_AKS_18_POLICIES, "cis-aks-1.7": CIS_AKS_17_POLICIES}


def policy_control(benchmark: str, control_id: str) -> PolicyControl:
    """One control of a benchmark's section 4 table; KeyError when it has no such id."""
    for control in TABLES[benchmark]:
        if control.id == control_id:
            return control
    raise KeyError(f"{benchmark} has no section 4 control {control_id}")
