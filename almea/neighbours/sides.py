"""The indexes of one set of joint embeddings, shared by every step that searches them.

A round's all-pairs steps (the evaluation over the test entities, the score table over
each whole KG, the candidate pool over the free entities, the evidence) search subsets of
the same two KGs under the same embeddings. Above the size threshold each KG gets one
approximate index, built on first need, and every step over a subset of that KG filters it
(``FaissIndex.restricted``); below it a step scores its subset exactly and builds nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from almea.neighbours.config import NeighbourConfig
from almea.neighbours.exact import ExactIndex
from almea.neighbours.index import NeighbourIndex

if TYPE_CHECKING:
    from almea.neighbours.faiss_index import FaissIndex


class EmbeddingIndexes:
    """Indexes over ``embeddings`` (N, D), L2-normalised, of a pair whose KG1 ids are below ``n1``."""

    def __init__(self, embeddings: torch.Tensor, n1: int, config: NeighbourConfig) -> None:
        self.embeddings, self.n1, self.config = embeddings, n1, config
        self._built: dict[tuple[int, int], FaissIndex] = {}

    @property
    def builds(self) -> int:
        """Approximate indexes built so far (each costs a pass over its KG's vectors)."""
        return len(self._built)

    def index(self, members: torch.Tensor, n_queries: int) -> NeighbourIndex:
        """The index over the rows ``members`` (M,) (distinct global ids of one KG), in that
        order, for a step of ``n_queries`` queries: exact or approximate by the size rule."""
        members = members.to(self.embeddings.device)
        if len(members) == 0 or not self.config.approximate(n_queries, len(members)):
            return ExactIndex(self.embeddings[members])
        lo, hi = self._span(members)
        full = self._full(lo, hi)
        if len(members) == hi - lo and bool((members == torch.arange(lo, hi, device=members.device)).all()):
            return full
        return full.restricted(members - lo)

    def _span(self, members: torch.Tensor) -> tuple[int, int]:
        """The rows [lo, hi) of the KG that ``members`` lie in."""
        first, last = int(members.min()), int(members.max())
        if first < self.n1 <= last:
            raise ValueError(f"an index covers one KG, but the members span both sides of n1={self.n1}")
        return (0, self.n1) if last < self.n1 else (self.n1, len(self.embeddings))

    def _full(self, lo: int, hi: int) -> FaissIndex:
        from almea.neighbours.faiss_index import FaissIndex

        if (lo, hi) not in self._built:
            self._built[(lo, hi)] = FaissIndex(self.embeddings[lo:hi], self.config)
        return self._built[(lo, hi)]


def side_indexes(source: torch.Tensor, target: torch.Tensor, config: NeighbourConfig) -> tuple[EmbeddingIndexes, torch.Tensor, torch.Tensor]:
    """Indexes over bare ``source`` (S, D) and ``target`` (T, D) tensors, L2-normalised, with
    the ids of each side in them: for callers without a whole pair's embeddings."""
    joined = torch.cat([source, target])
    ids = torch.arange(len(joined), device=joined.device)
    return EmbeddingIndexes(joined, len(source), config), ids[: len(source)], ids[len(source):]
