"""Losses against hand-computed values."""
from __future__ import annotations

import math

import torch

from almea.model.losses import BatchSimilarities, gaussian_kl, info_nce, info_nce_from, symmetric_kl


def test_info_nce_two_pairs_by_hand() -> None:
    source = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    target = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # Row 0: logits [cos(s0,t0), cos(s0,t1), cos(s0,s1)] / tau = [1, 0, 0] / 0.5 (s0.s0 masked).
    expected = -math.log(math.exp(2) / (math.exp(2) + 2))
    assert math.isclose(float(info_nce(source, target, 0.5)), expected, rel_tol=1e-6)


def test_info_nce_hard_negative_raises_loss() -> None:
    source, target = torch.eye(3), torch.eye(3)
    close = torch.tensor([[1.0, 0.1, 0.0]])
    assert info_nce(source, target, 0.1, close) > info_nce(source, target, 0.1) + 0.1


def test_concat_similarities_equal_joint_cosine() -> None:
    torch.manual_seed(0)
    parts = [(torch.randn(5, 4), torch.randn(5, 4)) for _ in range(3)]
    pi = torch.tensor([0.5, 0.3, 0.2])
    normal = torch.nn.functional.normalize
    joint_s = torch.cat([pi[i] * normal(s, dim=1) for i, (s, _) in enumerate(parts)], dim=1)
    joint_t = torch.cat([pi[i] * normal(t, dim=1) for i, (_, t) in enumerate(parts)], dim=1)
    combined = BatchSimilarities.weighted_sum([BatchSimilarities.of(s, t) for s, t in parts], pi)
    direct = info_nce(joint_s, joint_t, 0.1)
    assert torch.allclose(info_nce_from(combined, 0.1), direct, atol=1e-5)


def test_gaussian_kl_values() -> None:
    assert float(gaussian_kl(torch.zeros(4, 3), torch.zeros(4, 3))) == 0.0
    mu, logvar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(2.0)]])
    expected = 0.5 * (1.0 + (2.0 - 1.0 - math.log(2.0)))
    assert math.isclose(float(gaussian_kl(mu, logvar)), expected, rel_tol=1e-6)


def test_symmetric_kl_values() -> None:
    a = torch.tensor([[1.0, 1.0, -5.0]])
    assert float(symmetric_kl(a, a)) < 1e-6
    b = torch.tensor([[3.0, 1.0, 0.0]])
    p, q = torch.tensor([0.5, 0.5]), torch.tensor([0.75, 0.25])
    expected = float((p * (p / q).log()).sum() + (q * (q / p).log()).sum())
    assert math.isclose(float(symmetric_kl(a, b)), expected, rel_tol=1e-4)


def test_info_nce_without_same_kg_negatives_by_hand() -> None:
    source = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    target = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    sims = BatchSimilarities.of(source, target, same_kg=False)
    assert sims.same_source is None and sims.same_target is None
    # Row 0 of source->target: logits [1, 0.6] / 0.5; row 1: [0, 0.8] / 0.5; and transposed.
    def ce(logits, i):
        return -math.log(math.exp(logits[i]) / sum(math.exp(x) for x in logits))
    forward = (ce([2.0, 1.2], 0) + ce([0.0, 1.6], 1)) / 2
    backward = (ce([2.0, 0.0], 0) + ce([1.2, 1.6], 1)) / 2
    assert math.isclose(float(info_nce_from(sims, 0.5)), 0.5 * (forward + backward), rel_tol=1e-6)


def _concatenated_cross_entropy(sims: BatchSimilarities, temperature: float, weights: torch.Tensor,
                                inner_weight: float) -> torch.Tensor:
    """The loss as one cross-entropy over all logits of a row, the textbook form."""
    b = sims.cross.shape[0]
    eye = torch.eye(b, dtype=torch.bool)

    def direction(cross, same, extra):
        same = same.masked_fill(eye, float("-inf")) / temperature + math.log(inner_weight)
        logits = torch.cat([cross / temperature, same, *([] if extra is None else [extra / temperature])], dim=1)
        terms = torch.nn.functional.cross_entropy(logits, torch.arange(b), reduction="none")
        return (terms * weights).sum() / weights.sum()

    return 0.5 * (direction(sims.cross, sims.same_source, sims.extra) + direction(sims.cross.t(), sims.same_target, None))


def test_blockwise_info_nce_equals_one_cross_entropy_over_all_logits() -> None:
    generator = torch.Generator().manual_seed(0)
    source, target, negatives = (torch.randn(n, 8, generator=generator) for n in (6, 6, 3))
    weights = torch.rand(6, generator=generator) + 0.1
    for inner_weight in (1.0, 0.3):
        sims = BatchSimilarities.of(source.requires_grad_(), target, negatives)
        ours = info_nce_from(sims, 0.1, weights, inner_weight)
        reference = _concatenated_cross_entropy(sims, 0.1, weights, inner_weight)
        assert torch.allclose(ours, reference, atol=1e-6)
        grad_ours, = torch.autograd.grad(ours, source, retain_graph=True)
        grad_reference, = torch.autograd.grad(reference, source)
        assert torch.allclose(grad_ours, grad_reference, atol=1e-6)
