"""Self-training under verification: pseudo-labels, the batch split, and what it buys."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from almea.active.self_training import (
    SelfTrainingConfig,
    answer_calibrator,
    pseudo_labels,
    trainable_negatives,
    verification_pool,
    verified_batch,
)
from almea.alignment import Calibrator, score_table
from almea.selection import CandidatePool
from almea.selection.strategies import most_confident_selection
from almea.simulation import Simulation
from almea.simulation.runner import STATE_FILE
from almea.training.split import make_split
from tests.active.test_simulation import small_config


def _space(n=40, dim=12, noise=0.4, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(n, dim, generator=g)
    return torch.cat([base + noise * torch.randn(n, dim, generator=g), base]), n


def test_pseudo_labels_never_hold_rejected_pairs_or_labelled_entities():
    emb, n1 = _space()
    labelled = np.array([[0, n1], [1, n1 + 1]])
    rejected = np.array([[2, n1 + 2], [3, n1 + 3]])
    table = score_table(emb, n1, labelled, rejected)
    pseudo = pseudo_labels(table, Calibrator.unfitted(), SelfTrainingConfig(enabled=True), k_max=1000)
    keys = set(map(tuple, pseudo.pairs.tolist()))
    assert len(pseudo) > 20
    assert not keys & set(map(tuple, rejected.tolist()))
    assert not set(pseudo.pairs.ravel()) & set(labelled.ravel())
    blocked = pseudo_labels(table, Calibrator.unfitted(), SelfTrainingConfig(enabled=True), 1000,
                            blocked=np.array([5, n1 + 6]))
    assert not set(blocked.pairs.ravel()) & {5, n1 + 6}


def test_a_calibrated_threshold_keeps_only_pairs_that_hold_the_precision():
    emb, n1 = _space(noise=0.8)
    table = score_table(emb, n1, np.zeros((0, 2), np.int64))
    rng = np.random.default_rng(0)
    q = rng.uniform(0, 1, 200)
    answers = pd.DataFrame({"csls_quantile": q, "margin_quantile": rng.uniform(0, 1, 200), "trained": False,
                            "accepted": rng.random(200) < 1 / (1 + np.exp(-8 * (q - 0.3)))})
    config = SelfTrainingConfig(enabled=True, target_precision=0.9)
    calibrator = answer_calibrator(answers, config)
    pseudo = pseudo_labels(table, calibrator, config, k_max=1000)
    assert calibrator.fitted and np.isfinite(pseudo.threshold)
    assert pseudo.probability.mean() >= 0.9 and (pseudo.probability >= pseudo.threshold).all()


def _pool(k: int) -> CandidatePool:
    pairs = np.stack([np.arange(k), np.arange(k) + 1000], axis=1)
    return CandidatePool(pairs, np.linspace(1, 0, k), np.full(k, 0.1), np.arange(k))


def _choose(pool, size):
    context = type("Context", (), {"rng": np.random.default_rng(0)})
    return most_confident_selection(pool, context, size)


def test_the_strategy_answers_below_the_threshold_and_the_audit_samples_above():
    pool, above = _pool(100), np.arange(100) < 40
    batch, audit = verified_batch(pool, above, 20, _choose, np.random.default_rng(1), audit_share=0.1, k_max=30)
    assert len(batch) == 20 and audit.sum() == 2
    assert (batch.rank[~audit] >= 40).all() and (batch.rank[~audit] < 70).all()     # below, capped at k_max
    assert (batch.rank[audit] < 40).all()
    assert len(set(batch.rank.tolist())) == 20


def test_uncalibrated_the_audit_samples_the_whole_pool_and_fills_the_batch():
    pool = _pool(50)
    batch, audit = verified_batch(pool, np.zeros(50, bool), 10, _choose, np.random.default_rng(2), 0.3, k_max=50)
    assert len(batch) == 10 and audit.sum() == 3 and len(set(batch.rank.tolist())) == 10
    nothing_below, audit = verified_batch(pool, np.ones(50, bool), 10, _choose, np.random.default_rng(2), 0.1, 50)
    assert len(nothing_below) == 10 and audit.all()                  # all above: the audit fills the batch


def test_config_refuses_nonsense():
    with pytest.raises(ValueError, match="target_precision"):
        SelfTrainingConfig(target_precision=0.0)
    with pytest.raises(ValueError, match="audit_share"):
        SelfTrainingConfig(audit_share=1.5)


def test_self_training_beats_the_same_run_without_it(demo_pair, tmp_path):
    plain = replace(small_config("ds3"), budget="10%+5%x3", warm_epochs=16)   # few labels: where self-training pays
    learner = replace(plain.learner, self_training=SelfTrainingConfig(enabled=True, min_answers=10, target_precision=0.8))
    trained = replace(plain, learner=learner)
    without = Simulation(demo_pair, plain, tmp_path / "plain", progress=False).run()
    with_st = Simulation(demo_pair, trained, tmp_path / "st", progress=False).run()
    assert with_st[0]["l2r_hits@1"] == without[0]["l2r_hits@1"]       # the same base model
    assert all(r["pseudo_labels"] > 0 for r in with_st[1:])
    assert with_st[-1]["l2r_hits@1"] > without[-1]["l2r_hits@1"] + 0.02
    assert with_st[-1]["audited"] >= 1 and 0.0 <= with_st[-1]["ece"] <= 1.0
    assert trained.name.endswith("-st") and not plain.name.endswith("-st")


def test_an_entity_split_run_never_asks_about_held_out_sources_linked_or_not(demo_pair, tmp_path):
    plain = replace(small_config("random"), warm_epochs=8, split="entities")
    learner = replace(plain.learner, self_training=SelfTrainingConfig(enabled=True, min_answers=10, target_precision=0.8))
    config = replace(plain, learner=learner)
    Simulation(demo_pair, config, tmp_path / "run", progress=False).run()
    state = json.loads((tmp_path / "run" / STATE_FILE).read_text())
    split = make_split("entities", demo_pair.links, demo_pair.n1, config.test_ratio, config.seed)
    held = set(split.test[:, 0]) | set(split.unlinked)
    assert len(held) == round(config.test_ratio * demo_pair.n1)
    assert state["answered"] and not {s for s, _ in state["answered"]} & held
    assert not {s for s, _ in state["labelled"]} & held
    assert config.name.endswith("-st-es")


def test_the_verification_pool_is_the_tables_mutual_pairs_without_blocked_sources():
    emb, n1 = _space()
    table = score_table(emb, n1, np.array([[0, n1]]), np.array([[1, n1 + 1]]))
    blocked = np.array([2, 3, 4])
    answered = np.stack([[5], table.top_targets[[5], 0]], axis=1)
    pool = verification_pool(table, blocked, answered)
    mutual = {(int(s), int(table.top_targets[s, 0])) for s in np.flatnonzero(table.mutual)}
    keys = set(map(tuple, pool.pairs.tolist()))
    assert keys == {p for p in mutual if p[0] not in {2, 3, 4, 5}}
    assert (np.diff(pool.confidence) <= 0).all() and (pool.rank == np.arange(len(pool))).all()


def test_rejections_touching_held_out_entities_are_never_trained_on():
    rejected = np.array([[1, 11], [2, 12], [3, 13]])
    held_out = np.array([[2, 20], [30, 13]])
    np.testing.assert_array_equal(trainable_negatives(rejected, held_out), [[1, 11]])
