"""The Kubernetes edge of section 4: the cluster's lists through the lean client, as facts.

``ObjectLists`` is the ``shared.core.k8s_lists.AsyncListReader`` over one session's
``KubeClient``: each list pages with ``limit``/``continue`` (500 a page, as the node list), an expired continue
token restarts the list once, 429 and 5xx are retried with ``Retry-After`` honoured, a 403 is
``ListDeniedError`` naming the missing permission, a 404 ``ListNotServedError`` (an optional CRD
that is not installed) and anything else ``ListFetchError``. Metadata-only lists (the ConfigMaps
of ``default``) ask for ``PartialObjectMetadataList``, so no object body reaches the scanner.

``SessionObjects`` is the pipeline's ``SessionFactReader``: it reads every list of
``k8s_lists.READS`` with at most LIST_CONCURRENCY lists in flight per API server, hands each page
to the section 4 evaluators as it arrives (``shared.core.section4.Section4Scan``) and drops it,
and returns the results as the ``k8s:objects`` read. Only get/list requests are made; Secret
objects are never read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from shared.adapters.kube_api import KubeSession
from shared.adapters.kube_client import Errors, KubeClient
from shared.core import k8s_lists
from shared.core.controls.kubernetes import K8S_OBJECTS, params_for
from shared.core.errors import (
    ApiServerError,
    ApiServerUnreachableError,
    ClusterError,
    ListDeniedError,
    ListError,
    ListFetchError,
    ListNotServedError,
)
from shared.core.facts import Facts, failed
from shared.core.k8s_lists import ListRef, Page
from shared.core.model import Policy
from shared.core.rbac import Subject
from shared.core.section4 import Section4Params, Section4Results, scan_async
from shared.ports import ClusterSession

log = logging.getLogger(__name__)

#: Lists of one cluster read at once (besides its SCAN_CLUSTER_CONCURRENCY configz reads).
LIST_CONCURRENCY = 4
#: A section 4 list page's cap (500 full objects, pods the largest).
LIST_PAGE_MAX_BYTES = 64 * 1024 * 1024
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"


class ObjectLists:
    """``AsyncListReader`` for one API server (see the module docstring)."""

    def __init__(self, client: KubeClient) -> None:
        self._client = client

    async def pages(self, ref: ListRef) -> AsyncIterator[Page]:
        """The pages of ``ref`` in order; a ``ListError`` subclass on failure.

        The next page is fetched while the caller evaluates this one (one page ahead, so at
        most three pages of a list are held: the one evaluated, one waiting, one arriving).
        """

        def refuse(status: int, detail: str) -> Exception | None:
            message = detail or f"HTTP {status}"
            if status == 403:
                return ListDeniedError(message, ref.qualified, ref.permission)
            if status == 404:
                return ListNotServedError(
                    f"{ref.path}: the server could not find the requested resource (404)",
                    ref.qualified,
                )
            return None

        doing = f"listing {ref.qualified}"
        accept = METADATA_ONLY if ref.metadata_only else ""
        # the node list's errors, with this list's page named in a slow-body reason
        errors = Errors(ApiServerError, ApiServerUnreachableError, f"{ref.qualified} list page")
        ahead: asyncio.Queue[Page | ListError | None] = asyncio.Queue(maxsize=1)

        async def fetch() -> None:
            try:
                async for items, restarted in self._client.pages(
                    ref.path, doing, errors, cap=LIST_PAGE_MAX_BYTES, accept=accept, refuse=refuse
                ):
                    await ahead.put(Page(ref, items, restarted))
            except ListError as exc:
                await ahead.put(exc)
            except ClusterError as exc:  # unreachable, TLS, a credential that failed to renew
                await ahead.put(ListFetchError(str(exc), ref.qualified))
            except asyncio.CancelledError:
                raise
            except BaseException:
                await ahead.put(None)  # wakes the reader, which then raises this bug
                raise
            else:
                await ahead.put(None)

        fetcher = asyncio.create_task(fetch(), name=f"list {ref.qualified}")
        try:
            while (page := await ahead.get()) is not None:
                if isinstance(page, ListError):
                    raise page
                yield page
        finally:
            if not fetcher.done():
                fetcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fetcher  # a bug in the fetch raises here


@dataclass(frozen=True, slots=True)
class SessionObjects:
    """Reads section 4's lists through an open session: the scanner's ``session_facts``."""

    policy: Policy
    concurrency: int = LIST_CONCURRENCY

    async def __call__(self, session: ClusterSession, reads: frozenset[str]) -> Facts:
        """The ``k8s:objects`` read of one cluster (what ``reads`` asks for of it)."""
        if K8S_OBJECTS not in reads:
            return Facts()
        if not isinstance(session, KubeSession):
            return failed(
                (K8S_OBJECTS,), "not read: this cluster's session cannot list Kubernetes objects"
            )
        subjects = (Subject("User", session.user),) if session.user else ()
        results = await read_objects(
            ObjectLists(session.client), params_for(self.policy, subjects), self.concurrency
        )
        return Facts({K8S_OBJECTS: results})


async def read_objects(
    reader: k8s_lists.AsyncListReader,
    params: Section4Params,
    concurrency: int = LIST_CONCURRENCY,
) -> Section4Results:
    """Every list of section 4, ``concurrency`` at a time, each page evaluated as it arrives."""
    started = time.perf_counter()
    results = await scan_async(reader, params, concurrency)
    log.debug(
        "section 4 lists: %d objects in %d lists in %.3f s",
        results.objects_read,
        len(results.lists),
        time.perf_counter() - started,
    )
    return results
