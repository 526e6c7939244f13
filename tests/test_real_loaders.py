"""Both real benchmarks load with the counts documented in ../shared/data/README.md."""
from __future__ import annotations

import numpy as np
import pytest

from almea.data import load_dataset
from tests.conftest import real_dataset

pytestmark = pytest.mark.realdata


def test_fb15k237_db15k_counts() -> None:
    pair = load_dataset(real_dataset("FB15K237-DB15K"), "openea")
    s = pair.summary()
    assert (s["kg1"]["entities"], s["kg2"]["entities"]) == (14_541, 12_842)
    assert (s["kg1"]["relation_triples"], s["kg2"]["relation_triples"]) == (310_116, 89_197)
    assert (s["kg1"]["relations"], s["kg2"]["relations"]) == (237, 279)
    assert (s["kg1"]["attribute_triples"], s["kg2"]["attribute_triples"]) == (29_247, 48_044)
    assert s["gold_links"] == 12_650
    assert not pair.modality_present("visual").any(), "this benchmark has no images"
    assert not pair.modality_present("name")[: pair.n1].any(), "no names on the Freebase side"
    assert 0.5 < s["kg1"]["modality_share"]["attribute"] < 1.0


@pytest.mark.parametrize(
    "pair_name, n1, n2, t1, t2, r1, r2, named",
    [
        ("zh_en", 19_388, 19_572, 70_414, 95_142, 1_701, 1_323, 38_960),
        ("ja_en", 19_814, 19_780, 77_214, 93_484, 1_299, 1_153, 39_594),
    ],
)
def test_dbp15k_counts(pair_name: str, n1: int, n2: int, t1: int, t2: int, r1: int, r2: int, named: int) -> None:
    pair = load_dataset(real_dataset(f"DBP15K/{pair_name}"), "eva")
    s = pair.summary()
    assert (pair.n1, pair.n2) == (n1, n2)
    assert (s["kg1"]["relation_triples"], s["kg2"]["relation_triples"]) == (t1, t2)
    assert (s["kg1"]["relations"], s["kg2"]["relations"]) == (r1, r2)
    assert s["gold_links"] == 15_000
    assert sum(name is not None for name in pair.names) == named
    assert (pair.links[:, 0] < n1).all() and (pair.links[:, 1] >= n1).all()
    assert np.unique(pair.links[:, 1]).size == 15_000
