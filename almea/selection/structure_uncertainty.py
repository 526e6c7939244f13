"""Structure-aware uncertainty (ActiveEA, Liu et al. 2021): a remedy for DS3 that looks at the graph.

An answer about one entity also teaches the model about its neighbours (their alignment is
propagated by the graph encoder), so an uncertain entity with many uncertain neighbours is
worth more than an isolated one. ActiveEA's recurrence spreads each entity's own
uncertainty q over its in-neighbours, PageRank style:

    Q = alpha * P Q + (1 - alpha) * q,    P[i, j] = A[i, j] / deg(j)

solved by a fixed number of iterations (it converges geometrically at rate alpha). A pair's
value is Q of its source plus Q of its target; q of an entity is the uncertainty of the
pool pair it belongs to, 1 / (1 + margin / median margin), and 0 outside the pool.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from almea.config_checks import check_int, check_number
from almea.selection.pool import CandidatePool
from almea.selection.strategies import Selection, SelectionContext, _selection


def propagated_uncertainty(graph: sp.csr_matrix, own: np.ndarray, alpha: float, iterations: int) -> np.ndarray:
    """(N,) Q of the recurrence above for the entity graph ``graph`` (N, N) and ``own`` = q (N,)."""
    degree = np.asarray(graph.sum(axis=0)).reshape(-1)
    spread = graph @ sp.diags(np.divide(1.0, degree, out=np.zeros_like(degree, dtype=np.float64), where=degree > 0))
    value = own.astype(np.float64)
    for _ in range(iterations):
        value = alpha * (spread @ value) + (1 - alpha) * own
    return value


@dataclass(frozen=True)
class StructureUncertaintySelection:
    """Highest propagated uncertainty first; plain uncertainty when no graph is given."""

    propagation: float = 0.5
    """ActiveEA's alpha: the weight of the neighbours' uncertainty against the entity's own."""
    iterations: int = 10
    """Fixed-point iterations (the error after them is at most propagation ** iterations)."""

    def __post_init__(self) -> None:
        check_number("structure-uncertainty", "propagation", self.propagation, 0.0, 1.0, open_high=True)
        check_int("structure-uncertainty", "iterations", self.iterations, 1)

    def __call__(self, pool: CandidatePool, context: SelectionContext, n: int) -> Selection:
        started = time.perf_counter()
        finite = pool.margin[np.isfinite(pool.margin)]
        scale = float(np.median(finite)) if len(finite) and np.median(finite) > 0 else 1.0
        uncertainty = 1.0 / (1.0 + np.where(np.isfinite(pool.margin), pool.margin, np.inf) / scale)
        if context.graph is None:
            value = uncertainty
        else:
            own = np.zeros(context.graph.shape[0])
            own[pool.pairs[:, 0]] = uncertainty
            own[pool.pairs[:, 1]] = uncertainty
            spread = propagated_uncertainty(context.graph, own, self.propagation, self.iterations)
            value = spread[pool.pairs[:, 0]] + spread[pool.pairs[:, 1]]
        return _selection(pool, np.argsort(-value, kind="stable"), n, "structure-uncertainty", started)


structure_uncertainty_selection = StructureUncertaintySelection()
