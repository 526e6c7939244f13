"""Loss functions of ALMEA (spec sections 3-5; paper appendix B.2)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

EPS = 1e-8


@dataclass
class BatchSimilarities:
    """Cosine similarities within a batch of B pairs: (B, B) each, (B, K) for ``extra``."""

    cross: torch.Tensor
    """source_i . target_j"""
    same_source: torch.Tensor | None
    """source_i . source_j (None: no negatives from the anchor's own KG)"""
    same_target: torch.Tensor | None
    """target_i . target_j"""
    extra: torch.Tensor | None = None
    """source_i . hard_negative_k"""

    @classmethod
    def of(
        cls, source: torch.Tensor, target: torch.Tensor, negatives: torch.Tensor | None = None, same_kg: bool = True
    ) -> "BatchSimilarities":
        source, target = F.normalize(source, dim=1), F.normalize(target, dim=1)
        extra = None if negatives is None else source @ F.normalize(negatives, dim=1).t()
        if not same_kg:
            return cls(source @ target.t(), None, None, extra)
        return cls(source @ target.t(), source @ source.t(), target @ target.t(), extra)

    @staticmethod
    def weighted_sum(parts: list["BatchSimilarities"], weights: torch.Tensor) -> "BatchSimilarities":
        """Similarities of the concatenation of ``w_m``-scaled normalised parts, renormalised.

        With a concat joint embedding, cos(joint) = sum_m pi_m^2 cos_m / sum_m pi_m^2, so the
        joint loss costs no extra (B x B x M d) product.
        """
        w = weights.square() / weights.square().sum()
        def combine(name: str) -> torch.Tensor | None:
            if getattr(parts[0], name) is None:
                return None
            return sum(w[i] * getattr(p, name) for i, p in enumerate(parts))

        return BatchSimilarities(combine("cross"), combine("same_source"), combine("same_target"), combine("extra"))


def _weighted_mean(values: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    return values.mean() if weights is None else (values * weights).sum() / weights.sum()


def info_nce_from(
    sims: BatchSimilarities, temperature: float, weights: torch.Tensor | None = None, inner_weight: float = 1.0
) -> torch.Tensor:
    """Symmetric contrastive alignment loss over B labelled pairs (section 3).

    Row i's positive is pair i's counterpart; negatives are the other counterparts and,
    when present, the other entities of the anchor's own KG in the batch (MCLEA's in-batch
    negatives from both KGs), plus ``extra`` hard negatives (e.g. rejected pairs) for sources.
    ``weights`` (B,) weigh each pair's term (pseudo-labels may count less than answers).
    ``inner_weight`` scales the own-KG negatives in the denominator (MIMEA's gamma, eq. 9).

    Computed block by block (a logsumexp per block of columns, then over the blocks) rather than
    as one cross-entropy over the concatenated (B, 2B + K) logits: the same loss without
    copying every logit twice, which was most of a training step (``bench/epoch_time.py``).
    """
    cross = sims.cross / temperature
    diagonal = torch.eye(cross.shape[0], dtype=torch.bool, device=cross.device)

    def one_direction(cross_lse: torch.Tensor, same: torch.Tensor | None, extra: torch.Tensor | None) -> torch.Tensor:
        blocks = [cross_lse]
        if same is not None:
            own = torch.logsumexp((same / temperature).masked_fill_(diagonal, float("-inf")), dim=1)
            blocks.append(own if inner_weight == 1.0 else own + math.log(inner_weight))
        if extra is not None:
            blocks.append(torch.logsumexp(extra / temperature, dim=1))
        lse = blocks[0] if len(blocks) == 1 else torch.logsumexp(torch.stack(blocks, dim=1), dim=1)
        return _weighted_mean(lse - cross.diagonal(), weights)

    forward = one_direction(torch.logsumexp(cross, dim=1), sims.same_source, sims.extra)
    return 0.5 * (forward + one_direction(torch.logsumexp(cross, dim=0), sims.same_target, None))


def info_nce(
    source: torch.Tensor,
    target: torch.Tensor,
    temperature: float,
    hard_negatives: torch.Tensor | None = None,
    same_kg: bool = True,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """:func:`info_nce_from` on the similarities of (B, d) ``source``/``target`` embeddings."""
    return info_nce_from(BatchSimilarities.of(source, target, hard_negatives, same_kg), temperature, weights)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) per row, averaged (L_DML, eq. 9)."""
    return (-0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(dim=1)).mean()


def _l1_distribution(z: torch.Tensor) -> torch.Tensor:
    positive = F.relu(z)
    return positive / (positive.sum(dim=1, keepdim=True) + EPS)


def symmetric_kl(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """KL(p||q) + KL(q||p) of L1-normalised ReLU latents, averaged over rows (L_SCL, eq. 2)."""
    p, q = _l1_distribution(a), _l1_distribution(b)
    log_p, log_q = torch.log(p + EPS), torch.log(q + EPS)
    return ((p * (log_p - log_q)).sum(dim=1) + (q * (log_q - log_p)).sum(dim=1)).mean()
