"""What a cluster-scoped control reads: named reads, their values, and the reads that failed.

A read is one kind of data the scanner fetches about a cluster. Controls name the reads they
need (``Control.reads``); the pipeline asks an adapter for the union of what the selected
controls need, and hands each control the ``Facts`` of its cluster. A read that failed is a
``ReadFailure`` whose reason names what to grant (or why it was not attempted): every control
that needed it becomes ERROR (or SKIPPED, for a read that cannot exist in this wiring) with that
reason, and the controls that did not need it are judged as usual.

The ARM reads, and what each holds when it succeeded:

======================  =======================================================================
``managedCluster``      the cluster's ARM object (``id``, ``name``, ``properties``...), as
                        discovery received it (Resource Graph row or ARM GET)
``diagnosticSettings``  ``list`` of the cluster's diagnostic settings
                        (``GET {cluster}/providers/Microsoft.Insights/diagnosticSettings``)
``defenderPricing``     the ``Microsoft.Security/pricings/Containers`` object of the cluster's
                        subscription (Resource Graph ``securityresources``)
``registries``          ``list`` of every container registry the scan can see (Resource
                        Graph ``resources``)
``roleAssignments``     ``list`` of the role assignments at management group, subscription,
                        resource group, registry or managed cluster scope (Resource Graph
                        ``authorizationresources``)
``roleDefinitions``     ``dict``: role definition GUID (lower case) -> its ARM object, for
                        every role those assignments use (ARM GET per role)
======================  =======================================================================

Reads named ``k8s:...`` come from the cluster's Kubernetes API: ``k8s:objects`` is section 4's
``Section4Results`` (shared.core.controls.kubernetes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.core.model import Status

MANAGED_CLUSTER = "managedCluster"
DIAGNOSTIC_SETTINGS = "diagnosticSettings"
DEFENDER_PRICING = "defenderPricing"
REGISTRIES = "registries"
ROLE_ASSIGNMENTS = "roleAssignments"
ROLE_DEFINITIONS = "roleDefinitions"

#: Reads from Azure (one Resource Graph query per run, or ARM calls), in the order above.
ARM_READS = (
    MANAGED_CLUSTER,
    DIAGNOSTIC_SETTINGS,
    DEFENDER_PRICING,
    REGISTRIES,
    ROLE_ASSIGNMENTS,
    ROLE_DEFINITIONS,
)


@dataclass(frozen=True, slots=True)
class ReadFailure:
    """A read that returned nothing usable: why, in words an operator can act on."""

    reason: str
    status: Status = Status.ERROR


@dataclass(frozen=True, slots=True)
class Facts:
    """One cluster's reads: ``values`` by read name, ``failures`` for the reads that failed."""

    values: Mapping[str, Any] = field(default_factory=dict)
    failures: Mapping[str, ReadFailure] = field(default_factory=dict)

    def failure_for(self, reads: tuple[str, ...]) -> ReadFailure | None:
        """The first failure among ``reads`` (a read neither given nor failed is a failure too)."""
        for read in reads:
            failure = self.failures.get(read)
            if failure is not None:
                return failure
            if read not in self.values:
                return ReadFailure(f"{read} was not read (the scanner collects no such read)")
        return None


def failed(reads: tuple[str, ...], reason: str, status: Status = Status.ERROR) -> Facts:
    """Facts where every one of ``reads`` failed with the same reason."""
    failure = ReadFailure(reason, status)
    return Facts({}, dict.fromkeys(reads, failure))
