"""The candidate pool against a dense brute-force CSLS, chunking, exclusion and the cap."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from almea.evaluation import csls
from almea.selection.pool import candidate_pool


def brute_force(emb: torch.Tensor, sources: np.ndarray, targets: np.ndarray, k: int, exclude=()) -> dict:
    """{(source, target): (csls, margin)} of mutual CSLS nearest neighbours, one dense matrix."""
    emb = F.normalize(emb.double(), dim=1)
    s, t = emb[sources], emb[targets]
    cos = s @ t.t()
    r_s = cos.topk(min(k, len(targets)), dim=1).values.mean(1)
    r_t = cos.t().topk(min(k, len(sources)), dim=1).values.mean(1)
    csls = 2 * cos - r_s[:, None] - r_t[None, :]
    position = {int(e): i for i, e in enumerate(sources)}, {int(e): j for j, e in enumerate(targets)}
    for a, b in exclude:
        csls[position[0][a], position[1][b]] = -torch.inf
    row_best = csls.argmax(1)
    col_best = csls.argmax(0)
    top2 = csls.topk(2, dim=1).values
    return {
        (int(sources[i]), int(targets[j])): (float(csls[i, j]), float(top2[i, 0] - top2[i, 1]))
        for i, j in enumerate(row_best.tolist())
        if col_best[j] == i
    }


@pytest.fixture
def entities() -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """130 entities: 60 candidate sources (shuffled ids), 70 candidate targets, some aligned."""
    g = torch.Generator().manual_seed(0)
    emb = torch.randn(130, 16, generator=g)
    emb[60:100] = emb[:40] + 0.3 * torch.randn(40, 16, generator=g)    # 40 near-duplicates
    rng = np.random.default_rng(0)
    return emb, rng.permutation(60), rng.permutation(np.arange(60, 130))


def test_mutual_neighbours_match_dense_csls(entities) -> None:
    emb, sources, targets = entities
    pool = candidate_pool(emb, torch.as_tensor(sources), torch.as_tensor(targets), k=5, k_max=1000)
    expected = brute_force(emb, sources, targets, k=5)
    assert len(expected) >= 30
    assert {tuple(p) for p in pool.pairs.tolist()} == set(expected)
    for (s, t), c, m in zip(pool.pairs.tolist(), pool.confidence, pool.margin):
        assert c == pytest.approx(expected[(s, t)][0], abs=1e-5)
        assert m == pytest.approx(expected[(s, t)][1], abs=1e-5)
    assert np.all(np.diff(pool.confidence) <= 0)
    assert pool.rank.tolist() == list(range(len(pool)))
    assert pool.pairs.dtype == np.int64 and len(pool) == len(pool.pairs)


def test_tiny_chunks_give_identical_pool(entities, monkeypatch) -> None:
    emb, sources, targets = entities
    whole = candidate_pool(emb, torch.as_tensor(sources), torch.as_tensor(targets), k=5)
    monkeypatch.setattr(csls, "BLOCK_ELEMENTS", 150)                   # 2 rows per block
    chunked = candidate_pool(emb, torch.as_tensor(sources), torch.as_tensor(targets), k=5)
    np.testing.assert_array_equal(chunked.pairs, whole.pairs)
    np.testing.assert_allclose(chunked.confidence, whole.confidence, atol=1e-6)
    np.testing.assert_allclose(chunked.margin, whole.margin, atol=1e-6)


def test_excluded_pairs_are_masked_before_matching(entities, monkeypatch) -> None:
    emb, sources, targets = entities
    full = candidate_pool(emb, torch.as_tensor(sources), torch.as_tensor(targets), k=5)
    answered = full.pairs[[0, 3, 7]]
    monkeypatch.setattr(csls, "BLOCK_ELEMENTS", 210)            # exclusions across blocks
    pool = candidate_pool(emb, torch.as_tensor(sources), torch.as_tensor(targets), k=5, exclude=answered)
    pairs = {tuple(p) for p in pool.pairs.tolist()}
    assert not pairs & {tuple(p) for p in answered.tolist()}
    assert pairs == set(brute_force(emb, sources, targets, k=5, exclude=answered.tolist()))
    # Pairs of entities outside the candidate sets are ignored, not an error.
    same = candidate_pool(emb, torch.as_tensor(sources), torch.as_tensor(targets), k=5, exclude=np.array([[129, 0]]))
    np.testing.assert_array_equal(same.pairs, full.pairs)


def test_cap_keeps_the_most_confident(entities) -> None:
    emb, sources, targets = entities
    full = candidate_pool(emb, torch.as_tensor(sources), torch.as_tensor(targets), k=5)
    capped = candidate_pool(emb, torch.as_tensor(sources), torch.as_tensor(targets), k=5, k_max=7)
    assert len(capped) == 7
    np.testing.assert_array_equal(capped.pairs, full.pairs[:7])
    assert capped.confidence.min() >= full.confidence[7:].max()


def test_recovers_planted_alignment() -> None:
    g = torch.Generator().manual_seed(1)
    base = torch.randn(30, 32, generator=g)
    emb = torch.cat([base, base + 0.05 * torch.randn(30, 32, generator=g)])
    pool = candidate_pool(emb, torch.arange(30), torch.arange(30, 60), k=3)
    assert sorted(pool.pairs.tolist()) == [[i, i + 30] for i in range(30)]


def test_bad_inputs_are_rejected() -> None:
    emb = torch.randn(10, 4)
    with pytest.raises(ValueError, match="global entity ids"):
        candidate_pool(emb, torch.tensor([0, 11]), torch.tensor([5]))
    with pytest.raises(ValueError, match=r"\(E, 2\)"):
        candidate_pool(emb, torch.arange(5), torch.arange(5, 10), exclude=np.array([1, 2, 3]))
    assert len(candidate_pool(emb, torch.arange(0), torch.arange(5, 10))) == 0
