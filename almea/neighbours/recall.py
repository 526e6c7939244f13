"""Recall@k of an approximate search against the exact one, on a sample of queries."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from almea.neighbours.exact import ExactIndex

Search = Callable[[torch.Tensor, int], tuple[torch.Tensor, torch.Tensor]]


def recall_at_k(search: Search, candidates: torch.Tensor, queries: torch.Tensor, k: int, sample: int,
                seed: int = 0) -> float:
    """Share of the exact k nearest ``candidates`` (C, D) that ``search(queries, k)`` finds,
    over ``sample`` of the ``queries`` (Q, D) drawn with ``seed`` (all when fewer).

    Exact ties at the k-th place can make a correct search score slightly below 1.
    """
    if len(queries) == 0 or len(candidates) == 0:
        return 1.0
    rows = np.random.default_rng(seed).choice(len(queries), size=min(sample, len(queries)), replace=False)
    picked = queries[torch.as_tensor(np.sort(rows), device=queries.device)]
    exact = ExactIndex(candidates).search(picked, k)[1].cpu()
    found = search(picked, k)[1].cpu()
    return float((found[:, :, None] == exact[:, None, :]).any(dim=2).double().mean())
