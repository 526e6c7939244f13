"""DS3 (dissimilarity-based sparse subset selection, eq. 8) solved by ADMM (spec 6.4-6.5).

    min_Z  lambda * sum_i D_i ||Z_i,:||_2 + tr(A^T Z)   s.t.  1^T Z = 1^T,  Z >= 0

Z[i, j] is how much candidate i represents candidate j; rows that stay non-zero are the
representatives. The splitting Z = P puts the row-sparsity term on Z and the simplex
constraint on P; every step is a whole-matrix torch operation, so the solver runs on A's
device (CUDA when present).

At the paper's lambda scale only a handful of rows are non-zero (lambda grows like
sqrt(K), so the number of representatives does not), and each represents candidates far
from it: on a pool of FB15K237-DB15K pairs (K = 1000, alpha = 0.35, model trained 5
epochs) a candidate's representative is, at the median, its 500th nearest candidate. So
restricting each column of Z to its m nearest candidates would change the solution;
instead ADMM runs on a small working set of rows, grown by the optimality conditions of
the full problem and certified by a dual bound (``ds3_admm``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

BALANCE = 3.0
"""Residual ratio beyond which rho is changed (Boyd et al.'s mu)."""
RHO_STEP = 2.0
"""Factor by which rho is changed (Boyd et al.'s tau)."""
GROWTH = (8, 64)
"""Fewest and most rows added to the working set per round (in between, it doubles)."""
ROUND_ITER = 50
"""ADMM iterations between two pricings of the rows outside the working set."""
PRICING_BLOCK = 1 << 20
"""Entries of A read per block when pricing rows outside the working set."""


@dataclass(frozen=True, eq=False)
class DS3Result:
    """The ADMM solution of eq. 8, stored by its rows that may be non-zero."""

    rows: torch.Tensor
    """(S,) int64 ascending: the working set; every other row of Z is zero."""
    Z_rows: torch.Tensor
    """(S, K) those rows of Z; every column lies on the probability simplex."""
    objective: float
    """Eq.-8 objective of Z (``ds3_objective``)."""
    iterations: int
    """ADMM iterations run, over all rounds."""
    converged: bool
    """Whether, within ``max_iter`` iterations, ADMM met its stopping rule, no row outside
    the set violates optimality, and ``gap`` <= ``gap_tol``."""
    gap: float
    """Certified relative gap (objective - dual bound) / max(1, objective): how far, at most,
    the objective is above the optimum (nan when A has negative entries)."""

    @property
    def Z(self) -> torch.Tensor:
        """(K, K) dense assignment (K^2 memory: for small K and tests)."""
        k = self.Z_rows.shape[1]
        Z = self.Z_rows.new_zeros(k, k)
        Z[self.rows] = self.Z_rows
        return Z

    def row_norms(self) -> torch.Tensor:
        """(K,) L2 norm of every row of Z (the representatives' weights)."""
        norms = self.Z_rows.new_zeros(self.Z_rows.shape[1])
        norms[self.rows] = torch.linalg.vector_norm(self.Z_rows, dim=1)
        return norms


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


@dataclass
class _State:
    """ADMM iterate on the working set: P (S, K) feasible, Lambda (S, K) its dual, rho, and
    the objective of P."""

    P: torch.Tensor
    Lam: torch.Tensor
    rho: float
    objective: float


def _admm(
    A: torch.Tensor, D: torch.Tensor, lam: float, state: _State, max_iter: int, tol: float,
    adaptive: bool, relaxation: float, min_iter: int = 0,
) -> tuple[int, bool]:
    """ADMM steps on the rows ``A`` (S, K), updating ``state``; returns (iterations, converged).

    Z <- row-shrink(P - (Lambda + A) / rho, lam D_i / rho); P <- simplex projection of the
    columns of Z + Lambda / rho; Lambda <- Lambda + rho (Z - P), with ``relaxation`` a in
    (0, 2) putting a Z + (1 - a) P_prev in place of Z in the last two steps. Stops when
    ||Z - P||_F <= tol * max(1, ||P||_F) and the objective of P changed by at most
    tol * max(1, |objective|), after at least ``min_iter`` steps. With ``adaptive``, rho is
    doubled when the primal residual ||Z - P|| exceeds 3x the dual one rho ||P - P_prev||
    and halved in the opposite case (Lambda is kept unscaled, so nothing needs rescaling).
    """
    P, Lam, rho, previous = state.P, state.Lam, state.rho, state.objective
    converged, iteration = False, 0
    # Every step is written in place or fused (add with alpha) because with many rows an
    # iteration is bound by passes over S x K memory, not by arithmetic.
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
        stalled = abs(objective - previous) <= tol * max(1.0, abs(objective))
        previous = objective
        feasible = primal <= tol * max(1.0, p_norm)
        if iteration >= min_iter and feasible and stalled:
            converged = True
            break
        # Not once the primal residual is within tolerance: at a vertex P stops moving, the
        # dual residual is 0, and rho would double without end (1e14 seen), freezing Lambda.
        if adaptive and primal > BALANCE * dual and not feasible:
            rho *= RHO_STEP
        elif adaptive and dual > BALANCE * primal:
            rho /= RHO_STEP
    state.P, state.Lam, state.rho, state.objective = P, Lam, rho, previous
    return iteration, converged


def _pricing(A: torch.Tensor, D: torch.Tensor, lam: float, prices: torch.Tensor) -> torch.Tensor:
    """(K,) ||(u - A_i,:)_+||_2 / (lam D_i) for every row i, one block of rows at a time.

    A row outside the working set can lower the objective only when this exceeds 1 (the
    optimality condition of a zero row, with u the column prices).
    """
    step = max(1, PRICING_BLOCK // max(1, A.shape[1]))
    norms = torch.cat([
        torch.linalg.vector_norm((prices - A[lo : lo + step]).clamp_(min=0), dim=1)
        for lo in range(0, A.shape[0], step)
    ])
    return norms / (lam * D).clamp(min=torch.finfo(A.dtype).tiny)


def _rows_to_add(
    A: torch.Tensor, D: torch.Tensor, lam: float, prices: torch.Tensor, ratio: torch.Tensor,
    violating: torch.Tensor, n: int, kkt_tol: float,
) -> torch.Tensor:
    """Up to ``n`` of the ``violating`` rows, chosen greedily so that they are not near-copies.

    The most violating rows are often near-duplicates in one under-served cluster; ADMM
    then splits the cluster's mass among them and converges slowly (over 1,000 iterations
    instead of under 100 on tight synthetic clusters). So after taking the most violating candidate, the prices
    of the columns it covers drop as if it represented them alone (A_ij + lam D_i /
    sqrt(covered)), the remaining candidates are priced again, and a copy no longer
    violates. Correctness does not rest on this choice: the final pricing checks every row.
    """
    candidates = violating[torch.argsort(ratio[violating], descending=True)[: 2 * n]]
    A_c = A[candidates]
    thresholds = (lam * D[candidates]).clamp(min=torch.finfo(A.dtype).tiny)
    remaining = ratio[candidates].clone()
    picked: list[int] = []
    for _ in range(n):
        best = int(torch.argmax(remaining))
        if float(remaining[best]) <= 1 + kkt_tol:
            break
        picked.append(best)
        covered = int((A_c[best] < prices).sum())
        prices = torch.minimum(prices, A_c[best] + lam * float(D[candidates[best]]) / math.sqrt(max(covered, 1)))
        remaining = torch.linalg.vector_norm((prices - A_c).clamp_(min=0), dim=1) / thresholds
        remaining[picked] = -math.inf
    return candidates[torch.tensor(picked, dtype=torch.long, device=A.device)]


def _certified_gap(objective: float, prices: torch.Tensor, ratio: torch.Tensor) -> float:
    """(objective - dual bound) / max(1, |objective|): an upper bound on how far, relative
    to the objective, it lies above the optimum. The dual of eq. 8 is max sum_j u_j s.t.
    ||(u - A_i,:)_+||_2 <= lam D_i for all i; with A >= 0, dividing u by its largest
    ``ratio`` makes it feasible, so sum(u) / max(1, max ratio) bounds the optimum from below.
    """
    bound = float(prices.double().sum()) / max(1.0, float(ratio.max()))
    return (objective - bound) / max(1.0, abs(objective))


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
    working_set: bool = True,
    kkt_tol: float = 1e-4,
    gap_tol: float = 1e-3,
) -> DS3Result:
    """Solve eq. 8 by ADMM on ``A``'s device and dtype (spec 6.4), for the full problem.

    ``A`` (K, K) dissimilarities, ``D`` (K,) row penalties, ``lam`` the sparsity weight.
    ``max_iter`` caps the ADMM iterations over all rounds; ``tol`` is ADMM's stopping rule
    (``_admm``). Warm start as in Elhamifar's DS3: P one-hot on the row of smallest row sum
    of A (the single best representative of everything). Returns P with its columns
    renormalised, feasible by construction.

    Working set (the default): ADMM runs on a set S of rows only (S x K memory and work,
    not K^2), from the warm-start row. At convergence, and every ``ROUND_ITER`` iterations
    before it (so a slow solve on too few rows cannot use up the budget), the column prices
    u_j = -Lambda_ij at the column's largest P_ij (the duals of the column constraints:
    Lambda_:j is constant on P's support, and the zero rows' entries lag) price every row
    outside S (``_pricing``); rows whose optimality condition fails by more than
    ``kkt_tol`` join S (``_rows_to_add``, 8 to 64 a round) with P_i = 0 and
    Lambda_i = -max(u, A_i) (consistent with the prices), and ADMM resumes from its state.
    It stops when ADMM has converged, no row violates, and the prices certify
    (``_certified_gap``) that the objective is within ``gap_tol`` of the full problem's
    optimum; while they do not, ADMM runs another round (the stopping rule can hold while
    Lambda still lags P). ``working_set=False`` runs ADMM on all K rows from the same start
    (K^2 per iteration), the reference path: 25 s against the working set's 0.03-0.04 s at
    K = 1000 (``bench/solver_benchmark.py``).

    Two standard accelerations (Boyd et al. 2011, sections 3.4.1 and 3.4.3) make ADMM
    converge at the paper's lambda scale: on all rows of random pools (K = 60-300, alpha =
    0.35-1), a fixed rho = 0.1 without relaxation (``adaptive=False, relaxation=1.0``) is
    still 0.5-3% above cvxpy's optimum after 1,000 iterations; the accelerated one is
    within 1e-4 of it after 60-400.
    """
    _validate(A, D, lam, rho, relaxation)
    k = A.shape[0]
    D = D.to(device=A.device, dtype=A.dtype)
    if k == 0:
        return DS3Result(torch.zeros(0, dtype=torch.long, device=A.device), A.new_zeros(0, 0), 0.0, 0, True, 0.0)
    start = int(torch.argmin(A.sum(dim=1)))
    # The warm start's prices: column j is covered by the start row alone, at A_sj plus
    # that row's marginal penalty lam D_s Z_sj / ||Z_s|| = lam D_s / sqrt(K).
    prices = A[start] + lam * float(D[start]) / math.sqrt(k)
    rows = torch.tensor([start], device=A.device) if working_set else torch.arange(k, device=A.device)
    P = A.new_zeros(len(rows), k)
    P[rows == start] = 1
    state = _State(P, -torch.maximum(prices, A[rows]), rho, _objective(P, A[rows], D[rows], lam)[0])
    nonnegative = float(A.min()) >= 0
    iterations, converged = 0, False
    while True:
        ratio = _pricing(A, D, lam, prices)
        outside = torch.ones(k, dtype=torch.bool, device=A.device)
        outside[rows] = False
        violating = torch.nonzero(outside & (ratio > 1 + kkt_tol)).flatten()
        # ADMM's rule can hold while Lambda still lags (P settles first), and prices from a
        # lagging Lambda can hide violating rows: so the duals must certify the solution too.
        certified = not nonnegative or _certified_gap(state.objective, prices, ratio) <= gap_tol
        if converged and len(violating) == 0 and certified:
            break
        if iterations >= max_iter:
            converged = False
            break
        if len(violating):
            grow = min(max(GROWTH[0], len(rows)), GROWTH[1])
            new = _rows_to_add(A, D, lam, prices, ratio, violating, grow, kkt_tol)
            rows = torch.cat([rows, new])
            state.P = torch.cat([state.P, state.P.new_zeros(len(new), k)])
            state.Lam = torch.cat([state.Lam, -torch.maximum(prices, A[new])])
        refine = converged and len(violating) == 0
        budget = min(ROUND_ITER, max_iter - iterations) if working_set or refine else max_iter - iterations
        used, converged = _admm(
            A[rows], D[rows], lam, state, budget, tol, adaptive, relaxation, min_iter=budget if refine else 0
        )
        iterations += used
        prices = -state.Lam.gather(0, state.P.argmax(dim=0, keepdim=True)).squeeze(0)
    order = torch.argsort(rows)
    # In float32 the projection's thresholds carry rounding of the order of eps x |Lambda| / rho;
    # one rescaling puts every column back on the simplex to machine precision.
    Z_rows = state.P[order] / state.P.sum(dim=0, keepdim=True)
    rows = rows[order]
    objective = ds3_objective(Z_rows, A[rows], D[rows], lam)
    gap = _certified_gap(objective, prices, ratio) if nonnegative else math.nan
    return DS3Result(rows, Z_rows, objective, iterations, converged, gap)


def representatives(Z: torch.Tensor | np.ndarray | DS3Result, threshold: float = 0.1) -> np.ndarray:
    """Indices of the rows of ``Z`` (K, K), or of a ``DS3Result``'s Z, whose largest entry
    is >= ``threshold`` x the largest entry of Z, ordered by row L2 norm, largest first
    (spec 6.5)."""
    if isinstance(Z, DS3Result):
        rows, Z = Z.rows.cpu().numpy(), Z.Z_rows
    else:
        rows = None
    Z = torch.as_tensor(Z).detach().double().cpu()
    if Z.numel() == 0:
        return np.zeros(0, dtype=np.int64)
    rows = np.arange(len(Z)) if rows is None else rows
    row_max = Z.max(dim=1).values
    chosen = torch.nonzero(row_max >= threshold * Z.max()).flatten().numpy()
    norms = torch.linalg.vector_norm(Z, dim=1).numpy()[chosen]
    return rows[chosen[np.argsort(-norms, kind="stable")]].astype(np.int64)
