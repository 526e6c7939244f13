"""CSLS ranking metrics (spec section 8), scored in bounded-memory blocks by ``almea.evaluation.csls``.

At scale the ranking goes one of two ways (``NeighbourConfig``): every test pair through the
approximate index (ranks beyond its ``rerank`` nearest candidates count as rerank + 1, so
Hits@1/10 are those of the index and MRR is high by less than 1 / (rerank + 1) per such
pair), or a fixed random sample of test pairs ranked exactly against all test targets. The
metrics say which under ``"ranking"``.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from almea.evaluation.csls import csls_blocks, pair_csls
from almea.neighbours import (
    CSLSView,
    EmbeddingIndexes,
    NeighbourConfig,
    csls_view,
    side_indexes,
)


def _ranks(
    queries: torch.Tensor, candidates: torch.Tensor, r_q: torch.Tensor, r_c: torch.Tensor, truth: torch.Tensor
) -> torch.Tensor:
    """1-based CSLS rank of candidate ``truth[i]`` for query i (all L2-normalised), exactly."""
    ranks = torch.empty(len(queries), dtype=torch.long, device=queries.device)
    for lo, csls in csls_blocks(queries, candidates, r_q, r_c):
        hi = lo + len(csls)
        # The true score is read from the same product, so rounding cannot rank it below itself.
        true = csls[torch.arange(hi - lo), truth[lo:hi]]
        ranks[lo:hi] = 1 + (csls > true[:, None]).sum(dim=1)
    return ranks


def _indexed_ranks(
    found: tuple[torch.Tensor, torch.Tensor], queries: torch.Tensor, candidates: torch.Tensor, r_q: torch.Tensor,
    r_c: torch.Tensor,
) -> torch.Tensor:
    """1-based CSLS rank of candidate i for query i among the (Q, m) CSLS scores and rows of
    the query's m nearest candidates that the index ``found`` (m + 1 when all score higher)."""
    truth = torch.arange(len(queries), device=queries.device)
    scores, rows = found
    true = pair_csls(queries, candidates, r_q, r_c)
    # The truth itself is skipped, so its two roundings (index, torch) cannot rank it below itself.
    return 1 + ((scores > true[:, None]) & (rows != truth[:, None])).sum(dim=1)


def ranking(
    source: torch.Tensor, target: torch.Tensor, k: int = 10, neighbours: NeighbourConfig = NeighbourConfig()
) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Ranks of the true counterpart, left-to-right and right-to-left, and how they were found.

    ``source[i]`` and ``target[i]`` (P, D) are the embeddings of gold pair i; each source is
    ranked against all targets (and vice versa) by CSLS(s, t) = 2 cos - r_T(s) - r_S(t).
    Ties count in the entity's favour (strictly greater scores outrank it). With
    ``neighbours.eval_sample`` below P only that fixed sample of pairs is ranked (exactly).
    """
    indexes, s, t = side_indexes(F.normalize(source.float(), dim=1), F.normalize(target.float(), dim=1), neighbours)
    return view_ranking(csls_view(indexes, s, t, k), neighbours)


def view_ranking(view: CSLSView, neighbours: NeighbourConfig) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """``ranking`` of gold pairs (``view.source[i]``, ``view.target[i]``) in a CSLS view."""
    source, target = view.source, view.target
    n = len(source)
    info = {"pairs": n, **view.report()}
    if 0 < neighbours.eval_sample < n:
        rows = np.sort(np.random.default_rng(neighbours.seed).choice(n, neighbours.eval_sample, replace=False))
        sample = torch.as_tensor(rows, device=source.device)
        l2r = _ranks(source[sample], target, view.r_source[sample], view.r_target, sample)
        r2l = _ranks(target[sample], source, view.r_target[sample], view.r_source, sample)
        return l2r, r2l, {"ranked": "exact sample", "sample": len(rows), "seed": neighbours.seed, **info}
    if view.exact:
        truth = torch.arange(n, device=source.device)
        l2r = _ranks(source, target, view.r_source, view.r_target, truth)
        return l2r, _ranks(target, source, view.r_target, view.r_source, truth), {"ranked": "exact", **info}
    m = neighbours.rerank
    l2r = _indexed_ranks(view.source_candidates(m), source, target, view.r_source, view.r_target)
    r2l = _indexed_ranks(view.target_candidates(m), target, source, view.r_target, view.r_source)
    return l2r, r2l, {"ranked": "index", "rerank": m, **info}


def csls_ranks(source: torch.Tensor, target: torch.Tensor, k: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact ranks of the true counterpart, left-to-right and right-to-left (``ranking``)."""
    l2r, r2l, _ = ranking(source, target, k, NeighbourConfig(threshold=max(1, len(source))))
    return l2r, r2l


def rank_metrics(ranks: torch.Tensor) -> dict[str, float]:
    """Hits@1, Hits@10 and MRR of 1-based ranks."""
    ranks = ranks.double()
    return {
        "hits@1": float((ranks <= 1).double().mean()),
        "hits@10": float((ranks <= 10).double().mean()),
        "mrr": float((1.0 / ranks).mean()),
    }


@torch.no_grad()
def alignment_metrics(
    embeddings: torch.Tensor, pairs: torch.Tensor, k: int = 10, neighbours: NeighbourConfig = NeighbourConfig(),
    indexes: EmbeddingIndexes | None = None,
) -> dict[str, dict]:
    """Metrics of gold ``pairs`` (P, 2) under joint ``embeddings`` (N, D), both directions,
    and under ``"ranking"`` how the ranks were found (``ranking``). ``indexes``: the
    embeddings' shared indexes (``ActiveLearner.indexes``), whose config then rules."""
    if indexes is None:
        l2r, r2l, info = ranking(embeddings[pairs[:, 0]], embeddings[pairs[:, 1]], k, neighbours)
    else:
        l2r, r2l, info = view_ranking(csls_view(indexes, pairs[:, 0], pairs[:, 1], k), indexes.config)
    return {"l2r": rank_metrics(l2r), "r2l": rank_metrics(r2l), "ranking": info}
