"""Faults on the section 4 lists: short pages (a server may return fewer items than ``limit``),
an expired continue token on such a page, and the ``--faults`` file fields that reach them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.core import k8s_lists as lists
from shared.core.errors import SettingsError
from sim import Action, Endpoint, Fault, SimulatedEstate
from sim.apiserver import EXPIRED_CONTINUE
from sim.demo import load_faults
from tests.sim.k8s_reader import HttpListReader
from tests.sim.test_kubelists import PROD, client, raw

PODS = lists.PODS.path


def follow(reader: HttpListReader, path: str, limit: int) -> tuple[list[str], list[int]]:
    """Every item's key and every page's size, following continue tokens."""
    keys, sizes, token = [], [], ""
    while True:
        query = f"?limit={limit}" + (f"&continue={token}" if token else "")
        status, body, _ = raw(reader, path + query)
        assert status == 200, body
        sizes.append(len(body["items"]))
        keys += [
            f"{i['metadata'].get('namespace', '')}/{i['metadata']['name']}" for i in body["items"]
        ]
        token = body["metadata"].get("continue", "")
        if not token:
            return keys, sizes


class TestShortPages:
    def test_pages_hold_at_most_the_cap_and_the_list_is_whole(self, sim: SimulatedEstate) -> None:
        """With short pages of 4, a limit of 500 gets pages of 4 with continue tokens, and the
        items are those of one unpaged list, in the same order."""
        with client(sim, PROD) as reader:
            _, whole, _ = raw(reader, PODS)
            sim.faults.short_pages(PROD, Endpoint.POD_LIST, per_page=4)
            keys, sizes = follow(reader, PODS, 500)
        expected = [f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in whole["items"]]
        assert keys == expected
        assert len(expected) > 8
        assert max(sizes) == 4
        assert sizes[:-1] == [4] * (len(sizes) - 1)

    def test_a_smaller_limit_still_wins(self, sim: SimulatedEstate) -> None:
        """The cap only lowers a page: limit=2 under a cap of 4 gets pages of 2."""
        sim.faults.short_pages(PROD, Endpoint.POD_LIST, per_page=4)
        with client(sim, PROD) as reader:
            _, sizes = follow(reader, PODS, 2)
        assert max(sizes) == 2

    def test_the_410_added_first_catches_the_continue_request(self, sim: SimulatedEstate) -> None:
        """An expiry for continue requests, added before the short pages, answers the second
        page with the apiserver's Expired Status; the first page is a short page."""
        sim.faults.list_expired(PROD, Endpoint.POD_LIST)
        sim.faults.short_pages(PROD, Endpoint.POD_LIST, per_page=4)
        with client(sim, PROD) as reader:
            _, first, _ = raw(reader, PODS + "?limit=500")
            status, body, _ = raw(
                reader, PODS + f"?limit=500&continue={first['metadata']['continue']}"
            )
        assert len(first["items"]) == 4
        assert (status, body["reason"], body["message"]) == (410, "Expired", EXPIRED_CONTINUE)


def loaded(tmp_path: Path, entries: list[dict[str, object]]) -> list[Fault] | str:
    path = tmp_path / "faults.json"
    path.write_text(json.dumps(entries))
    try:
        return load_faults(str(path))
    except SettingsError as exc:
        return str(exc).removeprefix(f"--faults {path}: ")


class TestFaultFile:
    def test_short_pages_and_a_continued_410_load(self, tmp_path: Path) -> None:
        """A file can ask for short pages and a 410 on continue requests of one cluster's pods."""
        result = loaded(
            tmp_path,
            [
                {"endpoint": "pod-list", "status": 410, "cluster": PROD, "continued": True},
                {"endpoint": "pod-list", "action": "short-pages", "chunk": 4, "cluster": PROD},
            ],
        )
        assert result == [
            Fault(Endpoint.POD_LIST, Action.ERROR, 410, cluster=PROD, continued=True),
            Fault(Endpoint.POD_LIST, Action.SHORT_PAGES, cluster=PROD, chunk=4),
        ]

    @pytest.mark.parametrize(
        ("entry", "message"),
        [
            (
                {"endpoint": "configz", "action": "short-pages"},
                "[0]: action: short-pages is a section 4 list fault only",
            ),
            (
                {"endpoint": "configz", "continued": True},
                "[0]: continued: a configz fault cannot target a continued",
            ),
            ({"endpoint": "pod-list", "continued": "yes"}, "[0].continued: must be true"),
        ],
        ids=["short-pages-on-configz", "continued-on-configz", "continued-text"],
    )
    def test_what_could_not_fire_is_named(
        self, tmp_path: Path, entry: dict[str, object], message: str
    ) -> None:
        """Short pages elsewhere than a list, or continued on an endpoint without continue
        tokens, could never fire: refused, naming the field."""
        result = loaded(tmp_path, [entry])
        assert isinstance(result, str)
        assert result.startswith(message), result
