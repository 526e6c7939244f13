"""CSLS ranking metrics (spec section 8), scored in bounded-memory blocks by ``almea.evaluation.csls``."""
from __future__ import annotations

import torch
from torch.nn import functional as F

from almea.evaluation.csls import csls_blocks, neighbourhood_means


def _ranks(queries: torch.Tensor, candidates: torch.Tensor, r_q: torch.Tensor, r_c: torch.Tensor) -> torch.Tensor:
    """1-based CSLS rank of candidate i for query i (both L2-normalised, aligned by row)."""
    ranks = torch.empty(len(queries), dtype=torch.long, device=queries.device)
    for lo, csls in csls_blocks(queries, candidates, r_q, r_c):
        hi = lo + len(csls)
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
    r_source = neighbourhood_means(source, target, k)
    r_target = neighbourhood_means(target, source, k)
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
