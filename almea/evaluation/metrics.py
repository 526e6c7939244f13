"""CSLS ranking metrics computed in chunks (spec section 8).

No full (n_source x n_target) matrix is kept: each pass holds one block of rows (or
columns) of at most ``BLOCK_ELEMENTS`` similarities, so 100k-entity test sets fit in a
few hundred MB.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

BLOCK_ELEMENTS = 1 << 25


def rows_per_block(n_cols: int, budget: int | None = None) -> int:
    """Rows of an (n_rows x n_cols) score matrix that fit in ``budget`` elements (default BLOCK_ELEMENTS)."""
    return max(1, (BLOCK_ELEMENTS if budget is None else budget) // max(1, n_cols))


def mean_topk_similarity(queries: torch.Tensor, candidates: torch.Tensor, k: int) -> torch.Tensor:
    """(Q,) mean of each query's k highest cosine similarities among candidates (CSLS r term)."""
    k = min(k, len(candidates))
    out = torch.empty(len(queries), device=queries.device)
    step = rows_per_block(len(candidates))
    for lo in range(0, len(queries), step):
        sim = queries[lo : lo + step] @ candidates.t()
        out[lo : lo + step] = sim.topk(k, dim=1).values.mean(dim=1)
    return out


def _ranks(queries: torch.Tensor, candidates: torch.Tensor, r_q: torch.Tensor, r_c: torch.Tensor) -> torch.Tensor:
    """1-based CSLS rank of candidate i for query i (both L2-normalised, aligned by row)."""
    ranks = torch.empty(len(queries), dtype=torch.long, device=queries.device)
    step = rows_per_block(len(candidates))
    for lo in range(0, len(queries), step):
        hi = min(lo + step, len(queries))
        csls = 2 * queries[lo:hi] @ candidates.t() - r_q[lo:hi, None] - r_c[None, :]
        # The true score is read from the same product, so rounding cannot rank it below itself.
        true = csls[torch.arange(hi - lo), torch.arange(lo, hi)]
        ranks[lo:hi] = 1 + (csls > true[:, None]).sum(dim=1)
    return ranks


def csls_ranks(source: torch.Tensor, target: torch.Tensor, k: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Ranks of the true counterpart, left-to-right and right-to-left.

    ``source[i]`` and ``target[i]`` are the embeddings of gold pair i; each source is
    ranked against all targets (and vice versa) by CSLS(s, t) = 2 cos - r_T(s) - r_S(t).
    Ties count in the entity's favour (strictly greater scores outrank it).
    """
    source, target = F.normalize(source.float(), dim=1), F.normalize(target.float(), dim=1)
    r_source = mean_topk_similarity(source, target, k)
    r_target = mean_topk_similarity(target, source, k)
    return _ranks(source, target, r_source, r_target), _ranks(target, source, r_target, r_source)


def rank_metrics(ranks: torch.Tensor) -> dict[str, float]:
    """Hits@1, Hits@10 and MRR of 1-based ranks."""
    ranks = ranks.double()
    return {
        "hits@1": float((ranks <= 1).double().mean()),
        "hits@10": float((ranks <= 10).double().mean()),
        "mrr": float((1.0 / ranks).mean()),
    }


@torch.no_grad()
def alignment_metrics(embeddings: torch.Tensor, pairs: torch.Tensor, k: int = 10) -> dict[str, dict[str, float]]:
    """Metrics of gold ``pairs`` (P, 2) under joint ``embeddings`` (N, D), both directions."""
    l2r, r2l = csls_ranks(embeddings[pairs[:, 0]], embeddings[pairs[:, 1]], k)
    return {"l2r": rank_metrics(l2r), "r2l": rank_metrics(r2l)}
