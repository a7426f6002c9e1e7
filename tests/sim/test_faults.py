"""The fault registry: matching, consumption, removal."""

from __future__ import annotations

import threading

import pytest

from sim.faults import Action, Endpoint, Fault, FaultRegistry


class TestRegistry:
    def test_none_targets_match_anything(self):
        """A fault without a target catches every call to its endpoint."""
        registry = FaultRegistry()
        registry.add(Fault(Endpoint.CONFIGZ))
        assert registry.take(Endpoint.CONFIGZ, cluster="c", node="n") is not None
        assert registry.take(Endpoint.NODE_LIST, cluster="c") is None

    def test_targets_narrow_the_match(self):
        """cluster/node must be equal; subscription compares case-insensitively."""
        registry = FaultRegistry()
        registry.add(Fault(Endpoint.CONFIGZ, cluster="c1", node="n1"))
        registry.add(Fault(Endpoint.ARM, subscription="ABC"))
        assert registry.take(Endpoint.CONFIGZ, cluster="c1", node="n2") is None
        assert registry.take(Endpoint.CONFIGZ, cluster="c2", node="n1") is None
        assert registry.take(Endpoint.CONFIGZ, cluster="c1", node="n1") is not None
        assert registry.take(Endpoint.ARM, subscription="abc") is not None
        assert registry.take(Endpoint.ARM) is None

    def test_times_are_consumed_then_the_fault_is_gone(self):
        """times=2 fires twice."""
        registry = FaultRegistry()
        fault_id = registry.configz_throttle("c", times=2)
        assert [registry.take(Endpoint.CONFIGZ, cluster="c") is not None for _ in range(3)] == [
            True,
            True,
            False,
        ]
        assert registry.hits(fault_id) == 0
        assert registry.caught(fault_id) == 2
        assert registry.active() == []

    def test_first_added_wins(self):
        """Faults are tried in the order they were added."""
        registry = FaultRegistry()
        registry.configz_error("c", status=500)
        registry.configz_error("c", status=503)
        taken = registry.take(Endpoint.CONFIGZ, cluster="c")
        assert taken is not None
        assert taken.status == 500

    def test_remove_and_clear(self):
        """Faults can be removed one by one or all at once."""
        registry = FaultRegistry()
        first = registry.node_unreachable("c", "n")
        registry.delay(Endpoint.CONFIGZ, 0.1, cluster="c")
        registry.remove(first)
        assert [f.action for f in registry.active()] == [Action.DELAY]
        registry.clear()
        assert registry.active() == []

    def test_ingestion_outage_toggles(self):
        """On adds one outage (replacing an earlier one); off removes it."""
        registry = FaultRegistry()
        registry.ingestion_outage(True)
        registry.ingestion_outage(True, status=500)
        assert [f.status for f in registry.active()] == [500]
        assert registry.ingestion_outage(False) is None
        assert registry.active() == []

    def test_times_must_be_positive(self):
        """times=0 would never fire: refused."""
        with pytest.raises(ValueError, match="times"):
            FaultRegistry().add(Fault(Endpoint.CONFIGZ, times=0))

    def test_concurrent_takes_consume_exactly_times(self):
        """Under contention a fault fires exactly ``times`` times."""
        registry = FaultRegistry()
        registry.add(Fault(Endpoint.CONFIGZ, times=500))
        hits = []

        def worker():
            for _ in range(200):
                if registry.take(Endpoint.CONFIGZ) is not None:
                    hits.append(1)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(hits) == 500

    def test_from_dict_reads_json(self):
        """Serve mode's --faults file: endpoint and action by value, body as text."""
        fault = Fault.from_dict(
            {"endpoint": "configz", "action": "body", "status": 200, "body": "{}", "cluster": "c"}
        )
        assert (fault.endpoint, fault.action, fault.body, fault.cluster) == (
            Endpoint.CONFIGZ,
            Action.BODY,
            b"{}",
            "c",
        )


class TestActionsOnTheWire:
    def test_drop_closes_without_answer(self, sim):
        """DROP: the client sees the connection close with no response."""
        import http.client  # noqa: PLC0415
        import ssl  # noqa: PLC0415

        from sim import AKS_SERVER_APP_ID  # noqa: PLC0415

        sim.faults.add(Fault(Endpoint.NODE_LIST, Action.DROP, cluster="aks-batch-neu", times=1))
        host, port = sim.api_server_url("aks-batch-neu").removeprefix("https://").split(":")
        connection = http.client.HTTPSConnection(
            host,
            int(port),
            context=ssl.create_default_context(cadata=sim.cluster_ca_pem("aks-batch-neu")),
            timeout=5,
        )
        try:
            connection.request(
                "GET",
                "/api/v1/nodes",
                headers={"Authorization": f"Bearer {sim.token(AKS_SERVER_APP_ID)}"},
            )
            with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
                connection.getresponse()
        finally:
            connection.close()

    def test_body_replaces_the_answer(self, sim):
        """BODY: configz answers the raw body given."""
        from sim import AKS_SERVER_APP_ID  # noqa: PLC0415
        from tests.sim.conftest import configz, core_v1  # noqa: PLC0415

        node = sim.estate.cluster("aks-batch-neu").nodes()[0].name
        sim.faults.add(
            Fault(
                Endpoint.CONFIGZ,
                Action.BODY,
                status=200,
                body=b"<html>proxy</html>",
                content_type="text/html",
                cluster="aks-batch-neu",
                node=node,
            )
        )
        with core_v1(
            sim.api_server_url("aks-batch-neu"),
            sim.cluster_ca_pem("aks-batch-neu"),
            token=sim.token(AKS_SERVER_APP_ID),
        ) as api:
            response = configz(api, node)
            assert (response.data, response.headers["Content-Type"]) == (
                b"<html>proxy</html>",
                "text/html",
            )
