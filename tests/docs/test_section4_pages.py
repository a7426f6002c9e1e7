"""The catalogue pages of section 4 (and 5.1.4, 5.2.1, 5.4.5) say what each control reads, what
the operator can set, and when the row is ERROR, as the code does it."""

from __future__ import annotations

import pytest

from shared.core.catalogue import pages
from shared.core.controls.kubernetes import ALLOW_LISTS, K8S_OBJECTS
from shared.core.controls.registry import get_benchmark

PAGES = pages()
BENCH = get_benchmark("cis-aks-1.8")
SECTION4 = [c for c in BENCH.controls if c.section.startswith("4.") or c.needs_session]
FROM_LISTS = [c for c in SECTION4 if K8S_OBJECTS in c.reads]
FROM_ARM = [c for c in SECTION4 if K8S_OBJECTS not in c.reads]


def part(text: str, heading: str) -> str:
    """The text under one ``## heading`` of a page."""
    return text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0].strip()


def front_matter(text: str) -> str:
    return text.split("\n---\n", 1)[0]


class TestSection4Pages:
    def test_the_split_is_the_one_the_tables_make(self):
        """25 controls of cis-aks-1.8 are read from the Kubernetes lists (section 4 but 4.4.1
        and 4.5.2, and 5.1.4, 5.2.1, 5.4.5); 4.4.1 and 4.5.2 from ARM."""
        assert len(FROM_LISTS) == 25
        assert [c.id for c in FROM_ARM] == ["4.4.1", "4.5.2"]

    @pytest.mark.parametrize("control", FROM_LISTS, ids=lambda c: c.id)
    def test_the_data_source_says_kubernetes_api(self, control):
        """The front matter names the source in words, as it does for ARM and configz reads."""
        source = front_matter(PAGES[f"{control.id}.md"]).split("data source:", 1)[1]
        assert "Kubernetes API" in source, source

    @pytest.mark.parametrize("control", SECTION4, ids=lambda c: c.id)
    def test_the_synopsis_is_not_the_description_again(self, control):
        """The synopsis is a line of its own; the description adds to it."""
        text = PAGES[f"{control.id}.md"]
        assert part(text, "Synopsis") not in part(text, "Description"), control.id

    @pytest.mark.parametrize("control", SECTION4, ids=lambda c: c.id)
    def test_error_is_promised_only_where_a_list_is_read(self, control):
        """Only a control read from the lists becomes ERROR when a list cannot be read."""
        promised = "could not be read makes the row ERROR" in PAGES[f"{control.id}.md"]
        assert promised is (control in FROM_LISTS), control.id

    @pytest.mark.parametrize("control", SECTION4, ids=lambda c: c.id)
    def test_an_allow_list_is_offered_only_where_the_policy_file_takes_one(self, control):
        """kubernetes.allow takes the ids of ALLOW_LISTS, registries.approved 5.1.4's list: a
        page names the key it can be set under, and no page offers one that does not exist."""
        text = PAGES[f"{control.id}.md"]
        offered = "in the policy file" in part(text, "Description")
        takes = control.id in ALLOW_LISTS or control.id == "5.1.4"
        assert offered is takes, control.id
        if control.id == "5.1.4":
            assert "registries.approved" in text
        elif takes:
            assert f'kubernetes.allow."{control.id}"' in text

    def test_the_index_carries_section_4(self):
        """The index no longer lists section 4 among what is not carried."""
        index = PAGES["README.md"]
        assert "(policies, from the Kubernetes API) in every version, which is issue #14" not in (
            " ".join(index.split())
        )
        assert "[4.1.1](4.1.1.md)" in index
