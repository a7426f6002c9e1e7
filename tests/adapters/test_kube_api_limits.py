"""Body caps of node lists: an over-size page is the cluster's error (configz: test_configz_reader)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import urllib3

from shared.adapters.kube_api import KubeSession
from shared.adapters.kube_policy import RequestPolicy
from shared.adapters.kubeconfig import KubeEndpoint
from shared.core.errors import ApiServerError, ClusterError

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def response(body: bytes) -> urllib3.HTTPResponse:
    return urllib3.HTTPResponse(body=io.BytesIO(body), status=200, preload_content=False)


@pytest.fixture(name="session")
def _session():
    session = KubeSession(
        KubeEndpoint("https://127.0.0.1:1", CA), RequestPolicy(max_body_bytes=4096), lambda: "t"
    )
    yield session
    session.close()


class TestBodyCaps:
    def test_node_list_page_larger_than_configz_cap_is_read(self, session, monkeypatch):
        """A node-list page far above the configz cap is still read (real Node objects are large)."""
        document = {
            "items": [{"metadata": {"name": f"n{i}"}, "pad": "y" * 100} for i in range(100)],
            "metadata": {},
        }
        body = json.dumps(document).encode()
        assert len(body) > 4096
        monkeypatch.setattr(session._api, "list_node", lambda **k: response(body))
        assert len(session.list_nodes()) == 100

    def test_oversize_node_list_is_a_cluster_error(self, session, monkeypatch):
        """A node-list page over its own cap is the cluster's error, never an uncaught node error."""
        monkeypatch.setattr("shared.adapters.kube_api.NODE_LIST_MAX_BYTES", 1000)
        fake: Any = lambda **k: response(b"z" * 5000)  # noqa: E731
        monkeypatch.setattr(session._api, "list_node", fake)
        with pytest.raises(ApiServerError) as caught:
            session.list_nodes()
        assert isinstance(caught.value, ClusterError)
