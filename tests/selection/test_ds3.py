"""DS3 by ADMM against cvxpy, its constraints and representatives; eqs. 5-7 and B.3."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from almea.evaluation import csls
from almea.selection.dissimilarity import dissimilarity_matrix, diversity_penalty, sparsity_weight
from almea.selection.ds3 import (
    ds3_admm,
    ds3_objective,
    project_columns_to_simplex,
    project_columns_to_simplex_sorted,
    representatives,
)
from almea.selection.ds3_reference import ds3_cvxpy


def random_pairs(k: int, seed: int, dim: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (
        F.normalize(torch.randn(k, dim, generator=g, dtype=torch.float64), dim=1),
        F.normalize(torch.randn(k, dim, generator=g, dtype=torch.float64), dim=1),
    )


def clustered_pairs(sizes: list[int], seed: int, spread: float = 0.05) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Pairs around well-separated centres; returns the cluster label of each pair."""
    g = torch.Generator().manual_seed(seed)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    centres = torch.eye(16, dtype=torch.float64)[: len(sizes)]
    noise = lambda: spread * torch.randn(len(labels), 16, generator=g, dtype=torch.float64)  # noqa: E731
    return centres[labels] + noise(), centres[labels] + noise(), labels


def gap(A: torch.Tensor, D: torch.Tensor, lam: float) -> float:
    """Largest relative gap to cvxpy of the working-set and the all-rows ADMM."""
    reference = ds3_objective(torch.from_numpy(ds3_cvxpy(A, D, lam)), A, D, lam)
    gaps = []
    for working_set in (True, False):
        admm = ds3_admm(A, D, lam, working_set=working_set)
        assert admm.converged
        assert admm.objective == pytest.approx(ds3_objective(admm.Z, A, D, lam))
        gaps.append((admm.objective - reference) / abs(reference))
        # The certificate bounds the true gap (up to cvxpy's own tolerance).
        assert admm.gap >= (admm.objective - reference) / max(1.0, abs(admm.objective)) - 1e-7
    return max(gaps, key=abs)


@pytest.mark.parametrize("k, seed, alpha", [(20, 0, 0.1), (20, 1, 1.0), (60, 0, 0.35), (60, 2, 0.1), (150, 1, 0.35)])
def test_admm_matches_cvxpy_on_random_pools(k: int, seed: int, alpha: float) -> None:
    h_source, h_target = random_pairs(k, seed)
    A = dissimilarity_matrix(h_source, h_target)
    D = 1 + 2 * torch.rand(k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    assert abs(gap(A, D, sparsity_weight(A, alpha))) <= 1e-3


@pytest.mark.parametrize("alpha", [0.1, 0.35])
def test_admm_matches_cvxpy_on_clustered_pools(alpha: float) -> None:
    h_source, h_target, _ = clustered_pairs([30, 20, 10], seed=3, spread=0.2)
    A = dissimilarity_matrix(h_source, h_target)
    assert abs(gap(A, torch.ones(60, dtype=torch.float64), sparsity_weight(A, alpha))) <= 1e-3


def test_admm_output_is_feasible_in_float32() -> None:
    h_source, h_target = random_pairs(80, 4)
    A = dissimilarity_matrix(h_source, h_target).float()
    result = ds3_admm(A, torch.ones(80), sparsity_weight(A, 0.35))
    assert result.Z.dtype == torch.float32 and result.converged
    assert (result.Z >= 0).all()
    assert torch.allclose(result.Z.double().sum(0), torch.ones(80, dtype=torch.float64), atol=1e-6)


def test_plain_admm_with_small_rho_is_what_the_accelerations_fix() -> None:
    h_source, h_target = random_pairs(60, 1)
    A = dissimilarity_matrix(h_source, h_target)
    D = 1 + 2 * torch.rand(60, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    lam = sparsity_weight(A, 1.0)
    adaptive = ds3_admm(A, D, lam, working_set=False)
    fixed = ds3_admm(A, D, lam, adaptive=False, relaxation=1.0, working_set=False)
    assert adaptive.converged and adaptive.iterations < 300
    assert not fixed.converged and fixed.iterations == 1000
    assert fixed.objective > adaptive.objective * 1.01


def test_sparsity_weight_sets_the_number_of_representatives() -> None:
    h_source, h_target = random_pairs(80, 5)
    A = dissimilarity_matrix(h_source, h_target)
    D = torch.ones(80, dtype=torch.float64)
    strong = representatives(ds3_admm(A, D, sparsity_weight(A, 2.0)).Z)
    weak = representatives(ds3_admm(A, D, sparsity_weight(A, 0.02)).Z)
    assert 1 <= len(strong) <= 3
    assert len(weak) >= 40


def test_representatives_cover_every_cluster() -> None:
    h_source, h_target, labels = clustered_pairs([20, 15, 10], seed=6)
    A = dissimilarity_matrix(h_source, h_target)
    reps = representatives(ds3_admm(A, torch.ones(45, dtype=torch.float64), sparsity_weight(A, 0.35)).Z)
    assert sorted(labels[reps].tolist()) == [0, 1, 2]                  # one per cluster


def test_representatives_threshold_and_order() -> None:
    Z = torch.tensor([[0.0, 0.0, 0.0, 0.12], [0.5, 0.5, 1.0, 0.0], [0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 0.95]])
    assert representatives(Z).tolist() == [1, 3, 2, 0]
    assert representatives(Z, threshold=0.2).tolist() == [1, 3, 2]
    assert representatives(torch.zeros(0, 0)).tolist() == []


def test_warm_start_is_the_smallest_row_sum() -> None:
    A = torch.tensor([[0.0, 4.0, 4.0], [1.0, 0.0, 1.0], [4.0, 4.0, 0.0]], dtype=torch.float64)
    start = ds3_admm(A, torch.ones(3, dtype=torch.float64), lam=1.0, max_iter=0)
    expected = torch.zeros(3, 3, dtype=torch.float64)
    expected[1] = 1
    assert torch.equal(start.Z, expected) and start.iterations == 0 and not start.converged
    assert start.rows.tolist() == [1]
    assert start.objective == pytest.approx(1.0 * np.sqrt(3) + 2.0)


def test_projection_matches_sorting_and_lies_on_the_simplex() -> None:
    g = torch.Generator().manual_seed(7)
    for scale in (0.001, 1.0, 50.0):
        V = scale * torch.randn(40, 30, generator=g, dtype=torch.float64)
        V[:, 0] = 0.0                                                    # all-equal column
        P = project_columns_to_simplex(V.clone())
        assert torch.allclose(P, project_columns_to_simplex_sorted(V), atol=1e-12)
        assert (P >= 0).all() and torch.allclose(P.sum(0), torch.ones(30, dtype=torch.float64))
    assert torch.equal(project_columns_to_simplex(torch.tensor([[0.2], [3.0]])), torch.tensor([[0.0], [1.0]]))


def test_dissimilarity_matches_its_definition() -> None:
    h_source, h_target = random_pairs(12, 8, dim=5)
    A = dissimilarity_matrix(h_source, h_target)
    expected = (torch.cdist(h_source, h_source) ** 2 + torch.cdist(h_target, h_target) ** 2) / 2
    assert torch.allclose(A, expected, atol=1e-12)
    assert torch.equal(A, A.t()) and torch.equal(A.diagonal(), torch.zeros(12, dtype=torch.float64))
    assert (A >= 0).all()


def test_sparsity_weight_uses_the_dissimilarities() -> None:
    A = torch.tensor([[0.0, 3.0], [3.0, 0.0]])
    assert sparsity_weight(A, 0.5) == pytest.approx(0.5 * np.sqrt(18) / np.sqrt(2))


def test_diversity_penalises_candidates_near_labelled_pairs(monkeypatch) -> None:
    h_source, h_target = random_pairs(30, 9)
    labelled_source, labelled_target = h_source[:3] + 0.01, h_target[:3] + 0.01
    D = diversity_penalty(h_source, h_target, labelled_source, labelled_target, sigma=3.0)
    assert D.shape == (30,) and torch.isfinite(D).all()
    assert (D >= 1 - 1e-12).all() and (D <= 3 + 1e-12).all()
    assert D.min() == pytest.approx(1.0)                               # the farthest candidate
    assert (D[:3] > 2.9).all() and D[:3].min() > D[3:].max()
    # Chunking over labelled pairs changes nothing.
    many_source, many_target = random_pairs(50, 10)
    whole = diversity_penalty(h_source, h_target, many_source, many_target)
    monkeypatch.setattr(csls, "BLOCK_ELEMENTS", 60)           # 2 labelled pairs per block
    assert torch.allclose(diversity_penalty(h_source, h_target, many_source, many_target), whole)


def test_diversity_edge_cases() -> None:
    h_source, h_target = random_pairs(5, 11)
    none = torch.zeros(0, 16, dtype=torch.float64)
    assert torch.equal(diversity_penalty(h_source, h_target, none, none), torch.ones(5, dtype=torch.float64))
    on_top = diversity_penalty(h_source[:1], h_target[:1], h_source[:1], h_target[:1], sigma=2.0)
    assert on_top.tolist() == [2.0]
    with pytest.raises(ValueError, match="sigma"):
        diversity_penalty(h_source, h_target, h_source, h_target, sigma=0.5)


def test_bad_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match="square"):
        ds3_admm(torch.zeros(3, 4), torch.ones(3), 1.0)
    with pytest.raises(ValueError, match="row penalty"):
        ds3_admm(torch.zeros(3, 3), torch.ones(4), 1.0)


def test_reference_solver_failures_are_explained() -> None:
    with pytest.raises(RuntimeError, match="not installed"):
        ds3_cvxpy(np.zeros((3, 3)), np.ones(3), 1.0, solver="GUROBI")
