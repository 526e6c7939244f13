"""The one nearest-neighbour interface every all-pairs step searches through."""
from __future__ import annotations

from typing import Protocol

import torch

from almea.neighbours.config import NeighbourConfig
from almea.neighbours.exact import ExactIndex


class NeighbourIndex(Protocol):
    """Cosine top-k over a fixed set of L2-normalised candidates (C, D)."""

    name: str
    candidates: torch.Tensor

    def search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(Q, min(k, C)) cosines, best first, and their (Q, min(k, C)) candidate rows."""
        ...

    def report(self) -> dict:
        """What searched (and, when approximate, its measured recall), for the run's record."""
        ...


def neighbour_index(candidates: torch.Tensor, n_queries: int, config: NeighbourConfig) -> NeighbourIndex:
    """The index for a step over ``n_queries`` queries and ``candidates`` (C, D): exact at or
    below ``config``'s size threshold, the faiss index above it (or when forced)."""
    if config.approximate(n_queries, len(candidates)):
        from almea.neighbours.faiss_index import FaissIndex

        return FaissIndex(candidates, config)
    return ExactIndex(candidates)
