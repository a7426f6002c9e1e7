"""A small synchronous ListReader over the kubernetes client, for tests against the simulator.

Not the scanner's reader (the lean async client of issue #15 will be): it exists so the tests can
run the section 4 evaluators against real HTTP answers and hold the simulator and the core to the
same contract (shared.core.k8s_lists).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from kubernetes import client as k8s

from shared.core.errors import ListDeniedError, ListExpiredError, ListFetchError, ListNotServedError
from shared.core.k8s_lists import ListRef, Page

METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


@dataclass
class HttpListReader:
    """Pages of ``limit`` from one API server, with the contract's 410/403/404 handling."""

    api: k8s.ApiClient
    token: str
    limit: int = 3
    requests: list[str] = field(default_factory=list)

    def get(self, ref: ListRef, token: str) -> tuple[int, dict[str, Any]]:
        """One list request: (status, decoded body)."""
        query = {"limit": str(self.limit), **({"continue": token} if token else {})}
        url = f"{self.api.configuration.host}{ref.path}?{urlencode(query)}"
        accept = METADATA_ONLY if ref.metadata_only else "application/json"
        self.requests.append(url)
        response = self.api.call_api(
            "GET", url, header_params={"Authorization": f"Bearer {self.token}", "Accept": accept}
        )
        response.read()
        body: dict[str, Any] = json.loads(response.data) if response.data else {}
        return response.status, body

    def pages(self, ref: ListRef) -> Iterator[Page]:
        """Follow continue tokens; restart once on 410."""
        restarts = 0
        token, first = "", True
        while True:
            status, body = self.get(ref, token)
            if status == 410 and token:
                if restarts:
                    raise ListExpiredError(
                        f"{ref.qualified}: {body.get('message')} (again)", ref.qualified
                    )
                restarts += 1
                token, first = "", True
                continue
            if status == 403:
                raise ListDeniedError(str(body.get("message")), ref.qualified, ref.permission)
            if status == 404:
                raise ListNotServedError(str(body.get("message")), ref.qualified)
            if status != 200:
                raise ListFetchError(f"HTTP {status}: {body.get('message')}", ref.qualified)
            yield Page(ref, body["items"], restarted=first and restarts > 0)
            first = False
            token = body["metadata"].get("continue", "")
            if not token:
                return
