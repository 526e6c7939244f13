"""Selection strategies (spec 6.4-6.6), modAL style: callables with one signature

    strategy(pool: CandidatePool, context: SelectionContext, n: int) -> Selection

so DS3/ACS and the baselines are compared on equal terms and looked up by name in
``almea.selection.registry.STRATEGIES``. A strategy owns its parameters: the baselines are plain functions with
none, DS3 is a small frozen dataclass whose fields (alpha, sigma, diversity, solver) are
checked when it is built; ``make_strategy(name, **parameters)`` gives a configured one.
Every strategy returns at most n distinct pairs of the pool (the whole pool when n is
larger), each with the figures that explain why it was chosen.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
import numpy as np
import scipy.sparse as sp
import torch
from torch.nn import functional as F

from almea.config_checks import check_bool, check_choice, check_number
from almea.selection.dissimilarity import dissimilarity_matrix, diversity_penalty, sparsity_weight
from almea.selection.ds3 import ds3_admm, representatives
from almea.selection.pool import CandidatePool

SOLVERS = ("admm", "cvxpy")


@dataclass(frozen=True, eq=False)
class SelectionContext:
    """What a strategy may look at besides the pool."""

    embeddings: torch.Tensor
    """(N, D) joint embeddings of all entities (``ALMEA.embed``)."""
    labelled: np.ndarray
    """(L, 2) int64 global ids of the labelled pool (base labels plus accepted answers)."""
    degree: np.ndarray
    """(N,) int64 entity degrees in their own KG (the degree baseline)."""
    rng: np.random.Generator
    """Randomness of the random baseline; seed it for reproducible picks."""
    graph: sp.csr_matrix | None = None
    """(N, N) symmetric 0/1 relation graph of both KGs (structure-aware strategies); None: not given."""

    def __post_init__(self) -> None:
        if self.embeddings.ndim != 2:
            raise ValueError(f"embeddings must be (N, D), got shape {tuple(self.embeddings.shape)}")
        labelled = np.asarray(self.labelled, dtype=np.int64)
        if labelled.size == 0:
            labelled = labelled.reshape(0, 2)
        if labelled.ndim != 2 or labelled.shape[1] != 2:
            raise ValueError(f"labelled must be an (L, 2) array of (source, target) ids, got shape {labelled.shape}")
        object.__setattr__(self, "labelled", labelled)
        object.__setattr__(self, "degree", np.asarray(self.degree, dtype=np.int64))
        if self.degree.shape != (len(self.embeddings),):
            raise ValueError(f"degree must have one entry per entity ({len(self.embeddings)}), got {self.degree.shape}")


@dataclass(frozen=True, eq=False)
class Selection:
    """The pairs a strategy chose, in the order they should be asked, with their reasons."""

    pairs: np.ndarray
    """(n, 2) int64 global ids (source, target)."""
    confidence: np.ndarray
    """(n,) CSLS score of each pair."""
    rank: np.ndarray
    """(n,) position of each pair in the pool's confidence order (0 = most confident)."""
    diversity: np.ndarray
    """(n,) diversity penalty D_i in [1, sigma] (1.0 where the strategy does not compute it)."""
    row_weight: np.ndarray
    """(n,) L2 norm of the pair's row of the DS3 solution Z (0 for other strategies)."""
    strategy: str
    """Registry name of the strategy."""
    seconds: float
    """Wall time of the selection."""

    def __len__(self) -> int:
        return len(self.pairs)

    def to_records(self) -> list[dict[str, float | int]]:
        """One plain dict per pair, for the app's queue and for files."""
        return [
            {
                "source": int(s),
                "target": int(t),
                "confidence": float(c),
                "rank": int(r),
                "diversity_penalty": float(d),
                "row_weight": float(w),
            }
            for (s, t), c, r, d, w in zip(self.pairs, self.confidence, self.rank, self.diversity, self.row_weight)
        ]


def _selection(
    pool: CandidatePool,
    order: np.ndarray,
    n: int,
    strategy: str,
    started: float,
    diversity: np.ndarray | None = None,
    row_weight: np.ndarray | None = None,
) -> Selection:
    """The first ``n`` pool indices of ``order`` (a permutation of a subset of the pool)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    chosen = np.asarray(order, dtype=np.int64)[:n]
    return Selection(
        pairs=pool.pairs[chosen],
        confidence=pool.confidence[chosen],
        rank=pool.rank[chosen],
        diversity=np.ones(len(chosen)) if diversity is None else diversity[chosen],
        row_weight=np.zeros(len(chosen)) if row_weight is None else row_weight[chosen],
        strategy=strategy,
        seconds=time.perf_counter() - started,
    )


def _pair_embeddings(embeddings: torch.Tensor, pairs: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(P, D) L2-normalised source and target embeddings, the geometry the pool's cosine uses."""
    ids = torch.as_tensor(pairs, dtype=torch.long, device=embeddings.device)
    return F.normalize(embeddings[ids[:, 0]].float(), dim=1), F.normalize(embeddings[ids[:, 1]].float(), dim=1)


@dataclass(frozen=True)
class DS3Selection:
    """DS3/ACS (spec 6.2-6.5): representatives of the pool by eq. 8, diversity-penalised.

    Representatives come first, by row norm of Z; when there are fewer than ``n`` the
    rest is filled from the pool in confidence order.
    """

    alpha: float = 0.35
    """DS3 sparsity: lambda = alpha ||A||_F / sqrt(K) (B.3); 0.35 at 20% seeds on FB-DB
    (the paper explores 0.1 to 1); larger alpha gives fewer representatives."""
    sigma: float = 3.0
    """Largest diversity penalty (eq. 7), given to candidates sitting on labelled pairs."""
    use_diversity: bool = True
    """Penalise candidates near labelled pairs (eqs. 6-7); False gives plain DS3."""
    solver: str = "admm"
    """DS3 solver: "admm" (any size, on the embeddings' device) or "cvxpy" (small K, checks)."""

    def __post_init__(self) -> None:
        check_number("ds3", "alpha", self.alpha, 0.0, open_low=True)
        check_number("ds3", "sigma", self.sigma, 1.0)
        check_bool("ds3", "use_diversity", self.use_diversity)
        check_choice("ds3", "solver", self.solver, SOLVERS)

    @torch.no_grad()
    def __call__(self, pool: CandidatePool, context: SelectionContext, n: int) -> Selection:
        started = time.perf_counter()
        if len(pool) == 0 or n == 0:
            return _selection(pool, np.zeros(0, np.int64), n, "ds3", started)
        h_source, h_target = _pair_embeddings(context.embeddings, pool.pairs)
        A = dissimilarity_matrix(h_source, h_target)
        if self.use_diversity and len(context.labelled):
            l_source, l_target = _pair_embeddings(context.embeddings, context.labelled)
            D = diversity_penalty(h_source, h_target, l_source, l_target, self.sigma)
        else:
            D = torch.ones(len(pool), dtype=A.dtype, device=A.device)
        lam = sparsity_weight(A, self.alpha)
        if self.solver == "admm":
            result = ds3_admm(A, D, lam)
            chosen, row_weight = representatives(result), result.row_norms()
        else:
            from almea.selection.ds3_reference import ds3_cvxpy

            Z = torch.from_numpy(ds3_cvxpy(A, D, lam))
            chosen, row_weight = representatives(Z), torch.linalg.vector_norm(Z, dim=1)
        rest = np.setdiff1d(np.arange(len(pool)), chosen)               # ascending = confidence order
        row_weight = row_weight.double().cpu().numpy()
        diversity = D.double().cpu().numpy()
        return _selection(pool, np.concatenate([chosen, rest]), n, "ds3", started, diversity, row_weight)


ds3_selection = DS3Selection()
"""DS3 with the paper's parameters."""


def random_selection(pool: CandidatePool, context: SelectionContext, n: int) -> Selection:
    """Uniformly random pool pairs, drawn with ``context.rng``."""
    started = time.perf_counter()
    order = context.rng.choice(len(pool), size=min(max(n, 0), len(pool)), replace=False)
    return _selection(pool, order, n, "random", started)


def most_confident_selection(pool: CandidatePool, context: SelectionContext, n: int) -> Selection:
    """The top of the pool: highest CSLS score first."""
    started = time.perf_counter()
    return _selection(pool, np.arange(len(pool)), n, "most-confident", started)


def uncertainty_selection(pool: CandidatePool, context: SelectionContext, n: int) -> Selection:
    """Smallest margin between the source's best and second-best CSLS score first."""
    started = time.perf_counter()
    return _selection(pool, np.argsort(pool.margin, kind="stable"), n, "uncertainty", started)


def degree_selection(pool: CandidatePool, context: SelectionContext, n: int) -> Selection:
    """Largest source degree + target degree first (ties in confidence order)."""
    started = time.perf_counter()
    score = context.degree[pool.pairs[:, 0]] + context.degree[pool.pairs[:, 1]]
    return _selection(pool, np.argsort(-score, kind="stable"), n, "degree", started)
