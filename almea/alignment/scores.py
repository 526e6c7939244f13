"""One CSLS view of the whole KG pair that pseudo-labels, calibration and the export share.

The candidate pool scores CSLS among the pairs an annotator may be asked about (in a
simulation: not the test entities), so its scale depends on who is a candidate. Calibrated
probabilities must mean the same wherever they are applied, so every calibration feature,
pseudo-label and exported link is scored here instead: r terms over all entities of each KG,
neighbours among the entities nobody labelled.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from almea.evaluation.csls import csls_blocks, pair_csls
from almea.neighbours import CSLSView, EmbeddingIndexes, NeighbourConfig, csls_view, listed_pairs


SCORE_COLUMNS = ("source", "target", "csls", "margin", "csls_quantile", "margin_quantile", "trained")
"""What is recorded of a pair when it is proposed, for the calibrator (``ScoreTable.features``)."""


@dataclass(frozen=True, eq=False)
class ScoreTable:
    """Each KG1 entity's best unlabelled KG2 partners by CSLS, and whether they are mutual."""

    embeddings: torch.Tensor
    """(N, D) L2-normalised joint embeddings."""
    n1: int
    r_source: torch.Tensor
    """(N1,) mean cosine of each KG1 entity to its k nearest KG2 entities."""
    r_target: torch.Tensor
    """(N2,) the same for KG2 entities against KG1."""
    top_targets: np.ndarray
    """(N1, top) global ids of each source's best free targets, best first (-1 where none)."""
    top_scores: np.ndarray
    """(N1, top) their CSLS scores (-inf where none)."""
    mutual: np.ndarray
    """(N1,) bool: the source is free and also its best target's best free source."""
    excluded: np.ndarray
    """(E, 2) pairs never proposed (rejected answers), sorted by source."""
    best_sorted: np.ndarray
    """Ascending best CSLS score of every free source that has a candidate: the reference
    distribution of ``features``' CSLS quantile."""
    margin_sorted: np.ndarray
    """Ascending best-minus-second margin of the same sources (inf with a single candidate)."""
    search: dict = field(default_factory=dict)
    """How the neighbours were found (``CSLSView.report``: exact, or the index and its recall)."""

    def score(self, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """CSLS and margin of ``pairs`` (P, 2): the margin is the pair's score minus the source's
        best other free candidate (best minus second-best when the pair is the best)."""
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        if len(pairs) == 0:
            return np.zeros(0), np.zeros(0)
        device = self.embeddings.device
        s = torch.as_tensor(pairs[:, 0], device=device)
        t = torch.as_tensor(pairs[:, 1] - self.n1, device=device)
        csls = pair_csls(self.embeddings[s], self.embeddings[self.n1 + t], self.r_source[s], self.r_target[t])
        csls = csls.double().cpu().numpy()
        top, ids = self.top_scores[pairs[:, 0]], self.top_targets[pairs[:, 0]]
        others = np.where(ids == pairs[:, 1:2], -np.inf, top).max(axis=1)
        with np.errstate(invalid="ignore"):
            margin = csls - others
        return csls, np.where(np.isneginf(others), np.inf, margin)

    def features(self, pairs: np.ndarray, trained_with: np.ndarray | None = None) -> pd.DataFrame:
        """``SCORE_COLUMNS`` of ``pairs`` (P, 2): CSLS and margin (``score``), their quantiles
        among the free sources' best candidates (what the calibrator reads: comparable across
        model versions, where raw scores drift), and ``trained``: the pair is one of
        ``trained_with`` (Q, 2), the pseudo-labels this table's model was trained with."""
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        csls, margin = self.score(pairs)
        return pd.DataFrame({
            "source": pairs[:, 0], "target": pairs[:, 1], "csls": csls, "margin": margin,
            "csls_quantile": _quantile(self.best_sorted, csls), "margin_quantile": _quantile(self.margin_sorted, margin),
            "trained": contains_pairs(trained_with, pairs),
        })

    @torch.no_grad()
    def candidates(self, sources: np.ndarray, targets: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray]:
        """(S, top) best CSLS scores and global ids of ``sources`` among ``targets`` only."""
        device = self.embeddings.device
        s = torch.as_tensor(np.asarray(sources, np.int64), device=device)
        t = torch.as_tensor(np.asarray(targets, np.int64) - self.n1, device=device)
        top = min(top, len(t))
        scores = np.empty((len(s), top))
        ids = np.empty((len(s), top), dtype=np.int64)
        block_source, block_target = self.embeddings[s], self.embeddings[self.n1 + t]
        for lo, csls in csls_blocks(block_source, block_target, self.r_source[s], self.r_target[t]):
            rows, cols = _excluded_cells(self.excluded, np.asarray(sources)[lo : lo + len(csls)], np.asarray(targets))
            csls[torch.as_tensor(rows, device=device), torch.as_tensor(cols, device=device)] = -torch.inf
            best = csls.topk(top, dim=1)
            scores[lo : lo + len(csls)] = best.values.double().cpu().numpy()
            ids[lo : lo + len(csls)] = np.where(np.isfinite(scores[lo : lo + len(csls)]),
                                                np.asarray(targets, np.int64)[best.indices.cpu().numpy()], -1)
        return scores, ids


def contains_pairs(pairs: np.ndarray | None, queries: np.ndarray) -> np.ndarray:
    """(Q,) bool: each row of ``queries`` (Q, 2) is a row of ``pairs`` (P, 2; None: none)."""
    queries = np.asarray(queries, dtype=np.int64).reshape(-1, 2)
    if pairs is None or len(pairs) == 0:
        return np.zeros(len(queries), dtype=bool)
    keys = set(map(tuple, np.asarray(pairs, dtype=np.int64).reshape(-1, 2).tolist()))
    return np.array([(s, t) in keys for s, t in queries.tolist()], dtype=bool)


def _quantile(sorted_reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Share of ``sorted_reference`` at or below each value (NaN without a reference)."""
    if len(sorted_reference) == 0:
        return np.full(len(values), np.nan)
    return np.searchsorted(sorted_reference, values, side="right") / len(sorted_reference)


def _excluded_cells(excluded: np.ndarray, sources: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) positions of ``excluded`` pairs in a ``sources`` x ``targets`` block."""
    row_of = {int(s): i for i, s in enumerate(sources)}
    col_of = {int(t): j for j, t in enumerate(targets)}
    cells = [(row_of[s], col_of[t]) for s, t in excluded.tolist() if s in row_of and t in col_of]
    cells = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
    return cells[:, 0], cells[:, 1]


def _exact_lists(
    view: CSLSView, taken_target: torch.Tensor, free: torch.Tensor, exclude: np.ndarray, n1: int, top: int
) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """(top_scores, top_targets) of every source and the best free source of every target
    (-1: none), scoring all pairs one block of sources at a time."""
    device, n2 = view.source.device, len(view.target)
    top_scores = np.full((len(view.source), top), -np.inf)
    top_targets = np.full((len(view.source), top), -1, dtype=np.int64)
    col_best = torch.full((n2,), -torch.inf, device=device)
    col_source = torch.full((n2,), -1, dtype=torch.long, device=device)
    for lo, csls in csls_blocks(view.source, view.target, view.r_source, view.r_target):
        hi = lo + len(csls)
        csls[:, taken_target] = -torch.inf
        csls[~free[lo:hi]] = -torch.inf
        a, b = np.searchsorted(exclude[:, 0], [lo, hi])
        rows = torch.as_tensor(exclude[a:b, 0] - lo, device=device)
        csls[rows, torch.as_tensor(exclude[a:b, 1] - n1, device=device)] = -torch.inf
        best = csls.topk(top, dim=1)
        top_scores[lo:hi] = best.values.double().cpu().numpy()
        top_targets[lo:hi] = np.where(np.isfinite(top_scores[lo:hi]), best.indices.cpu().numpy() + n1, -1)
        block_best, block_source = csls.max(dim=0)
        better = block_best > col_best
        col_best = torch.where(better, block_best, col_best)
        col_source = torch.where(better, block_source + lo, col_source)
    return top_scores, top_targets, col_source


def _indexed_lists(
    view: CSLSView, taken_target: torch.Tensor, free: torch.Tensor, exclude: np.ndarray, n1: int, top: int, m: int
) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """The same three from each side's ``max(m, top)`` nearest partners by cosine; a source
    whose partners are all taken or excluded keeps fewer than ``top`` (-1 / -inf)."""
    device, n2 = view.source.device, len(view.target)
    forward = torch.as_tensor(exclude[:, 0] * n2 + exclude[:, 1] - n1, device=device)
    backward = torch.as_tensor((exclude[:, 1] - n1) * len(view.source) + exclude[:, 0], device=device)
    scores, cols = view.source_candidates(
        max(m, top), lambda found: taken_target[found] | ~free[:, None] | listed_pairs(found, forward, n2))
    top_scores = scores[:, :top].double().cpu().numpy()
    top_targets = np.where(np.isfinite(top_scores), cols[:, :top].cpu().numpy() + n1, -1)
    back, rows = view.target_candidates(
        m, lambda found: ~free[found] | taken_target[:, None] | listed_pairs(found, backward, len(view.source)))
    return top_scores, top_targets, torch.where(torch.isfinite(back[:, 0]), rows[:, 0], -1)


@torch.no_grad()
def score_table(
    embeddings: torch.Tensor, n1: int, labelled: np.ndarray, exclude: np.ndarray | None = None, k: int = 10, top: int = 10,
    neighbours: NeighbourConfig = NeighbourConfig(), indexes: EmbeddingIndexes | None = None,
) -> ScoreTable:
    """The table for ``embeddings`` (N, D) with KG1 ids below ``n1``.

    Entities of ``labelled`` (L, 2) pairs are neither sources nor candidates of the
    neighbour lists; ``exclude`` (E, 2) pairs (rejected answers) are masked, so their source
    can still pair with its next best target. ``neighbours`` chooses exact or approximate
    search by the size of the pair. ``indexes``: the embeddings' shared indexes
    (``ActiveLearner.indexes``), whose config then rules; None: built for this call.
    """
    if indexes is None:
        indexes = EmbeddingIndexes(F.normalize(embeddings.float(), dim=1), n1, neighbours)
    emb, device = indexes.embeddings, indexes.embeddings.device
    view = csls_view(indexes, torch.arange(n1, device=device), torch.arange(n1, len(emb), device=device), k)
    n2 = len(view.target)
    labelled = np.asarray(labelled, dtype=np.int64).reshape(-1, 2)
    taken_target = torch.zeros(n2, dtype=torch.bool, device=emb.device)
    taken_target[torch.as_tensor(labelled[:, 1] - n1, device=emb.device)] = True
    free_source = np.ones(n1, dtype=bool)
    free_source[labelled[:, 0]] = False
    exclude = np.zeros((0, 2), np.int64) if exclude is None else np.asarray(exclude, dtype=np.int64).reshape(-1, 2)
    exclude = exclude[np.argsort(exclude[:, 0], kind="stable")]
    top = min(top, n2)
    free = torch.as_tensor(free_source, device=emb.device)
    if view.exact:
        top_scores, top_targets, col_source = _exact_lists(view, taken_target, free, exclude, n1, top)
    else:
        top_scores, top_targets, col_source = _indexed_lists(view, taken_target, free, exclude, n1, top,
                                                             indexes.config.rerank)
    best_target = top_targets[:, 0]
    has = best_target >= 0
    mutual = np.zeros(n1, dtype=bool)
    mutual[has] = col_source.cpu().numpy()[best_target[has] - n1] == np.flatnonzero(has)
    reference = top_scores[has & free_source]
    second = reference[:, 1] if reference.shape[1] > 1 else np.full(len(reference), -np.inf)
    with np.errstate(invalid="ignore"):
        margins = np.where(np.isneginf(second), np.inf, reference[:, 0] - second)
    return ScoreTable(emb, n1, view.r_source, view.r_target, top_targets, top_scores, mutual & free_source, exclude,
                      np.sort(reference[:, 0]), np.sort(margins), view.report())
