"""Pair dissimilarities, the diversity penalty and the DS3 sparsity weight (eqs. 5-7, B.3).

A candidate pair i is the point (h_Si, h_Ti); pairs are compared by the mean of the squared
distances of their sources and of their targets. The (K, K) matrix is written one block of
rows at a time into the result and made symmetric tile by tile, so building it costs the
result plus one block: 0.4 GB of float32 for a pool of 10,000, where the whole-matrix
expression held about 2 GB of temporaries.
"""
from __future__ import annotations

import math

import torch

from almea.neighbours.exact import rows_per_block

BUILD_BLOCK = 1 << 22
"""Entries of A computed per block (16 MB of float32; the block's temporaries are a few times that)."""


def _squared_distances(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(X, Y) ||x_i - y_j||^2 via ||x||^2 + ||y||^2 - 2 x.y (no cdist, no (X, Y, D) tensor)."""
    return (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.t()


def _check_pairs(name: str, h_source: torch.Tensor, h_target: torch.Tensor) -> None:
    if h_source.ndim != 2 or h_target.ndim != 2 or len(h_source) != len(h_target):
        raise ValueError(
            f"{name}: source and target embeddings must be (K, D) with the same K, "
            f"got {tuple(h_source.shape)} and {tuple(h_target.shape)}"
        )


def dissimilarity_matrix(h_source: torch.Tensor, h_target: torch.Tensor) -> torch.Tensor:
    """(K, K) A[i, j] = (||h_Si - h_Sj||^2 + ||h_Ti - h_Tj||^2) / 2 (eq. 5).

    ``h_source`` (K, Ds) and ``h_target`` (K, Dt) are the embeddings of the pool's pairs.
    The result is exactly symmetric, non-negative and zero on the diagonal (rounding in the
    matmul identity is clamped away).
    """
    _check_pairs("dissimilarity_matrix", h_source, h_target)
    k = len(h_source)
    a = h_source.new_empty(k, k)
    step = rows_per_block(k, BUILD_BLOCK)
    for lo in range(0, k, step):
        a[lo : lo + step] = (_squared_distances(h_source[lo : lo + step], h_source)
                             + _squared_distances(h_target[lo : lo + step], h_target)) / 2
    tile = max(1, math.isqrt(BUILD_BLOCK))
    for lo in range(0, k, tile):
        for col in range(lo, k, tile):
            upper, lower = a[lo : lo + tile, col : col + tile], a[col : col + tile, lo : lo + tile]
            mean = (upper + lower.t()) / 2
            upper.copy_(mean)
            lower.copy_(mean.t())
    a.clamp_(min=0)
    a.fill_diagonal_(0)
    return a


def diversity_penalty(
    h_source: torch.Tensor,
    h_target: torch.Tensor,
    labelled_source: torch.Tensor,
    labelled_target: torch.Tensor,
    sigma: float = 3.0,
) -> torch.Tensor:
    """(K,) D_i = sigma - (sigma - 1) c_i / max_q c_q (eqs. 6-7), in [1, sigma].

    c_i is the smallest eq.-5 distance from candidate i to a labelled pair
    (``labelled_source`` (L, Ds), ``labelled_target`` (L, Dt)), found one block of labelled
    pairs at a time. Candidates near labelled pairs get a high penalty, so DS3 favours
    unexplored regions. Without labelled pairs nothing is penalised (all ones); when every
    candidate sits on a labelled pair (max c = 0) all get the full penalty sigma.
    """
    _check_pairs("diversity_penalty (candidates)", h_source, h_target)
    _check_pairs("diversity_penalty (labelled)", labelled_source, labelled_target)
    if sigma < 1:
        raise ValueError(f"sigma must be >= 1 so that D lies in [1, sigma], got {sigma}")
    k = len(h_source)
    if len(labelled_source) == 0:
        return torch.ones(k, dtype=h_source.dtype, device=h_source.device)
    closest = torch.full((k,), torch.inf, dtype=h_source.dtype, device=h_source.device)
    step = rows_per_block(k)
    for lo in range(0, len(labelled_source), step):
        d = (
            _squared_distances(h_source, labelled_source[lo : lo + step])
            + _squared_distances(h_target, labelled_target[lo : lo + step])
        ) / 2
        closest = torch.minimum(closest, d.min(dim=1).values)
    closest = closest.clamp(min=0)
    top = closest.max()
    if top <= 0:
        return torch.full_like(closest, float(sigma))
    return sigma - (sigma - 1) * closest / top


def sparsity_weight(a: torch.Tensor, alpha: float) -> float:
    """DS3's lambda = alpha * sqrt(sum_ij d_ij^2) / sqrt(K) (paper, appendix B.3).

    The d_ij in B.3 are the entries of the DISSIMILARITY matrix ``a`` (eq. 5), not the
    diversity penalty; the spec's ``||D||_F`` names that same matrix. alpha = 0.35 at 20%
    seeds on FB-DB; larger alpha gives fewer representatives.
    """
    if alpha <= 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    k = a.shape[0]
    if k == 0:
        return 0.0
    step = rows_per_block(k, BUILD_BLOCK)                  # a float64 copy of A would double its memory
    squares = sum(float(a[lo : lo + step].double().square().sum()) for lo in range(0, k, step))
    return alpha * math.sqrt(squares) / math.sqrt(k)
