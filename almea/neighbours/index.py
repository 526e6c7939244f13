"""The one nearest-neighbour interface every all-pairs step searches through."""
from __future__ import annotations

from typing import Protocol

import torch


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
