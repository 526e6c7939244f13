"""CSLS ranks and metrics on tiny cases, and chunking equivalence."""
from __future__ import annotations

import torch

from almea.evaluation import csls
from almea.evaluation.metrics import alignment_metrics, csls_ranks, rank_metrics


def test_perfect_alignment_ranks_first() -> None:
    emb = torch.eye(4)
    l2r, r2l = csls_ranks(emb, emb.clone(), k=2)
    assert l2r.tolist() == [1, 1, 1, 1] and r2l.tolist() == [1, 1, 1, 1]


def test_swapped_pair_ranks_second() -> None:
    source = torch.eye(3)
    target = torch.eye(3)[[1, 0, 2]]          # pairs 0 and 1 point at each other's target
    l2r, _ = csls_ranks(source, target, k=1)
    assert l2r.tolist() == [2, 2, 1]
    assert rank_metrics(l2r) == {"hits@1": 1 / 3, "hits@10": 1.0, "mrr": (0.5 + 0.5 + 1) / 3}


def test_csls_penalises_hubs() -> None:
    # Target 2 is close to every source (a hub); plain cosine ranks it first for source 0,
    # CSLS discounts it and recovers the true target.
    source = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.7]])
    target = torch.tensor([[0.9, 0.1, 0.0], [0.1, 0.9, 0.0], [0.6, 0.6, 0.5]])
    source[0] = torch.tensor([0.8, 0.05, 0.6])
    cosine_first = (torch.nn.functional.normalize(source[0:1]) @ torch.nn.functional.normalize(target).t()).argmax()
    assert int(cosine_first) == 2
    l2r, _ = csls_ranks(source, target, k=2)
    assert int(l2r[0]) == 1


def test_chunked_equals_unchunked(monkeypatch) -> None:
    torch.manual_seed(0)
    emb = torch.randn(50, 8)
    pairs = torch.stack([torch.arange(25), torch.arange(25, 50)], dim=1)
    whole = alignment_metrics(emb, pairs)
    monkeypatch.setattr(csls, "BLOCK_ELEMENTS", 30)
    assert alignment_metrics(emb, pairs) == whole
