"""ALMEA's fusion: one learnable weight per modality, pi = softmax(w) (spec section 2).

(The module is not called ``global.py``: ``global`` is a Python keyword, so it could not be
imported by name.)
"""
from __future__ import annotations

import torch
from torch import nn

from almea.model.config import ModelConfig
from almea.model.fusion.base import Fusion, Hidden, weighted_join
from almea.model.losses import BatchSimilarities


class GlobalFusion(Fusion):
    """h_i = join_m pi_m normalize(h_i^m): instance-invariant weights, which the paper argues
    are more stable than per-entity attention under missing data."""

    name = "global"

    def __init__(self, modalities: tuple[str, ...], config: ModelConfig) -> None:
        super().__init__(modalities, config)
        self.modality_logits = nn.Parameter(torch.zeros(len(modalities)))

    @property
    def reads_modality_similarities(self) -> bool:
        return self.config.joint == "concat"

    def fuse(self, hidden: Hidden) -> tuple[torch.Tensor, torch.Tensor]:
        pi = torch.softmax(self.modality_logits, dim=0)
        joint = weighted_join([hidden[m] for m in self.modalities], pi, self.config.joint)
        return joint, pi.unsqueeze(0).expand(len(joint), -1)

    def global_weights(self) -> dict[str, float]:
        pi = torch.softmax(self.modality_logits.detach(), dim=0)
        return {m: float(pi[i]) for i, m in enumerate(self.modalities)}

    def joint_similarities(
        self,
        hidden: Hidden,
        pairs: torch.Tensor,
        hard_negatives: torch.Tensor | None,
        per_modality: list[BatchSimilarities],
    ) -> BatchSimilarities:
        """With a concat joint, cos(joint) is the pi^2-weighted mean of the per-modality cosines,
        so the joint loss costs no extra (B x B x M d) product."""
        if self.config.joint != "concat":
            return super().joint_similarities(hidden, pairs, hard_negatives, per_modality)
        return BatchSimilarities.weighted_sum(per_modality, torch.softmax(self.modality_logits, dim=0))
