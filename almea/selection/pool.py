"""The candidate pool Q (spec section 6.1, eq. 3): mutual CSLS nearest neighbours.

Below the neighbour search's size threshold every source is scored against every target by
``almea.evaluation.csls`` one block of rows at a time, so no dense |sources| x |targets|
matrix is held; the column-wise best sources are kept as a running maximum across blocks.
Above it each side's best partners come from the other side's nearest neighbours by an
approximate index, scored exactly by CSLS (``almea.neighbours.csls_search``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional as F

from almea.evaluation.csls import csls_blocks
from almea.neighbours import (
    CSLSView,
    EmbeddingIndexes,
    NeighbourConfig,
    csls_view,
    listed_pairs,
    side_indexes,
)


@dataclass(frozen=True, eq=False)
class CandidatePool:
    """Mutual-nearest-neighbour pairs, most confident first."""

    pairs: np.ndarray
    """(K, 2) int64 global ids (KG1 source, KG2 target)."""
    confidence: np.ndarray
    """(K,) CSLS score of the pair, non-increasing."""
    margin: np.ndarray
    """(K,) the source's best minus second-best CSLS score (inf with a single candidate target)."""
    rank: np.ndarray
    """(K,) 0-based position in the confidence order."""
    search: dict = field(default_factory=dict)
    """How the neighbours were found (``CSLSView.report``: exact, or the index and its recall)."""

    def __len__(self) -> int:
        return len(self.pairs)

    def take(self, rows: np.ndarray) -> CandidatePool:
        """The pool restricted to ``rows`` (ascending, so the confidence order holds); ranks keep
        their positions in the full pool, which is what the evidence shows."""
        rows = np.asarray(rows, dtype=np.int64)
        return CandidatePool(self.pairs[rows], self.confidence[rows], self.margin[rows], self.rank[rows], self.search)

    @classmethod
    def empty(cls) -> CandidatePool:
        return cls(np.zeros((0, 2), np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.int64))


def _ids(name: str, ids: torch.Tensor | np.ndarray, n: int) -> torch.Tensor:
    if isinstance(ids, torch.Tensor):
        ids = ids.detach().cpu().long().flatten()
    else:
        ids = torch.as_tensor(np.asarray(ids), dtype=torch.long).flatten()
    if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= n):
        raise ValueError(
            f"{name} must be global entity ids in [0, {n}), got range [{int(ids.min())}, {int(ids.max())}]"
        )
    return ids


def _positions(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each value in the non-empty ``ids`` (-1 where absent)."""
    order = np.argsort(ids, kind="stable")
    at = order[np.searchsorted(ids[order], values).clip(max=len(ids) - 1)]
    return np.where(ids[at] == values, at, -1)


def _excluded_cells(
    sources: np.ndarray, targets: np.ndarray, exclude: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) cells of the score matrix that hold answered pairs, sorted by row."""
    if exclude is None or len(exclude) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    exclude = np.asarray(exclude, dtype=np.int64)
    if exclude.ndim != 2 or exclude.shape[1] != 2:
        raise ValueError(
            f"exclude must be an (E, 2) array of (source, target) global ids, got shape {exclude.shape}"
        )
    rows, cols = _positions(sources, exclude[:, 0]), _positions(targets, exclude[:, 1])
    keep = (rows >= 0) & (cols >= 0)
    order = np.argsort(rows[keep], kind="stable")
    return rows[keep][order], cols[keep][order]


def _exact_neighbours(
    view: CSLSView, ex_rows: np.ndarray, ex_cols: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(best, second, best_target) of every source and the best source of every target, by
    scoring all pairs one block of sources at a time."""
    src, tgt, device = view.source, view.target, view.source.device
    n_src, n_tgt = len(src), len(tgt)
    best = torch.empty(n_src, device=device)
    second = torch.full((n_src,), -torch.inf, device=device)
    best_target = torch.empty(n_src, dtype=torch.long, device=device)
    col_best = torch.full((n_tgt,), -torch.inf, device=device)
    col_source = torch.full((n_tgt,), -1, dtype=torch.long, device=device)
    for lo, csls in csls_blocks(src, tgt, view.r_source, view.r_target):
        hi = lo + len(csls)
        a, b = np.searchsorted(ex_rows, [lo, hi])
        if b > a:
            rows = torch.as_tensor(ex_rows[a:b] - lo, device=device)
            csls[rows, torch.as_tensor(ex_cols[a:b], device=device)] = -torch.inf
        top = csls.topk(min(2, n_tgt), dim=1)
        best[lo:hi], best_target[lo:hi] = top.values[:, 0], top.indices[:, 0]
        if n_tgt > 1:
            second[lo:hi] = top.values[:, 1]
        block_best, block_source = csls.max(dim=0)
        better = block_best > col_best                              # strict: earlier block wins ties
        col_best = torch.where(better, block_best, col_best)
        col_source = torch.where(better, block_source + lo, col_source)
    return best, second, best_target, col_source


def _indexed_neighbours(
    view: CSLSView, ex_rows: np.ndarray, ex_cols: np.ndarray, m: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The same four as ``_exact_neighbours`` from each side's ``m`` nearest partners by cosine."""
    device, n_src, n_tgt = view.source.device, len(view.source), len(view.target)
    forward = torch.as_tensor(ex_rows * n_tgt + ex_cols, device=device)
    backward = torch.as_tensor(ex_cols * n_src + ex_rows, device=device)
    scores, cols = view.source_candidates(m, lambda rows: listed_pairs(rows, forward, n_tgt))
    second = scores[:, 1] if scores.shape[1] > 1 else torch.full((n_src,), -torch.inf, device=device)
    back, rows = view.target_candidates(m, lambda found: listed_pairs(found, backward, n_src))
    col_source = torch.where(torch.isfinite(back[:, 0]), rows[:, 0], -1)
    return scores[:, 0], second, cols[:, 0], col_source


@torch.no_grad()
def candidate_pool(
    embeddings: torch.Tensor,
    sources: torch.Tensor,
    targets: torch.Tensor,
    k: int = 10,
    k_max: int = 5000,
    exclude: np.ndarray | None = None,
    neighbours: NeighbourConfig = NeighbourConfig(),
    indexes: EmbeddingIndexes | None = None,
) -> CandidatePool:
    """Mutual CSLS nearest neighbours among ``sources`` x ``targets`` (spec section 6.1).

    ``embeddings`` (N, D) are the joint embeddings of all entities; ``sources`` (S,) and
    ``targets`` (T,) the global ids allowed as candidates (the caller passes unlabelled,
    non-test KG1 and KG2 entities). ``k`` is the CSLS neighbourhood size. Pairs in
    ``exclude`` (E, 2) (already answered) are masked before the neighbours are found, so a
    source whose best target was rejected can still pair with its next best one. The pool is
    sorted by CSLS score and capped at ``k_max`` (the least confident pairs are pruned).
    ``neighbours`` chooses exact or approximate search by the size of S x T. ``indexes``:
    the embeddings' shared indexes (``ActiveLearner.indexes``), whose config then rules;
    None: this call builds its own over the two subsets.
    """
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings must be (N, D), got shape {tuple(embeddings.shape)}")
    if k < 1 or k_max < 1:
        raise ValueError(f"k and k_max must be positive, got k={k}, k_max={k_max}")
    n = len(embeddings)
    src_ids, tgt_ids = _ids("sources", sources, n), _ids("targets", targets, n)
    if len(src_ids) == 0 or len(tgt_ids) == 0:
        return CandidatePool.empty()
    device = embeddings.device
    if indexes is None:
        emb = F.normalize(embeddings.float(), dim=1)
        indexes, src_rows, tgt_rows = side_indexes(emb[src_ids.to(device)], emb[tgt_ids.to(device)], neighbours)
    else:
        src_rows, tgt_rows = src_ids.to(device), tgt_ids.to(device)
    view = csls_view(indexes, src_rows, tgt_rows, k)
    ex_rows, ex_cols = _excluded_cells(src_ids.numpy(), tgt_ids.numpy(), exclude)
    if view.exact:
        best, second, best_target, col_source = _exact_neighbours(view, ex_rows, ex_cols)
    else:
        best, second, best_target, col_source = _indexed_neighbours(view, ex_rows, ex_cols, indexes.config.rerank)

    rows = torch.arange(len(best), device=device)
    mutual = torch.isfinite(best) & (col_source[best_target] == rows)
    keep = rows[mutual]
    conf = best[keep]
    order = torch.argsort(conf, descending=True, stable=True)[:k_max]
    keep = keep[order]
    pairs = torch.stack([src_ids[keep.cpu()], tgt_ids[best_target[keep].cpu()]], dim=1)
    return CandidatePool(
        pairs=pairs.numpy().astype(np.int64),
        confidence=best[keep].double().cpu().numpy(),
        margin=(best[keep] - second[keep]).double().cpu().numpy(),
        rank=np.arange(len(keep), dtype=np.int64),
        search=view.report(),
    )
