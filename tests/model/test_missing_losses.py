"""The missing-modality strategies' losses (almea.model.missing.losses) against hand-computed values."""
from __future__ import annotations

import math

import pytest
import torch

from almea.model.missing.losses import (
    cross_modal_contrastive,
    discriminator_loss,
    generator_loss,
    hard_ranks,
    mutual_information_loss,
    rank_activation,
    ranking_distillation,
    soft_ranks,
)


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@pytest.mark.parametrize("x, alpha, beta", [(0.0, 1.0, 1.0), (-1.0, 10.0, 1.0), (2.0, 10.0, 1.0), (0.5, 0.5, 3.0),
                                            (-800.0, 10.0, 1.0)])
def test_rank_activation_is_eq_11(x: float, alpha: float, beta: float) -> None:
    exponent = -min(alpha * x, x)
    expected = 0.0 if exponent > 700 else 1 / (1 + beta * math.exp(exponent))
    assert rank_activation(torch.tensor(x, dtype=torch.float64), alpha, beta).item() == pytest.approx(expected, abs=1e-12)


def test_soft_ranks_by_hand() -> None:
    scores = torch.tensor([[3.0, 1.0, 2.0]], dtype=torch.float64)
    s = sigmoid
    expected = [1 + s(-2) + s(-1), 1 + s(2) + s(1), 1 + s(1) + s(-1)]        # alpha = beta = 1: the plain sigmoid
    assert soft_ranks(scores, 1.0, 1.0)[0].tolist() == pytest.approx(expected, abs=1e-12)
    assert hard_ranks(scores)[0].tolist() == [1.0, 3.0, 2.0]
    valid = torch.tensor([[True, False, True]])                               # candidate 1 is not in N_i
    assert soft_ranks(scores, 1.0, 1.0, valid)[0, 0].item() == pytest.approx(1 + s(-1), abs=1e-12)


def test_soft_ranks_approach_hard_ranks_as_alpha_grows() -> None:
    """Alpha drives the terms of lower-scored candidates to 0, leaving 1 + sum over higher-scored
    k of sigma(S_k - S_j) = 1 / (1 + beta e^-(S_k - S_j)): eq. 11 leaves positive gaps to the
    plain sigmoid, so that limit reaches the hard rank as the score gaps grow (the alignment
    logit cos / temperature gives gaps of several units), not through alpha alone."""
    for scale in (2.0, 5.0, 20.0):
        scores = scale * torch.tensor([[0.0, 1.0, 2.0, 3.0]], dtype=torch.float64)
        limit = torch.tensor([[1 + sum(sigmoid(scale * (k - j)) for k in range(j + 1, 4)) for j in range(4)]],
                             dtype=torch.float64)
        gaps = [(soft_ranks(scores, alpha, 1.0) - limit).abs().max().item() for alpha in (1.0, 3.0, 10.0, 100.0)]
        assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 1e-30
        assert (soft_ranks(scores, 100.0, 1.0) <= hard_ranks(scores)).all()
    assert torch.equal(hard_ranks(scores), torch.tensor([[4.0, 3.0, 2.0, 1.0]], dtype=torch.float64))
    assert (soft_ranks(scores, 100.0, 1.0) - hard_ranks(scores)).abs().max().item() < 1e-8


def test_ranking_distillation_by_hand_and_stops_the_teachers_gradient() -> None:
    student = torch.tensor([[1.0, 0.0]], dtype=torch.float64, requires_grad=True)
    teacher = torch.tensor([[0.0, 1.0]], dtype=torch.float64, requires_grad=True)
    loss = ranking_distillation(student, teacher, 1.0, 1.0)
    # r_s = (1 + s(-1), 1 + s(1)), r_t = (1 + s(1), 1 + s(-1)): two gaps of s(1) - s(-1).
    assert loss.item() == pytest.approx(2 * (sigmoid(1) - sigmoid(-1)), abs=1e-12)
    loss.backward()
    assert student.grad.abs().sum() > 0 and teacher.grad is None
    assert ranking_distillation(teacher.detach(), teacher.detach(), 10.0, 1.0).item() == 0.0


def test_mutual_information_loss_by_hand() -> None:
    student = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    teacher = torch.tensor([[1.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
    weight = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    # logits s_i W t_j: row 0 (2, 0), row 1 (1, 1); positives on the diagonal: 2 and 1.
    expected = ((math.log(math.exp(2) + 1) - 2) + (math.log(2 * math.e) - 1)) / 2
    assert mutual_information_loss(student, teacher, weight).item() == pytest.approx(expected, abs=1e-12)


def test_mutual_information_estimate_sign_and_minimum() -> None:
    """log A - L_mi estimates the MI: 0 for a critic blind to its inputs, positive when the
    critic scores true pairs higher, negative when lower; L_mi is never below its minimum 0."""
    views = torch.eye(4, dtype=torch.float64)
    a = math.log(4)
    assert mutual_information_loss(views, views, torch.zeros(4, 4, dtype=torch.float64)).item() == pytest.approx(a)
    losses = [mutual_information_loss(views, views, c * torch.eye(4, dtype=torch.float64)).item() for c in (1, 5, 50)]
    assert all(0 <= loss < a for loss in losses) and losses == sorted(losses, reverse=True)
    assert losses[-1] < 1e-15
    assert a - mutual_information_loss(views, views, -torch.eye(4, dtype=torch.float64)).item() < 0


def test_adversarial_losses_by_hand() -> None:
    zero = torch.zeros(3)
    assert discriminator_loss(zero, zero).item() == pytest.approx(2 * math.log(2), abs=1e-6)
    real, fake = torch.tensor([2.0]), torch.tensor([-1.0])
    expected = -math.log(sigmoid(2.0)) - math.log(1 - sigmoid(-1.0))          # eq. 4 with D = sigmoid(logit)
    assert discriminator_loss(real, fake).item() == pytest.approx(expected, abs=1e-6)
    assert generator_loss(fake).item() == pytest.approx(-math.log(sigmoid(-1.0)), abs=1e-6)


def test_cross_modal_contrastive_by_hand() -> None:
    structure = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    generated = torch.tensor([[2.0, 0.0], [1.0, 1.0]], dtype=torch.float64)   # cosines: row 0 (1, r), row 1 (0, r)
    tau, r = 0.5, 1 / math.sqrt(2)
    row0 = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + math.exp(r / tau)))
    row1 = -math.log(math.exp(r / tau) / (math.exp(0.0) + math.exp(r / tau)))
    assert cross_modal_contrastive(structure, generated, tau).item() == pytest.approx((row0 + row1) / 2, abs=1e-12)
