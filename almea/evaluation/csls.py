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

from almea.neighbours.exact import rows_per_block, top_cosines

BLOCK_ELEMENTS = 1 << 25
"""Scores per block of ``csls_blocks`` (128 MB of float32)."""


def neighbourhood_means(queries: torch.Tensor, candidates: torch.Tensor, k: int) -> torch.Tensor:
    """(Q,) mean of each query's k highest cosines among ``candidates`` (the r term of CSLS),
    exactly; ``almea.neighbours.neighbourhood_means`` is the same through an index.

    ``queries`` (Q, D) and ``candidates`` (C, D) are L2-normalised; k is capped at C.
    """
    return top_cosines(queries, candidates, k)[0].mean(dim=1)


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
    step = rows_per_block(len(target), BLOCK_ELEMENTS)
    for lo in range(0, len(source), step):
        yield lo, csls_scores(source[lo : lo + step], target, r_s[lo : lo + step], r_t)
