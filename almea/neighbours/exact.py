"""The exact nearest-neighbour search: every query against every candidate, in bounded blocks."""
from __future__ import annotations

import torch

BLOCK_ELEMENTS = 1 << 25
"""Similarities held at once by a blocked all-pairs step (128 MB of float32), so 100k-entity
inputs fit."""


def rows_per_block(n_cols: int, budget: int | None = None) -> int:
    """Rows of an (n_rows x n_cols) score matrix that fit in ``budget`` elements (default BLOCK_ELEMENTS)."""
    return max(1, (BLOCK_ELEMENTS if budget is None else budget) // max(1, n_cols))


def top_cosines(queries: torch.Tensor, candidates: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(Q, k) highest cosines of each query among ``candidates``, best first, and their (Q, k)
    candidate rows, one bounded block of query rows at a time.

    ``queries`` (Q, D) and ``candidates`` (C, D) are L2-normalised; k is capped at C.
    """
    k = min(k, len(candidates))
    values = torch.empty(len(queries), k, device=queries.device)
    indices = torch.empty(len(queries), k, dtype=torch.long, device=queries.device)
    step = rows_per_block(len(candidates))
    for lo in range(0, len(queries), step):
        best = (queries[lo : lo + step] @ candidates.t()).topk(k, dim=1)
        values[lo : lo + step], indices[lo : lo + step] = best.values, best.indices
    return values, indices


class ExactIndex:
    """Exact cosine top-k over ``candidates`` (C, D), L2-normalised: today's blocked products,
    so the steps below the size threshold keep their exact numbers."""

    name = "exact"

    def __init__(self, candidates: torch.Tensor) -> None:
        self.candidates = candidates

    def search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(Q, min(k, C)) cosines, best first, and their candidate rows for ``queries`` (Q, D)."""
        return top_cosines(queries, self.candidates, k)

    def report(self) -> dict:
        """What searched, for the run's record."""
        return {"index": self.name, "candidates": len(self.candidates)}
