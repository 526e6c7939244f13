"""Loss functions of the missing-modality strategies: rMMEA's ranking distillation and
mutual-information estimator, MACO's adversarial and cross-modal contrastive losses.

Plain functions of tensors, so each is tested against a hand-computed value (PyKEEN keeps
its losses apart from its models the same way).
"""
from __future__ import annotations

import math

import torch
from torch.nn import functional as F


def rank_activation(x: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    """sigma(x) = 1 / (1 + beta exp(-min(alpha x, x))) (rMMEA eq. 11), as the equal
    sigmoid(min(alpha x, x) - log beta), which neither overflows nor loses its gradient.

    With alpha > 1 a negative x (a candidate scored below) is pushed towards 0 while a
    positive one keeps the plain sigmoid: 1 / (1 + beta e^-x).
    """
    return torch.sigmoid(torch.minimum(alpha * x, x) - math.log(beta))


def soft_ranks(
    scores: torch.Tensor, alpha: float, beta: float, valid: torch.Tensor | None = None
) -> torch.Tensor:
    """(A, C) soft rank of every candidate among its row's candidates (rMMEA eq. 10):
    r_j = 1 + sum_{k != j} sigma(S_k - S_j), over the ``valid`` (A, C) candidates only.

    A candidate is not compared with itself: eq. 8's indicator gives I(0) = 0, which the
    sigmoid would turn into 1 / (1 + beta), so the soft rank could never reach the hard one.
    """
    diff = scores.unsqueeze(1) - scores.unsqueeze(2)                        # (A, j, k): S_k - S_j
    counted = ~torch.eye(scores.shape[1], dtype=torch.bool, device=scores.device)
    if valid is not None:
        counted = counted & valid.unsqueeze(1)
    return 1 + (rank_activation(diff, alpha, beta) * counted).sum(dim=2)


def hard_ranks(scores: torch.Tensor) -> torch.Tensor:
    """(A, C) rank of every candidate in its row: 1 + how many score strictly higher (eq. 8)."""
    return 1 + (scores.unsqueeze(1) > scores.unsqueeze(2)).sum(dim=2).to(scores.dtype)


def ranking_distillation(
    student: torch.Tensor,
    teacher: torch.Tensor,
    alpha: float,
    beta: float,
    valid: torch.Tensor | None = None,
) -> torch.Tensor:
    """L_rd = sum_j |r_s(j) - r_t(j)| over each row's candidates (eq. 9), averaged over rows.

    ``student`` and ``teacher`` are (A, C) scores of the same candidates; the teacher's ranks
    carry no gradient (the stop-gradient of eq. 5)."""
    r_student = soft_ranks(student, alpha, beta, valid)
    r_teacher = soft_ranks(teacher.detach(), alpha, beta, valid)
    gap = (r_student - r_teacher).abs()
    if valid is not None:
        gap = gap * valid
    return gap.sum(dim=1).mean()


def bilinear_scores(student: torch.Tensor, teacher: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """(A, A) log f_mi(e_s_i, e_t_j) = e_s_i^T W e_t_j of eq. 12 (b_m left out: see below)."""
    return student @ weight @ teacher.t()


def mutual_information_loss(student: torch.Tensor, teacher: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The contrastive MI estimator of rMMEA eqs. 12-13 over A rows: row i's positive is its
    own teacher embedding, the other rows' teachers are its sampled negatives.

    Read as the CPC/InfoNCE estimator the paper cites (van den Oord et al. 2018; Tian et al.
    2020): L_mi = -log f(s_i, t_i) / sum_j f(s_i, t_j). Eq. 13 as printed,
    -log f_pos + E log f_neg, is linear in W and has no minimum (W grows without bound);
    this form is >= 0, equals log A for a critic that ignores its inputs, and log A - L_mi
    is a lower bound on the mutual information. eq. 12's bias b_m multiplies every f alike,
    so it cancels in either form and is left out.
    """
    logits = bilinear_scores(student, teacher, weight)
    return (torch.logsumexp(logits, dim=1) - logits.diagonal()).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """MACO's L_adv (eq. 4) for D: -(mean log(1 - D(s, g)) + mean log D(s, v)), D a logit."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """G's side of the mini-max game (eq. 5) in the non-saturating form, -mean log D(s, g):
    the same fixed point as maximising eq. 4, with a gradient while D still wins easily
    (Goodfellow et al. 2014, section 3)."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def cross_modal_contrastive(structure: torch.Tensor, generated: torch.Tensor, temperature: float) -> torch.Tensor:
    """MACO's L_con (eqs. 6-7) over a batch: -mean_i log gamma(s_i, g_i) / sum_j gamma(s_i, g_j),
    gamma = exp(cos / tau), the other rows' generated features the in-batch negatives."""
    cosine = F.normalize(structure, dim=1) @ F.normalize(generated, dim=1).t()
    targets = torch.arange(len(cosine), device=cosine.device)
    return F.cross_entropy(cosine / temperature, targets)
