"""DS3 (dissimilarity-based sparse subset selection, eq. 8) solved by ADMM (spec 6.4-6.5).

    min_Z  lambda * sum_i D_i ||Z_i,:||_2 + tr(A^T Z)   s.t.  1^T Z = 1^T,  Z >= 0

Z[i, j] is how much candidate i represents candidate j; rows that stay non-zero are the
representatives. The splitting Z = P puts the row-sparsity term on Z and the simplex
constraint on P; every step is a whole-matrix torch operation, so the solver runs on A's
device (CUDA when present).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

BALANCE = 3.0
"""Residual ratio beyond which rho is changed (Boyd et al.'s mu)."""
RHO_STEP = 2.0
"""Factor by which rho is changed (Boyd et al.'s tau)."""


@dataclass(frozen=True, eq=False)
class DS3Result:
    """The ADMM solution of eq. 8."""

    Z: torch.Tensor
    """(K, K) feasible assignment: every column lies on the probability simplex."""
    objective: float
    """Eq.-8 objective of ``Z`` (``ds3_objective``)."""
    iterations: int
    """ADMM iterations run."""
    converged: bool
    """Whether the stopping rule was met before ``max_iter``."""


def _objective(P: torch.Tensor, A: torch.Tensor, D: torch.Tensor, lam: float) -> tuple[float, float]:
    """(eq.-8 objective, ||P||_F) in two passes over P: its row norms and <A, P>."""
    row_norms = torch.linalg.vector_norm(P, dim=1)
    objective = lam * torch.dot(D, row_norms) + torch.dot(A.flatten(), P.flatten())
    return float(objective), float(torch.linalg.vector_norm(row_norms))


def ds3_objective(Z: torch.Tensor, A: torch.Tensor, D: torch.Tensor, lam: float) -> float:
    """lambda * sum_i D_i ||Z_i,:||_2 + tr(A^T Z) (eq. 8), in float64."""
    return _objective(Z.double(), A.double().to(Z.device), D.double().to(Z.device), lam)[0]


def simplex_thresholds(V: torch.Tensor) -> torch.Tensor:
    """(1, M) thresholds theta with sum_i max(V_ij - theta_j, 0) = 1 for every column j.

    Michelot's (1986) algorithm on all columns at once: from (sum - 1) / K, below the
    answer, theta is raised to (sum of the entries above theta - 1) / their count until no
    column changes; the set above theta only shrinks, so it ends, exactly, within K steps
    (five to ten in DS3). (Warm-starting from the previous iteration's thresholds through a
    Newton step was tried and is slower: the step from above overshoots far below.)
    """
    theta = (V.sum(dim=0, keepdim=True) - 1) / len(V)
    for _ in range(len(V) + 1):
        above = V > theta
        raised = (torch.where(above, V, 0).sum(dim=0, keepdim=True) - 1) / above.sum(dim=0, keepdim=True)
        grew = raised > theta                                      # False for NaN (nothing above)
        if not bool(grew.any()):
            break
        theta = torch.where(grew, raised, theta)
    return theta


def project_columns_to_simplex(V: torch.Tensor) -> torch.Tensor:
    """Euclidean projection of every column of ``V`` (K, M) onto the probability simplex.

    By Michelot's algorithm (``simplex_thresholds``): the same projection as the
    sort-based one of Duchi et al. (``project_columns_to_simplex_sorted``) but 3-4x faster
    inside DS3, whose early iterates have columns with hundreds of positive entries.
    """
    return (V - simplex_thresholds(V)).clamp_(min=0)


def project_columns_to_simplex_sorted(V: torch.Tensor) -> torch.Tensor:
    """The same projection by the sort-based algorithm of Duchi et al. (2008), all columns at once."""
    u = torch.sort(V, dim=0, descending=True).values
    css = u.cumsum(dim=0) - 1
    j = torch.arange(1, len(V) + 1, dtype=V.dtype, device=V.device)[:, None]
    count = (u * j > css).sum(dim=0, keepdim=True)                 # the support size, >= 1
    return (V - css.gather(0, count - 1) / count).clamp_(min=0)


def _shrink_rows_(V: torch.Tensor, thresholds: torch.Tensor) -> torch.Tensor:
    """Row-wise block soft-thresholding, in place: row i scaled by max(0, 1 - t_i / ||V_i||)."""
    norms = torch.linalg.vector_norm(V, dim=1)
    scale = (1 - thresholds / norms.clamp(min=torch.finfo(V.dtype).tiny)).clamp_(min=0)
    return V.mul_(scale[:, None])


def _validate(A: torch.Tensor, D: torch.Tensor, lam: float, rho: float, relaxation: float) -> None:
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square (K, K) dissimilarity matrix, got shape {tuple(A.shape)}")
    if D.shape != (A.shape[0],):
        raise ValueError(f"D must be a (K,) = ({A.shape[0]},) row penalty, got shape {tuple(D.shape)}")
    if lam < 0 or rho <= 0:
        raise ValueError(f"need lam >= 0 and rho > 0, got lam={lam}, rho={rho}")
    if not 0 < relaxation < 2:
        raise ValueError(f"relaxation must lie in (0, 2), got {relaxation}")


@torch.no_grad()
def ds3_admm(
    A: torch.Tensor,
    D: torch.Tensor,
    lam: float,
    rho: float = 0.1,
    max_iter: int = 1000,
    tol: float = 1e-5,
    adaptive: bool = True,
    relaxation: float = 1.8,
) -> DS3Result:
    """Solve eq. 8 by ADMM on ``A``'s device and dtype (spec 6.4).

    ``A`` (K, K) dissimilarities, ``D`` (K,) row penalties, ``lam`` the sparsity weight.
    Steps: Z <- row-shrink(P - (Lambda + A) / rho, lam D_i / rho); P <- simplex projection
    of the columns of Z + Lambda / rho; Lambda <- Lambda + rho (Z - P). Warm start as in
    Elhamifar's DS3: Z = P one-hot on the row of smallest row sum of A (the single best
    representative of everything). Stops when ||Z - P||_F <= tol * max(1, ||P||_F) and the
    objective of P changed by at most tol * max(1, |objective|). Returns P, which is
    feasible by construction.

    Two standard accelerations (Boyd et al. 2011, sections 3.4.1 and 3.4.3) make it
    converge at the paper's lambda scale; ``adaptive=False, relaxation=1.0`` gives the plain
    steps above. ``rho`` is only the initial penalty: with ``adaptive`` it is doubled when
    the primal residual ||Z - P|| exceeds 3x the dual one rho ||P - P_prev|| and halved in
    the opposite case (Lambda is kept unscaled, so nothing needs rescaling). With
    ``relaxation`` a in (0, 2), the P and Lambda steps use a Z + (1 - a) P_prev in place of
    Z. Measured on random and clustered pools (K = 20-300, alpha = 0.1-2): a fixed
    rho = 0.1 is still 30-50% above cvxpy's optimum after 1,000 iterations at alpha >= 0.35;
    the accelerated solver is within 1e-4 of it after 50-900 iterations.
    """
    _validate(A, D, lam, rho, relaxation)
    k = A.shape[0]
    D = D.to(device=A.device, dtype=A.dtype)
    P = torch.zeros_like(A)
    if k == 0:
        return DS3Result(P, 0.0, 0, True)
    P[int(torch.argmin(A.sum(dim=1)))] = 1
    Lam = torch.zeros_like(A)
    previous, _ = _objective(P, A, D, lam)
    converged, iteration = False, 0
    # Every step is written in place or fused (add with alpha) because at K in the
    # thousands an iteration is bound by passes over K^2 memory, not by arithmetic.
    for iteration in range(1, max_iter + 1):
        Z = _shrink_rows_(torch.add(P, Lam.add(A), alpha=-1 / rho), lam * D / rho)
        Z_relaxed = torch.lerp(P, Z, relaxation) if relaxation != 1.0 else Z.clone()
        V = torch.add(Z_relaxed, Lam, alpha=1 / rho)
        P_next = V.sub_(simplex_thresholds(V)).clamp_(min=0)                         # columns on the simplex
        Lam.add_(Z_relaxed.sub_(P_next), alpha=rho)
        primal = float(torch.dist(Z, P_next))
        dual = rho * float(torch.dist(P_next, P))
        P = P_next
        objective, p_norm = _objective(P, A, D, lam)
        if primal <= tol * max(1.0, p_norm) and abs(objective - previous) <= tol * max(1.0, abs(objective)):
            converged = True
            break
        previous = objective
        if adaptive and primal > BALANCE * dual:
            rho *= RHO_STEP
        elif adaptive and dual > BALANCE * primal:
            rho /= RHO_STEP
    # In float32 the projection's thresholds carry rounding of the order of eps x |Lambda| / rho;
    # one rescaling puts every column back on the simplex to machine precision.
    P = P / P.sum(dim=0, keepdim=True)
    return DS3Result(P, ds3_objective(P, A, D, lam), iteration, converged)


def representatives(Z: torch.Tensor | np.ndarray, threshold: float = 0.1) -> np.ndarray:
    """Indices of the rows of ``Z`` (K, K) whose largest entry is >= ``threshold`` x the
    largest entry of Z, ordered by row L2 norm, largest first (spec 6.5)."""
    Z = torch.as_tensor(Z).detach().double().cpu()
    if Z.numel() == 0:
        return np.zeros(0, dtype=np.int64)
    row_max = Z.max(dim=1).values
    chosen = torch.nonzero(row_max >= threshold * Z.max()).flatten().numpy()
    norms = torch.linalg.vector_norm(Z, dim=1).numpy()[chosen]
    return chosen[np.argsort(-norms, kind="stable")].astype(np.int64)
