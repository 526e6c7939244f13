"""CSLS through a nearest-neighbour index: the approximate path of the pool, the score table,
the metrics and the evidence.

For a query q, argmax_c CSLS(q, c) = argmax_c 2 cos(q, c) - r(c) (r(q) is the same for
every c), and r varies far less than the cosine, so the CSLS best lies among q's nearest
candidates by cosine: each query fetches ``rerank`` of them and scores those exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from almea.neighbours.index import NeighbourIndex
from almea.neighbours.sides import EmbeddingIndexes


def neighbourhood_means(queries: torch.Tensor, index: NeighbourIndex, k: int) -> torch.Tensor:
    """(Q,) mean of each query's k highest cosines among the index's candidates (CSLS's r term)."""
    return index.search(queries, k)[0].mean(dim=1)


def csls_candidates(
    queries: torch.Tensor, index: NeighbourIndex, r_queries: torch.Tensor, r_candidates: torch.Tensor, m: int,
    mask: Callable[[torch.Tensor], torch.Tensor] | None = None, hits: Hits | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(Q, m) CSLS of each query's m nearest candidates by cosine, best first, and their
    candidate rows; ``r_queries`` (Q,) and ``r_candidates`` (C,) are the r terms. ``mask``
    maps the (Q, m) candidate rows to a (Q, m) bool of cells that may not pair (-inf).
    ``hits``: the queries' nearest candidates already searched (``CSLSView``), used when at
    least m wide instead of searching again."""
    if hits is not None and hits[0].shape[1] >= min(m, len(index.candidates)):
        cos, rows = hits[0][:, :m], hits[1][:, :m]
    else:
        cos, rows = index.search(queries, m)
    csls = 2 * cos - r_queries[:, None] - r_candidates[rows]
    if mask is not None:
        csls = csls.masked_fill(mask(rows), -torch.inf)
    order = csls.argsort(dim=1, descending=True, stable=True)
    return csls.gather(1, order), rows.gather(1, order)


def listed_pairs(rows: torch.Tensor, keys: torch.Tensor, n_candidates: int) -> torch.Tensor:
    """(Q, m) bool: (query i, candidate ``rows[i, j]``) is one of ``keys`` (E,), each pair
    written as query * n_candidates + candidate (the excluded pairs of a step)."""
    if len(keys) == 0:
        return torch.zeros_like(rows, dtype=torch.bool)
    return torch.isin(torch.arange(len(rows), device=rows.device)[:, None] * n_candidates + rows, keys)


Hits = tuple[torch.Tensor, torch.Tensor]
"""(Q, w) cosines of each query's w nearest candidates, best first, and their rows."""


@dataclass(frozen=True, eq=False)
class CSLSView:
    """Two L2-normalised sides, their r terms and an index over each, built once per step."""

    source: torch.Tensor
    """(S, D) query side."""
    target: torch.Tensor
    """(T, D) candidate side."""
    source_index: NeighbourIndex
    """Over the sources: what the targets search."""
    target_index: NeighbourIndex
    """Over the targets: what the sources search."""
    r_source: torch.Tensor
    """(S,) mean cosine of each source to its k nearest targets."""
    r_target: torch.Tensor
    """(T,) the same for targets against the sources."""
    source_hits: Hits | None = None
    """Each source's nearest targets, searched once for its r term and its CSLS candidates
    (approximate views; None for exact ones, which score every pair)."""
    target_hits: Hits | None = None
    """The same for each target among the sources."""

    def source_candidates(self, m: int, mask: Callable[[torch.Tensor], torch.Tensor] | None = None) -> Hits:
        """``csls_candidates`` of every source among the targets."""
        return csls_candidates(self.source, self.target_index, self.r_source, self.r_target, m, mask, self.source_hits)

    def target_candidates(self, m: int, mask: Callable[[torch.Tensor], torch.Tensor] | None = None) -> Hits:
        """``csls_candidates`` of every target among the sources."""
        return csls_candidates(self.target, self.source_index, self.r_target, self.r_source, m, mask, self.target_hits)

    @property
    def exact(self) -> bool:
        """Whether both sides search exactly (the size rule is symmetric, so they agree)."""
        return self.target_index.name == "exact"

    def report(self) -> dict:
        """Both indexes' records (``NeighbourIndex.report``)."""
        return {"source_index": self.source_index.report(), "target_index": self.target_index.report()}


def csls_view(indexes: EmbeddingIndexes, source_ids: torch.Tensor, target_ids: torch.Tensor, k: int) -> CSLSView:
    """The view of rows ``source_ids`` (S,) x ``target_ids`` (T,) of ``indexes``' embeddings,
    with CSLS neighbourhood ``k``; exact or approximate by the indexes' size rule, the
    approximate sides filtering the one index of their KG. An approximate side is searched
    once, ``max(k, rerank)`` wide: its first k hits give the r term, all of them the CSLS
    candidates of the steps (half the searches of asking for each)."""
    source_index = indexes.index(source_ids, len(target_ids))
    target_index = indexes.index(target_ids, len(source_ids))
    source, target = source_index.candidates, target_index.candidates
    if target_index.name == "exact":
        r_source = neighbourhood_means(source, target_index, k)
        r_target = neighbourhood_means(target, source_index, k)
        return CSLSView(source, target, source_index, target_index, r_source, r_target)
    width = max(k, indexes.config.rerank)
    source_hits, target_hits = target_index.search(source, width), source_index.search(target, width)
    r_source, r_target = source_hits[0][:, :k].mean(dim=1), target_hits[0][:, :k].mean(dim=1)
    return CSLSView(source, target, source_index, target_index, r_source, r_target, source_hits, target_hits)
