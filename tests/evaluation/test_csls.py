"""One CSLS for metrics, the candidate pool and the evidence: each agrees with a dense reference."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from almea.active import ActiveLearner, LearnerConfig
from almea.evaluation import csls
from almea.evaluation.csls import csls_blocks, neighbourhood_means
from almea.evaluation.metrics import csls_ranks
from almea.features import FeatureConfig
from almea.model.config import ModelConfig, TrainConfig
from almea.selection.pool import candidate_pool

K = 3


def dense_csls(
    source: torch.Tensor, target: torch.Tensor, k: int, r_t_against: torch.Tensor | None = None
) -> torch.Tensor:
    """The whole (S, T) CSLS matrix in float64 from its definition; r_S(t) is taken over
    ``r_t_against`` (default: the sources themselves)."""
    source, target = F.normalize(source.double(), dim=1), F.normalize(target.double(), dim=1)
    against = source if r_t_against is None else F.normalize(r_t_against.double(), dim=1)
    cos = source @ target.t()
    r_s = cos.topk(min(k, len(target)), dim=1).values.mean(dim=1)
    r_t = (target @ against.t()).topk(min(k, len(against)), dim=1).values.mean(dim=1)
    return 2 * cos - r_s[:, None] - r_t[None, :]


@pytest.fixture
def embeddings() -> torch.Tensor:
    g = torch.Generator().manual_seed(7)
    emb = torch.randn(40, 12, generator=g)
    emb[20:] = emb[:20] + 0.8 * torch.randn(20, 12, generator=g)       # noisy counterparts
    return emb


@pytest.mark.parametrize("block", [None, 7, 40])                       # one block, and rows split
def test_blocks_equal_the_dense_matrix(embeddings, monkeypatch, block) -> None:
    if block is not None:
        monkeypatch.setattr(csls, "BLOCK_ELEMENTS", block)
    source, target = F.normalize(embeddings[:20], dim=1), F.normalize(embeddings[20:33], dim=1)
    r_s, r_t = neighbourhood_means(source, target, K), neighbourhood_means(target, source, K)
    parts = list(csls_blocks(source, target, r_s, r_t))
    assert [lo for lo, _ in parts] == list(range(0, 20, len(parts[0][1])))
    assert block is None or all(scores.numel() <= max(block, 13) for _, scores in parts)
    chunked = torch.cat([scores for _, scores in parts]).double()
    torch.testing.assert_close(chunked, dense_csls(source, target, K), atol=1e-6, rtol=0)


def test_metrics_ranks_agree_with_dense(embeddings, monkeypatch) -> None:
    monkeypatch.setattr(csls, "BLOCK_ELEMENTS", 50)
    source, target = embeddings[:20], embeddings[20:]
    l2r, r2l = csls_ranks(source, target, k=K)
    for ranks, scores in ((l2r, dense_csls(source, target, K)), (r2l, dense_csls(target, source, K))):
        true = scores.diagonal()
        assert ranks.tolist() == (1 + (scores > true[:, None]).sum(dim=1)).tolist()
    assert 1 < l2r.float().mean() < 20                                   # neither trivial nor random


def test_pool_agrees_with_dense(embeddings, monkeypatch) -> None:
    monkeypatch.setattr(csls, "BLOCK_ELEMENTS", 50)
    sources, targets = np.arange(3, 20), np.arange(20, 38)
    pool = candidate_pool(embeddings, sources, targets, k=K, k_max=100)
    scores = dense_csls(embeddings[sources], embeddings[targets], K)
    best, best_col = scores.max(dim=1)
    mutual = {(int(sources[i]), int(targets[j])): float(best[i])
              for i, j in enumerate(best_col.tolist()) if int(scores[:, j].argmax()) == i}
    assert len(mutual) >= 5 and {tuple(p) for p in pool.pairs.tolist()} == set(mutual)
    np.testing.assert_allclose(pool.confidence, [mutual[tuple(p)] for p in pool.pairs.tolist()], atol=1e-6)


def test_evidence_alternatives_agree_with_dense(demo_pair, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ALMEA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(csls, "BLOCK_ELEMENTS", 1000)
    config = LearnerConfig(features=FeatureConfig(value_dim=256), model=ModelConfig(dim=16, latent_batch=32),
                           train=TrainConfig(eval_every=0))
    learner = ActiveLearner(demo_pair, config, progress=False)
    pairs = demo_pair.links[:9]
    records = learner.evidence(pairs, top=5)
    emb, n1 = learner.embeddings(), demo_pair.n1
    scores = dense_csls(emb[pairs[:, 0]], emb[n1:], config.selection.csls_k, r_t_against=emb[:n1])
    top = scores.topk(5, dim=1)
    for record, values, ids in zip(records, top.values.tolist(), top.indices.tolist()):
        assert [a["target"] for a in record["alternatives"]] == [n1 + i for i in ids]
        np.testing.assert_allclose([a["csls"] for a in record["alternatives"]], values, atol=1e-5)
