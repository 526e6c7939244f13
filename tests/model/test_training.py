"""Training end to end: a synthetic pair must align well; real benchmarks well above chance."""
from __future__ import annotations

import pytest

from almea.data import load_dataset
from almea.features import FeatureConfig
from almea.model.config import ModelConfig, TrainConfig
from almea.training.pipeline import train_and_evaluate
import numpy as np

from almea.training.split import NO_COUNTERPART, make_split, split_entities, split_links
from tests.conftest import real_dataset


def test_split_is_fixed_per_seed_and_budgets_nest(demo_pair) -> None:
    a, b = split_links(demo_pair.links, 0.5, seed=4), split_links(demo_pair.links, 0.5, seed=4)
    assert (a.test == b.test).all()
    assert not set(map(tuple, a.test)) & set(map(tuple, a.pool))
    small, large = a.base(0.1), a.base(0.2)
    assert (large[: len(small)] == small).all()
    with pytest.raises(ValueError, match="train pool"):
        a.base(0.9)


def test_an_entity_split_holds_out_kg1_entities_linked_or_not() -> None:
    links = np.column_stack([np.arange(60), 100 + np.arange(60)])     # KG1 entities 60-99 have no link
    split = split_entities(links, 100, 0.7, seed=3)
    held = set(split.test[:, 0]) | set(split.unlinked)
    assert len(held) == 70 and not set(split.test[:, 0]) & set(split.unlinked)
    assert set(split.unlinked) <= set(range(60, 100)) and set(split.test[:, 0]) <= set(range(60))
    assert not held & set(split.pool[:, 0]) and len(split.test) + len(split.pool) == split.n_links == 60
    assert 0.25 < len(split.unlinked) / 70 < 0.55                      # unlinked in about their share (40%)
    blocked = split.blocked
    assert len(blocked) == 70 and (blocked[len(split.test):, 1] == NO_COUNTERPART).all()
    assert (split_entities(links, 100, 0.7, seed=3).pool == split.pool).all()
    assert (make_split("links", links, 100, 0.7, 3).blocked == split_links(links, 0.7, 3).test).all()
    with pytest.raises(ValueError, match="split must be one of"):
        make_split("pairs", links, 100, 0.7, 3)


def test_synthetic_pair_reaches_high_hits(demo_pair) -> None:
    result = train_and_evaluate(
        demo_pair,
        0.3,
        feature_config=FeatureConfig(value_dim=1024),
        model_config=ModelConfig(dim=64, latent_batch=128),
        train_config=TrainConfig(epochs=100, batch_size=256, eval_every=50),
        progress=False,
    )
    assert result.final["l2r"]["hits@1"] >= 0.7
    assert result.final["r2l"]["hits@1"] >= 0.7
    assert result.final["l2r"]["mrr"] > result.evaluations[0]["l2r"]["mrr"] - 0.02
    assert abs(sum(result.modality_weights.values()) - 1.0) < 1e-6


@pytest.mark.realdata
@pytest.mark.parametrize("name, layout", [("FB15K237-DB15K", "openea"), ("DBP15K/zh_en", "eva")])
def test_real_benchmarks_move_well_above_chance(name: str, layout: str, tmp_path) -> None:
    pair = load_dataset(real_dataset(name), layout)
    result = train_and_evaluate(
        pair,
        0.2,
        feature_config=FeatureConfig(),
        model_config=ModelConfig(),
        train_config=TrainConfig(epochs=3, eval_every=0),
        progress=False,
    )
    chance = 1.0 / result.n_test
    assert result.final["l2r"]["hits@1"] > 200 * chance
    assert result.final["l2r"]["hits@10"] > 0.15
