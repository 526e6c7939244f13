"""The approximate index against the exact search: neighbours, pool, table, metrics, evidence.

Tolerances: on these small, well-separated synthetic pairs faiss finds the exact neighbours,
so the approximate pool and score table must keep at least 98% of the exact mutual pairs
with the same scores (1e-5), and Hits@1/10 and MRR must agree within 0.01.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from almea.alignment import score_table
from almea.evaluation.metrics import alignment_metrics, csls_ranks, ranking
from almea.neighbours import EmbeddingIndexes, ExactIndex, NeighbourConfig, recall_at_k
from almea.neighbours.faiss_index import FaissIndex
from almea.selection.pool import candidate_pool

FORCED = {index: NeighbourConfig(force=True, index=index, ivf_lists=8, ivf_probe=8) for index in ("hnsw", "ivf")}


@pytest.fixture
def clusters() -> tuple[torch.Tensor, torch.Tensor]:
    """200 tight clusters of 10 unit vectors (32-d) and their centres: each centre's 10
    nearest vectors are its own cluster, far ahead of any other."""
    g = torch.Generator().manual_seed(0)
    centres = F.normalize(torch.randn(200, 32, generator=g), dim=1)
    points = F.normalize(centres.repeat_interleave(10, dim=0) + 0.02 * torch.randn(2000, 32, generator=g), dim=1)
    return centres, points


@pytest.fixture
def aligned_pair() -> torch.Tensor:
    """(1200, 24) embeddings: 600 sources, then 600 noisy counterparts in the same order."""
    g = torch.Generator().manual_seed(3)
    source = torch.randn(600, 24, generator=g)
    return torch.cat([source, source + 1.2 * torch.randn(600, 24, generator=g)])


@pytest.mark.parametrize("index", ["hnsw", "ivf"])
def test_the_index_finds_the_exact_neighbours_where_they_are_unambiguous(clusters, index) -> None:
    centres, points = clusters
    approximate = FaissIndex(points, FORCED[index])
    values, rows = approximate.search(centres, 10)
    exact_values, exact_rows = ExactIndex(points).search(centres, 10)
    assert [set(r) for r in rows.tolist()] == [set(range(10 * i, 10 * i + 10)) for i in range(200)]
    assert [set(r) for r in rows.tolist()] == [set(r) for r in exact_rows.tolist()]
    torch.testing.assert_close(values, exact_values, atol=1e-5, rtol=0)
    report = approximate.report()
    assert report["index"] == f"faiss-{index}" and report["recall@10"] == 1.0 and report["recall_queries"] == 200


def test_recall_counts_the_exact_neighbours_found(clusters) -> None:
    centres, points = clusters

    def half_wrong(queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        values, rows = ExactIndex(points).search(queries, k)
        rows[:, k // 2 :] = -1                                        # half of every list missed
        return values, rows

    assert recall_at_k(ExactIndex(points).search, points, centres, 10, 50) == 1.0
    assert recall_at_k(half_wrong, points, centres, 10, 50) == 0.5


def test_below_the_threshold_every_step_is_exact(aligned_pair) -> None:
    config = NeighbourConfig()
    assert not config.approximate(30_000, 30_000) and config.approximate(30_001, 30_000)
    assert NeighbourConfig(force=True).approximate(2, 2)
    pool = candidate_pool(aligned_pair, np.arange(600), np.arange(600, 1200), k=5)
    assert pool.search["target_index"] == {"index": "exact", "candidates": 600}
    metrics = alignment_metrics(aligned_pair, torch.stack([torch.arange(600), torch.arange(600, 1200)], dim=1))
    assert metrics["ranking"]["ranked"] == "exact"


@pytest.mark.parametrize("index", ["hnsw", "ivf"])
def test_the_pool_agrees_with_the_exact_path(aligned_pair, index) -> None:
    sources, targets = np.arange(600), np.arange(600, 1200)
    exclude = np.array([[0, 600], [5, 605]])
    exact = candidate_pool(aligned_pair, sources, targets, k=5, exclude=exclude)
    approximate = candidate_pool(aligned_pair, sources, targets, k=5, exclude=exclude, neighbours=FORCED[index])
    assert approximate.search["target_index"]["index"] == f"faiss-{index}"
    exact_pairs = {tuple(p): c for p, c in zip(exact.pairs.tolist(), exact.confidence)}
    found = {tuple(p): c for p, c in zip(approximate.pairs.tolist(), approximate.confidence)}
    common = exact_pairs.keys() & found.keys()
    assert len(exact_pairs) > 300 and len(common) >= 0.98 * max(len(exact_pairs), len(found))
    assert not {(0, 600), (5, 605)} & found.keys()
    np.testing.assert_allclose([found[p] for p in common], [exact_pairs[p] for p in common], atol=1e-5)


def test_the_score_table_agrees_with_the_exact_path(aligned_pair) -> None:
    labelled, rejected = np.array([[1, 601], [2, 602]]), np.array([[3, 603]])
    exact = score_table(aligned_pair, 600, labelled, rejected, k=5, top=4)
    approximate = score_table(aligned_pair, 600, labelled, rejected, k=5, top=4, neighbours=FORCED["hnsw"])
    assert approximate.search["source_index"]["index"] == "faiss-hnsw"
    same = (approximate.top_targets == exact.top_targets).all(axis=1)
    assert same.mean() >= 0.98 and (approximate.mutual == exact.mutual).mean() >= 0.98
    np.testing.assert_allclose(approximate.top_scores[same], exact.top_scores[same], atol=1e-5)
    torch.testing.assert_close(approximate.r_target, exact.r_target, atol=1e-5, rtol=0)


@pytest.mark.parametrize("index", ["hnsw", "ivf"])
def test_metrics_agree_with_the_exact_path(aligned_pair, index) -> None:
    pairs = torch.stack([torch.arange(600), torch.arange(600, 1200)], dim=1)
    exact = alignment_metrics(aligned_pair, pairs)
    approximate = alignment_metrics(aligned_pair, pairs, neighbours=FORCED[index])
    assert approximate["ranking"]["ranked"] == "index"
    assert 0.2 < exact["l2r"]["hits@1"] < 0.95                          # neither trivial nor hopeless
    for direction in ("l2r", "r2l"):
        for name, value in exact[direction].items():
            assert approximate[direction][name] == pytest.approx(value, abs=0.01)


def test_a_sampled_evaluation_ranks_its_sample_exactly(aligned_pair) -> None:
    source, target = aligned_pair[:600], aligned_pair[600:]
    config = NeighbourConfig(eval_sample=100, seed=4)
    l2r, r2l, info = ranking(source, target, 10, config)
    rows = np.sort(np.random.default_rng(4).choice(600, 100, replace=False))
    full_l2r, full_r2l = csls_ranks(source, target)
    assert info["ranked"] == "exact sample" and info["sample"] == 100 and info["seed"] == 4
    assert l2r.tolist() == full_l2r[rows].tolist() and r2l.tolist() == full_r2l[rows].tolist()
    assert ranking(source, target, 10, config)[0].tolist() == l2r.tolist()          # a fixed sample


def test_evidence_agrees_with_the_exact_path(demo_pair, tmp_path, monkeypatch) -> None:
    from almea.active import ActiveLearner, LearnerConfig
    from almea.features import FeatureConfig
    from almea.model.config import ModelConfig, TrainConfig

    monkeypatch.setenv("ALMEA_CACHE_DIR", str(tmp_path))
    config = LearnerConfig(features=FeatureConfig(value_dim=256), model=ModelConfig(dim=16, latent_batch=32),
                           train=TrainConfig(eval_every=0))
    learner = ActiveLearner(demo_pair, config, progress=False)
    pairs = demo_pair.links[:9]
    exact = learner.evidence(pairs)
    learner.config = replace(config, neighbours=FORCED["hnsw"])
    table = learner.score_table(learner.embeddings(), np.zeros((0, 2), np.int64), np.zeros((0, 2), np.int64))
    for approximate in (learner.evidence(pairs), learner.evidence(pairs, table=table)):
        for a, b in zip(approximate, exact):
            assert [x["target"] for x in a["alternatives"]] == [x["target"] for x in b["alternatives"]]
            assert a["csls"] == pytest.approx(b["csls"], abs=1e-5)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("index", "annoy", "index must be one of"),
    ("threshold", 0, "threshold must be an integer >= 1"),
    ("force", "yes", "force must be True or False"),
    ("rerank", 5, "rerank must be an integer >= 10"),
    ("ef_search", 1.5, "ef_search must be an integer"),
    ("eval_sample", -1, "eval_sample must be an integer >= 0"),
])
def test_config_is_checked_on_construction(field, value, message) -> None:
    with pytest.raises(ValueError, match=message):
        NeighbourConfig(**{field: value})


@pytest.mark.parametrize("index", ["hnsw", "ivf"])
def test_a_restricted_index_finds_the_exact_neighbours_among_its_members(clusters, index) -> None:
    centres, points = clusters
    members = torch.arange(0, 2000, 2)                             # half of every cluster
    subset = FaissIndex(points, FORCED[index]).restricted(members)
    values, rows = subset.search(centres, 5)
    exact_values, exact_rows = ExactIndex(points[members]).search(centres, 5)
    assert [set(r) for r in rows.tolist()] == [set(range(5 * i, 5 * i + 5)) for i in range(200)]
    assert [set(r) for r in rows.tolist()] == [set(r) for r in exact_rows.tolist()]
    torch.testing.assert_close(values, exact_values, atol=1e-5, rtol=0)
    assert subset.report()["recall@5"] == 1.0 and subset.report()["of"] == 2000


def test_one_index_per_kg_serves_every_step_over_the_same_embeddings(aligned_pair) -> None:
    indexes = EmbeddingIndexes(F.normalize(aligned_pair, dim=1), 600, FORCED["hnsw"])
    pairs = torch.stack([torch.arange(300), torch.arange(600, 900)], dim=1)
    table = score_table(aligned_pair, 600, np.zeros((0, 2), np.int64), k=5, indexes=indexes)
    pool = candidate_pool(aligned_pair, np.arange(300, 600), np.arange(900, 1200), k=5, indexes=indexes)
    metrics = alignment_metrics(aligned_pair, pairs, indexes=indexes)
    assert indexes.builds == 2
    assert pool.search["target_index"] == {**pool.search["target_index"], "candidates": 300, "of": 600}
    assert metrics["ranking"]["ranked"] == "index" and metrics["l2r"]["hits@1"] > 0.2
    alone = candidate_pool(aligned_pair, np.arange(300, 600), np.arange(900, 1200), k=5, neighbours=FORCED["hnsw"])
    assert {tuple(p) for p in pool.pairs.tolist()} == {tuple(p) for p in alone.pairs.tolist()}
    assert table.search["source_index"]["build_seconds"] >= 0
    with pytest.raises(ValueError, match="span both sides"):
        indexes.index(torch.tensor([5, 700]), 10)


def test_a_learner_searches_one_set_of_embeddings_through_one_index_per_kg(demo_pair, tmp_path, monkeypatch) -> None:
    from almea.active import ActiveLearner, LearnerConfig
    from almea.features import FeatureConfig
    from almea.model.config import ModelConfig, TrainConfig

    monkeypatch.setenv("ALMEA_CACHE_DIR", str(tmp_path))
    config = LearnerConfig(features=FeatureConfig(value_dim=256), model=ModelConfig(dim=16, latent_batch=32),
                           train=TrainConfig(eval_every=0), neighbours=FORCED["hnsw"])
    learner = ActiveLearner(demo_pair, config, progress=False)
    none = np.zeros((0, 2), np.int64)
    embeddings = learner.embeddings()
    table = learner.score_table(embeddings, none, none)
    learner.pool(embeddings, none, none, demo_pair.links[:50])
    learner.evaluate(demo_pair.links[:50])
    learner.evidence(demo_pair.links[:3], table=table)
    assert learner.embeddings() is embeddings and learner.indexes(embeddings).builds == 2
    learner.train(demo_pair.links[50:80], 1)
    assert learner.embeddings() is not embeddings and learner.indexes(learner.embeddings()).builds == 0
