"""CSLS, the hub-corrected similarity behind every ranking (spec sections 6.1 and 8).

CSLS(s, t) = 2 cos(s, t) - r_T(s) - r_S(t), where r_T(s) is the mean cosine of s to its k
nearest targets and r_S(t) that of t to its k nearest sources. The test metrics, the
candidate pool and the labeller's evidence all score through ``csls_blocks``, so the same
pair gets the same number everywhere. No dense |sources| x |targets| matrix is held: a
block has at most ``BLOCK_ELEMENTS`` scores (128 MB of float32), so 100k-entity inputs fit.
"""
from __future__ import annotations

from collections.abc import Iterator

import torch

BLOCK_ELEMENTS = 1 << 25


def rows_per_block(n_cols: int, budget: int | None = None) -> int:
    """Rows of an (n_rows x n_cols) score matrix that fit in ``budget`` elements (default BLOCK_ELEMENTS)."""
    return max(1, (BLOCK_ELEMENTS if budget is None else budget) // max(1, n_cols))


def neighbourhood_means(queries: torch.Tensor, candidates: torch.Tensor, k: int) -> torch.Tensor:
    """(Q,) mean of each query's k highest cosines among ``candidates`` (the r term of CSLS).

    ``queries`` (Q, D) and ``candidates`` (C, D) are L2-normalised; k is capped at C.
    """
    k = min(k, len(candidates))
    out = torch.empty(len(queries), device=queries.device)
    step = rows_per_block(len(candidates))
    for lo in range(0, len(queries), step):
        sim = queries[lo : lo + step] @ candidates.t()
        out[lo : lo + step] = sim.topk(k, dim=1).values.mean(dim=1)
    return out


def csls_scores(
    source_block: torch.Tensor, target: torch.Tensor, r_s_block: torch.Tensor, r_t: torch.Tensor
) -> torch.Tensor:
    """(B, T) CSLS of a block of sources (B, D) against all targets (T, D), all L2-normalised.

    ``r_s_block`` (B,) are the sources' neighbourhood means among the targets, ``r_t`` (T,)
    the targets' among the sources (``neighbourhood_means``).
    """
    return 2 * source_block @ target.t() - r_s_block[:, None] - r_t[None, :]


def pair_csls(source: torch.Tensor, target: torch.Tensor, r_s: torch.Tensor, r_t: torch.Tensor) -> torch.Tensor:
    """(P,) CSLS of row-aligned pairs: ``source[i]`` with ``target[i]`` (P, D), r terms (P,)."""
    return 2 * (source * target).sum(dim=1) - r_s - r_t


def csls_blocks(
    source: torch.Tensor, target: torch.Tensor, r_s: torch.Tensor, r_t: torch.Tensor
) -> Iterator[tuple[int, torch.Tensor]]:
    """``(lo, scores)`` for consecutive blocks of source rows: ``scores`` (B, T) are the CSLS
    of ``source[lo : lo + B]`` against every target, B chosen to fit ``BLOCK_ELEMENTS``."""
    step = rows_per_block(len(target))
    for lo in range(0, len(source), step):
        yield lo, csls_scores(source[lo : lo + step], target, r_s[lo : lo + step], r_t)
