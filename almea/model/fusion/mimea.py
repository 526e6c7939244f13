"""MIMEA's fusion and losses (MIMEA section 4): probability-guided modal fusion (PMF, 4.2),
optimal-transport modal alignment (OTMA, 4.3), modal-adaptive contrastive learning (MCL, 4.4).

Readings of the paper fixed here:
- The Beta shapes come from the L2-normalised embedding, the same vector the joint scales,
  so the KL (summed over d/2 dimensions, eq. 6) stays on one scale for every modality.
- The pivot is the structural (graph) modality; its own delta is 0, so it gets w = 4 lambda.
  Without a graph modality the first modality is the pivot.
- "Add the weights with the initialised value 1.0": a learnable per-modality prior, initially
  1.0 for every modality (a constant shift alone would not change a softmax), so the joint
  also learns global preferences; without PMF only this prior remains.
- The joint is read in d dimensions for the transport cost as the sum of its weighted blocks.
- OTMA replaces each non-pivot uni-modal embedding in the contrastive losses by its
  transported version; the paper's PMF and OTMA have no loss of their own.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from almea.model.config import ModelConfig
from almea.model.fusion.base import Hidden, PerEntityFusion, intra_modal_loss, rows_of, weighted_join
from almea.model.fusion.losses import UncertaintyWeighting, modal_adaptive_contrastive
from almea.model.fusion.transport import random_groups, transport_to_joint
from almea.model.losses import BatchSimilarities, info_nce_from

BETA_MIN, BETA_MAX = 1e-3, 1e3
"""Bounds of the Beta shapes: lgamma and digamma stay finite for any input, even 0 or inf."""


def beta_parameters(embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, d) -> Beta shapes alpha, beta, (B, d // 2) each: the two halves of the embedding
    (MIMEA 4.2 step 1), made positive by softplus and clamped to [BETA_MIN, BETA_MAX]."""
    half = embedding.shape[1] // 2
    alpha, beta = embedding[:, :half], embedding[:, half : 2 * half]
    return F.softplus(alpha).clamp(BETA_MIN, BETA_MAX), F.softplus(beta).clamp(BETA_MIN, BETA_MAX)


def _log_beta_function(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)


def beta_kl(p: tuple[torch.Tensor, torch.Tensor], q: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """delta = sum_i KL(Beta(p_i) || Beta(q_i)) over the dimensions, per row: (B,) (eq. 6)."""
    (a1, b1), (a2, b2) = p, q
    kl = (
        _log_beta_function(a2, b2) - _log_beta_function(a1, b1)
        + (a1 - a2) * torch.digamma(a1) + (b1 - b2) * torch.digamma(b1)
        + (a2 - a1 + b2 - b1) * torch.digamma(a1 + b1)
    )
    return kl.sum(dim=1)


class MIMEAFusion(PerEntityFusion):
    """Per-entity weights W_PMF = softmax(lambda (2 - delta_m)^2 + prior_m), weighted concat."""

    name = "mimea"

    def __init__(self, modalities: tuple[str, ...], config: ModelConfig) -> None:
        super().__init__(modalities, config)
        self.pivot = "graph" if "graph" in modalities else modalities[0]
        self.prior = nn.Parameter(torch.ones(len(modalities)))
        if config.mimea_mcl:
            self.uncertainty = UncertaintyWeighting(len(modalities) + 1)

    def fuse_rows(self, hidden: Hidden) -> tuple[torch.Tensor, torch.Tensor]:
        embeddings = [hidden[m] for m in self.modalities]
        logits = self.prior.expand(len(embeddings[0]), -1)
        if self.config.mimea_pmf:
            logits = logits + self.pmf_logits(hidden)
        weights = torch.softmax(logits, dim=1)
        return weighted_join(embeddings, weights, self.config.joint), weights

    def pmf_logits(self, hidden: Hidden) -> torch.Tensor:
        """(B, M) w_(m,s) = lambda (2 - delta_(m,s))^2 of each modality against the pivot."""
        pivot = beta_parameters(F.normalize(hidden[self.pivot], dim=1))
        columns = []
        for m in self.modalities:
            delta = torch.zeros_like(pivot[0][:, 0]) if m == self.pivot else beta_kl(
                beta_parameters(F.normalize(hidden[m], dim=1)), pivot
            )
            columns.append(self.config.mimea_rate * (2.0 - delta).square())
        return torch.stack(columns, dim=1)

    def losses(
        self,
        hidden: Hidden,
        pairs: torch.Tensor,
        hard_negatives: torch.Tensor | None,
        weights: torch.Tensor | None,
    ) -> dict[str, torch.Tensor]:
        """MCL over every (OTMA-transported) modality and the joint with uncertainty weights;
        without MCL, ALMEA's joint + intra-modal InfoNCE on the same embeddings."""
        cfg = self.config
        source, target = rows_of(hidden, pairs[:, 0]), rows_of(hidden, pairs[:, 1])
        joint_source, joint_target = self(source), self(target)
        negatives = None if hard_negatives is None else self(rows_of(hidden, hard_negatives))
        if cfg.mimea_otma:
            source, target = self.transported(source, joint_source, target, joint_target)
        same_kg = cfg.mimea_mcl or cfg.same_kg_negatives
        per_modality = [BatchSimilarities.of(source[m], target[m], same_kg=same_kg) for m in self.modalities]
        joint = BatchSimilarities.of(joint_source, joint_target, negatives, same_kg)
        if cfg.mimea_mcl:
            terms = [modal_adaptive_contrastive(s, cfg.temperature, cfg.mimea_inner_weight, weights)
                     for s in [*per_modality, joint]]
            return {"mcl": self.uncertainty(torch.stack(terms))}
        out = {"align": info_nce_from(joint, cfg.temperature, weights)}
        if cfg.intra_modal:
            out["intra"] = intra_modal_loss(per_modality, cfg.temperature, weights)
        return out

    def transported(
        self, source: Hidden, joint_source: torch.Tensor, target: Hidden, joint_target: torch.Tensor
    ) -> tuple[Hidden, Hidden]:
        """OTMA: every non-pivot modality of both sides carried onto its side's joint, with the
        same random row groups on both sides so pair j stays pair j."""
        cfg = self.config
        dim = source[self.pivot].shape[1]
        groups = random_groups(len(joint_source), cfg.mimea_ot_rows, joint_source.device)
        moved = []
        for side, joint in ((source, joint_source), (target, joint_target)):
            view = joint.view(len(joint), -1, dim).sum(dim=1)                  # (B, d)
            moved.append({
                m: h if m == self.pivot else transport_to_joint(
                    h, view, groups, cfg.mimea_ot_epsilon, cfg.mimea_ot_iterations
                )
                for m, h in side.items()
            })
        return moved[0], moved[1]
