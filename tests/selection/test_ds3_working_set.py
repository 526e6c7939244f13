"""The working-set DS3 solver: feasible, equal to the all-rows solve, cheap on near-duplicates,
and the same selection as the dense solve on a real candidate pool."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from almea.selection.dissimilarity import dissimilarity_matrix, diversity_penalty, sparsity_weight
from almea.selection.ds3 import ds3_admm, ds3_objective, representatives
from almea.selection.ds3_reference import ds3_cvxpy
from tests.conftest import real_dataset
from tests.selection.test_ds3 import clustered_pairs, random_pairs

BATCH = 127
"""Pairs per round compared on the real pool (1% of FB15K237-DB15K's 12,650 links)."""


def embedded_clusters(
    k: int, seed: int, clusters: int = 10, dim: int = 300, spread: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit-norm 300-d pair embeddings around random centres (like the model's), and D."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(clusters, dim, generator=g)
    labels = torch.randint(clusters, (k + k // 4,), generator=g)
    h_source, h_target = (
        F.normalize(centres[labels] + spread * torch.randn(len(labels), dim, generator=g), dim=1) for _ in range(2)
    )
    D = diversity_penalty(h_source[:k], h_target[:k], h_source[k:], h_target[k:])
    return dissimilarity_matrix(h_source[:k], h_target[:k]), D


def test_working_set_solution_is_feasible_in_float32() -> None:
    A, D = embedded_clusters(300, seed=0)
    result = ds3_admm(A, D, sparsity_weight(A, 0.35))
    assert result.converged and result.Z_rows.dtype == torch.float32
    assert len(result.rows) < 40 and torch.all(result.rows[1:] > result.rows[:-1])
    assert (result.Z_rows >= 0).all()
    assert torch.allclose(result.Z_rows.double().sum(0), torch.ones(300, dtype=torch.float64), atol=1e-6)
    Z = result.Z
    assert torch.equal(result.row_norms(), torch.linalg.vector_norm(Z, dim=1))
    assert representatives(result).tolist() == representatives(Z).tolist()
    assert 0 <= result.gap <= 1e-3


@pytest.mark.parametrize("k, seed, alpha", [(80, 0, 0.1), (80, 1, 0.35), (80, 2, 1.0)])
def test_working_set_equals_the_all_rows_solve(k: int, seed: int, alpha: float) -> None:
    h_source, h_target = random_pairs(k, seed)
    A = dissimilarity_matrix(h_source, h_target)
    D = 1 + 2 * torch.rand(k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    lam = sparsity_weight(A, alpha)
    restricted, full = ds3_admm(A, D, lam), ds3_admm(A, D, lam, working_set=False)
    assert restricted.converged and full.converged
    assert restricted.objective == pytest.approx(full.objective, rel=1e-4)
    assert sorted(representatives(restricted).tolist()) == sorted(representatives(full.Z).tolist())
    np.testing.assert_allclose(restricted.row_norms().numpy(), full.row_norms().numpy(), atol=1e-2)


def test_every_row_joins_when_nothing_is_penalised() -> None:
    h_source, h_target = random_pairs(30, 3)
    A = dissimilarity_matrix(h_source, h_target)
    result = ds3_admm(A, torch.ones(30, dtype=torch.float64), lam=0.0)
    assert result.converged and result.rows.tolist() == list(range(30))
    assert torch.allclose(result.Z, torch.eye(30, dtype=torch.float64), atol=1e-4)   # each its own representative


@pytest.mark.parametrize("sizes, seed, uneven", [([40, 30, 20], 4, False), ([20, 13, 7], 18, True)])
def test_near_duplicates_stay_out_of_the_working_set(sizes: list[int], seed: int, uneven: bool) -> None:
    """Clusters of near-copies; with uneven penalties the cheapest copy must win, which once
    drove rho to 1e14 (P at a vertex) and froze the duals."""
    h_source, h_target, labels = clustered_pairs(sizes, seed=seed, spread=0.002)
    A = dissimilarity_matrix(h_source, h_target)
    k = len(labels)
    D = torch.ones(k, dtype=torch.float64)
    if uneven:
        D += 2 * torch.rand(k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    lam = sparsity_weight(A, 0.1)
    result = ds3_admm(A, D, lam)
    assert result.converged and result.iterations <= 400 and result.gap <= 1e-3
    assert len(result.rows) <= 8                                       # top violators alone: 16-21 copies
    assert sorted(labels[representatives(result)].tolist()) == [0, 1, 2]
    reference = ds3_objective(torch.from_numpy(ds3_cvxpy(A, D, lam)), A, D, lam)
    assert result.objective == pytest.approx(reference, rel=1e-4)


def test_the_iteration_budget_covers_every_round() -> None:
    A, D = embedded_clusters(200, seed=5)
    result = ds3_admm(A, D, sparsity_weight(A, 0.1), max_iter=20)
    assert result.iterations == 20 and not result.converged
    assert (result.Z_rows >= 0).all() and torch.allclose(result.Z_rows.sum(0), torch.ones(200), atol=1e-6)


@pytest.mark.realdata
@pytest.mark.slow
def test_real_pool_selection_matches_the_dense_solve() -> None:
    """FB15K237-DB15K, 20% seeds, K = 300 pairs pooled by an untrained model (training takes
    minutes; the benchmark repeats this at K = 1000 on a trained pool): the same
    representatives as cvxpy's dense solve, so the same batch. (Not the all-rows ADMM: with
    two threads on a busy machine it takes minutes here.)"""
    from almea.data import load_dataset
    from almea.features import FeatureConfig
    from almea.model.config import ModelConfig
    from almea.selection.pool import candidate_pool
    from almea.training.pipeline import build_model
    from almea.training.split import split_links

    pair = load_dataset(real_dataset("FB15K237-DB15K"), "openea")
    model, inputs = build_model(pair, FeatureConfig(), ModelConfig(), "cpu", seed=0)
    model.eval()
    with torch.no_grad():
        emb = F.normalize(model.embed(inputs).float(), dim=1)
    labelled = split_links(pair.links, 0.8, seed=0).base(0.2)
    sources = np.setdiff1d(np.arange(pair.n1), labelled[:, 0])[:3000]
    targets = np.setdiff1d(np.arange(pair.n1, pair.n_entities), labelled[:, 1])[:3000]
    pool = candidate_pool(emb, sources, targets, k=10, k_max=300)
    assert len(pool) == 300
    h_source, h_target = emb[pool.pairs[:, 0]], emb[pool.pairs[:, 1]]
    A = dissimilarity_matrix(h_source, h_target)
    D = diversity_penalty(h_source, h_target, emb[labelled[:, 0]], emb[labelled[:, 1]])
    lam = sparsity_weight(A, 0.35)
    result = ds3_admm(A, D, lam)
    dense = torch.from_numpy(ds3_cvxpy(A, D, lam))
    assert result.converged and result.gap <= 1e-3
    chosen = representatives(result)
    assert len(chosen) >= 1 and chosen.tolist() == representatives(dense).tolist()
    batch = lambda reps: np.concatenate([reps, np.setdiff1d(np.arange(len(pool)), reps)])[:BATCH]  # noqa: E731
    assert batch(chosen).tolist() == batch(representatives(dense)).tolist()
    assert result.objective == pytest.approx(ds3_objective(dense, A, D, lam), rel=1e-4)
