"""The contract every modality fusion implements, and ALMEA's base alignment loss over it.

Shapes crossing the boundary: ``hidden[m]`` is (B, d) for every modality of ``modalities``;
the joint embedding is (B, D) (D = M d for the ``concat`` joint, d for ``sum``); weights are
(B, M), one row per entity summing to 1, columns in ``modalities`` order.
"""
from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from almea.model.config import ModelConfig
from almea.model.losses import BatchSimilarities, info_nce_from

Hidden = dict[str, torch.Tensor]


def weighted_join(embeddings: list[torch.Tensor], weights: torch.Tensor, joint: str) -> torch.Tensor:
    """Scale each L2-normalised (B, d) embedding by its weight and concatenate or sum them.

    ``weights`` is (M,) for one weight per modality or (B, M) for per-entity weights.
    """
    columns = weights if weights.dim() == 1 else weights.t().unsqueeze(-1)       # (M,) or (M, B, 1)
    parts = [columns[i] * F.normalize(e, dim=1) for i, e in enumerate(embeddings)]
    return torch.cat(parts, dim=1) if joint == "concat" else torch.stack(parts).sum(0)


def intra_modal_loss(
    per_modality: list[BatchSimilarities], temperature: float, weights: torch.Tensor | None
) -> torch.Tensor:
    """Sum of the per-modality InfoNCE terms (MCLEA's intra-modal loss); hard negatives are
    defined for the joint embedding only, so their column is left out."""
    return sum(
        info_nce_from(BatchSimilarities(s.cross, s.same_source, s.same_target), temperature, weights)
        for s in per_modality
    )


def rows_of(hidden: Hidden, ids: torch.Tensor) -> Hidden:
    """The (len(ids), d) rows of every modality embedding."""
    return {m: h[ids] for m, h in hidden.items()}


class Fusion(nn.Module):
    """Per-modality embeddings -> one joint embedding per entity, and the loss that trains it.

    A variant implements :meth:`fuse` and :meth:`global_weights`; it replaces :meth:`losses`
    when its paper trains differently from ALMEA's contrastive loss (spec section 3).
    """

    name: ClassVar[str]

    def __init__(self, modalities: tuple[str, ...], config: ModelConfig) -> None:
        super().__init__()
        self.modalities = modalities
        self.config = config

    @property
    def reads_modality_similarities(self) -> bool:
        """Whether :meth:`joint_similarities` combines the per-modality ones (so they are computed)."""
        return False

    def fuse(self, hidden: Hidden) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, D) joint embeddings and (B, M) weights of the rows in ``hidden``."""
        raise NotImplementedError

    def forward(self, hidden: Hidden) -> torch.Tensor:
        return self.fuse(hidden)[0]

    def weights(self, hidden: Hidden) -> torch.Tensor:
        """(B, M) per-entity modality weights, each row summing to 1."""
        return self.fuse(hidden)[1]

    def global_weights(self) -> dict[str, float]:
        """One weight per modality for reports and the global bar plot."""
        raise NotImplementedError

    @property
    def shares_are_exact(self) -> bool:
        """Whether block m of the concat joint is computed from modality m alone, so that
        :meth:`similarity_shares` splits a pair's cosine into what each modality contributes."""
        return True

    def similarity_shares(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
        """(P, M) each block's term of the cosine of L2-normalised joint rows ``source`` and
        ``target`` (P, D), summing to it; None for the ``sum`` joint, which has no blocks.

        With per-modality weights w, cos(s, t) = sum_m w_sm w_tm cos_m(s, t) / (|s| |t|), so
        the terms carry the fusion's own weights of both entities.
        """
        if self.config.joint != "concat":
            return None
        return (source * target).view(len(source), len(self.modalities), -1).sum(dim=2)

    def losses(
        self,
        hidden: Hidden,
        pairs: torch.Tensor,
        hard_negatives: torch.Tensor | None,
        weights: torch.Tensor | None,
    ) -> dict[str, torch.Tensor]:
        """Named loss terms for labelled ``pairs`` (B, 2) given all entities' ``hidden`` (N, d);
        default: ALMEA's InfoNCE on the joint (``align``) plus each modality's (``intra``)."""
        cfg = self.config
        reads = self.reads_modality_similarities
        per_modality = self.modality_similarities(hidden, pairs, hard_negatives) if reads else []
        joint = self.joint_similarities(hidden, pairs, hard_negatives, per_modality)
        terms = {"align": info_nce_from(joint, cfg.temperature, weights)}
        if cfg.intra_modal:
            per_modality = per_modality if reads else self.modality_similarities(hidden, pairs, None)
            terms["intra"] = intra_modal_loss(per_modality, cfg.temperature, weights)
        return terms

    def modality_similarities(
        self, hidden: Hidden, pairs: torch.Tensor, hard_negatives: torch.Tensor | None
    ) -> list[BatchSimilarities]:
        """Each modality's similarities over the batch, in ``modalities`` order."""
        src, tgt = pairs[:, 0], pairs[:, 1]
        return [
            BatchSimilarities.of(
                hidden[m][src], hidden[m][tgt],
                None if hard_negatives is None else hidden[m][hard_negatives], self.config.same_kg_negatives,
            )
            for m in self.modalities
        ]

    def joint_similarities(
        self,
        hidden: Hidden,
        pairs: torch.Tensor,
        hard_negatives: torch.Tensor | None,
        per_modality: list[BatchSimilarities],
    ) -> BatchSimilarities:
        """Similarities of the batch's joint embeddings; default: fuse the rows and compare them."""
        joint = self(rows_of(hidden, pairs.flatten()))
        negatives = None if hard_negatives is None else self(rows_of(hidden, hard_negatives))
        return BatchSimilarities.of(joint[0::2], joint[1::2], negatives, self.config.same_kg_negatives)


class PerEntityFusion(Fusion):
    """A fusion whose weights differ per entity. Its global weights are the mean per-entity
    weights of the latest evaluation-mode fusion (``ALMEA.embed`` fuses every entity), kept
    as a buffer so reports read them without the inputs and checkpoints carry them."""

    def __init__(self, modalities: tuple[str, ...], config: ModelConfig) -> None:
        super().__init__(modalities, config)
        self.register_buffer("mean_weights", torch.full((len(modalities),), 1.0 / len(modalities)))

    def fuse_rows(self, hidden: Hidden) -> tuple[torch.Tensor, torch.Tensor]:
        """What :meth:`fuse` returns, without the bookkeeping."""
        raise NotImplementedError

    def fuse(self, hidden: Hidden) -> tuple[torch.Tensor, torch.Tensor]:
        joint, weights = self.fuse_rows(hidden)
        if not self.training:
            self.mean_weights.copy_(weights.detach().mean(dim=0))
        return joint, weights

    def global_weights(self) -> dict[str, float]:
        return {m: float(self.mean_weights[i]) for i, m in enumerate(self.modalities)}
