"""A cvxpy solve of DS3 (eq. 8), the reference the ADMM solver is validated against."""
from __future__ import annotations

import numpy as np
import torch

OK_STATUSES = ("optimal", "optimal_inaccurate")


def _array(x: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def ds3_cvxpy(
    A: torch.Tensor | np.ndarray,
    D: torch.Tensor | np.ndarray,
    lam: float,
    solver: str | None = None,
) -> np.ndarray:
    """(K, K) minimiser of lambda * sum_i D_i ||Z_i,:||_2 + tr(A^T Z) s.t. 1^T Z = 1^T, Z >= 0.

    ``solver`` is any installed cvxpy solver name (Clarabel by default). Meant for small K
    (a few hundred): the problem has K^2 variables.
    """
    import cvxpy as cp

    A, D = _array(A), _array(D)
    k = A.shape[0]
    if A.shape != (k, k) or D.shape != (k,):
        raise ValueError(f"need A (K, K) and D (K,), got {A.shape} and {D.shape}")
    Z = cp.Variable((k, k), nonneg=True)
    objective = lam * cp.sum(cp.multiply(D, cp.norm(Z, 2, axis=1))) + cp.sum(cp.multiply(A, Z))
    problem = cp.Problem(cp.Minimize(objective), [cp.sum(Z, axis=0) == 1])
    name = solver or cp.CLARABEL
    try:
        problem.solve(solver=name)
    except cp.error.SolverError as error:
        raise RuntimeError(f"cvxpy solver {name} failed on the K={k} DS3 problem: {error}") from error
    if problem.status not in OK_STATUSES or Z.value is None:
        raise RuntimeError(
            f"cvxpy solver {name} did not solve the K={k} DS3 problem (status {problem.status!r}); "
            f"try another solver, e.g. solver='SCS'"
        )
    return np.asarray(Z.value)
