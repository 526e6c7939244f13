"""The side-by-side view of a pair: value matching, the aligned attribute table, neighbours."""
from __future__ import annotations

import numpy as np
import pytest

from almea.data.kg_pair import KGPair
from annotate.pair_view import EntityIndex, local_name, pair_view, values_match


@pytest.mark.parametrize("left, right, same", [
    ("1960-06-01", "1960.5", True),                   # ISO date vs Freebase decimal year (month / 12)
    ("1899-10-11", "1899.8333", True),
    ("1899-11-11", "1899.8333", False),
    ("4395.2098", "4395209823.24", True),              # km2 vs m2
    ("33.216389", "33.216388888888886", True),
    ("1960-07-01", "1961-07-01", False),
    ("Paris", "paris", True),
    ("New York City", "York", False),
    ("1.8412", "40755344.046", False),
])
def test_values_match_across_formats(left: str, right: str, same: bool) -> None:
    assert values_match(left, right) is same


def test_local_names() -> None:
    assert local_name("http://dbpedia.org/resource/New_York") == "New York"
    assert local_name("/m/021wpb") == "/m/021wpb"
    assert local_name("http://xmlns.com/foaf/0.1/name#given") == "given"


@pytest.fixture
def pair() -> KGPair:
    entities = ["/m/a", "/m/b", "/m/c", "http://x/A", "http://x/B", "http://x/C"]
    return KGPair(
        name="toy", entities=entities, n1=3, relations=["r1", "r2"],
        rel_triples=np.array([[0, 0, 1], [2, 0, 0], [3, 1, 4], [5, 1, 3]]),
        attr_keys=["birth", "height", "birthDate", "population"],
        attr_triples=np.array([[0, 0], [0, 1], [3, 2], [3, 3], [3, 1]]),
        attr_values=["1960.5", "1.84", "1960-06-01", "12000", "1.9"],
        links=np.array([[0, 3], [1, 4], [2, 5]]),
    )


def test_view_aligns_attributes_and_marks_aligned_neighbours(pair: KGPair) -> None:
    index = EntityIndex(pair)
    view = pair_view(index, 0, 3, aligned={1: 4, 4: 1}, evidence={"why": "test"})
    rows = [(r.source_key, r.source_value, r.target_key, r.target_value, r.match) for r in view.attributes]
    assert rows == [
        ("birth", "1960.5", "birthDate", "1960-06-01", True),
        ("height", "1.84", "height", "1.9", False),
        ("", "", "population", "12000", False),
    ]
    assert view.shared_aligned_neighbours == 1
    first = view.source.neighbours[0]
    assert (first.label, first.aligned_with, first.aligned_here, first.outgoing) == ("/m/b", "B", True, True)
    assert view.source.n_neighbours == 2 and view.target.label == "A" and view.evidence == {"why": "test"}
    assert [n.aligned_with for n in view.source.neighbours] == ["B", None]
