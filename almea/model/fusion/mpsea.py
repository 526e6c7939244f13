"""MPSEA's fusion and losses (MPSEA sections 3.4-3.6): a cross-modal transformer over each
entity's modality embeddings with pre-synergistic keys and values (MMPF, eq. 6), per-entity
weights from its attention scores (eqs. 8-9), and the optional MI-rewarded policy (3.5).

Readings of the paper fixed here:
- One multi-head attention block over the M modality tokens of an entity (MEAformer's), with
  per-modality Q/K/V projections (eq. 5), then residual + LayerNorm, FFN, residual + LayerNorm.
- Eq. 6's "+" is concatenation along the key axis: each textual modality (relation,
  attribute, value, name) owns two extra key/value tokens, lambda_g K_g and lambda_v K_v.
- beta_z is the attention that modality z's tokens receive, summed over queries; eqs. 8-9
  scale it by 1/sqrt(|M_1| N_s) for the other modalities and 1/sqrt(N_s) for the graph.
- The joint is the weighted concat of the transformer's outputs (the late joint); the paper
  replaces the early joint's loss by the late one's (3.6), so no early joint is built.
- The visual FFN's OutlookerAttention is left out: it needs image patches, and the project
  keeps one pooled feature vector per image (and the text benchmarks have no images).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from almea.model.config import ModelConfig
from almea.model.fusion.base import Hidden, PerEntityFusion, intra_modal_loss, rows_of, weighted_join
from almea.model.fusion.losses import mutual_information_reward, reinforce_loss
from almea.model.losses import BatchSimilarities, info_nce_from

SYNERGY_SOURCES = ("graph", "visual")
"""Modalities whose keys and values join the textual ones (eq. 6)."""


class MPSEAFusion(PerEntityFusion):
    """Cross-modal attention fusion; ``late(hidden)`` gives the per-modality outputs too."""

    name = "mpsea"

    def __init__(self, modalities: tuple[str, ...], config: ModelConfig) -> None:
        super().__init__(modalities, config)
        d, m = config.dim, len(modalities)
        self.heads = config.mpsea_heads
        self.projections = nn.Parameter(torch.empty(3, m, d, d))                # Q, K, V per modality
        for matrix in self.projections.view(-1, d, d):
            nn.init.xavier_uniform_(matrix)
        self.output = nn.Linear(d, d)
        self.attention_norm = nn.LayerNorm(d)
        self.ffn = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))
        self.ffn_norm = nn.LayerNorm(d)
        textual = [i for i, name in enumerate(modalities) if name not in SYNERGY_SOURCES]
        sources = [s for s in SYNERGY_SOURCES if s in modalities] if config.mpsea_presynergy and textual else []
        self.synergy = nn.ParameterDict({s: nn.Parameter(torch.ones(())) for s in sources})
        # Key tokens: the M modalities, then (textual modality, source) pairs; owner = modality index.
        self.synergy_tokens = [(t, modalities.index(s)) for t in textual for s in sources]
        self.register_buffer("owners", torch.tensor(list(range(m)) + [t for t, _ in self.synergy_tokens]),
                             persistent=False)
        scale = torch.full((m,), 1.0 / math.sqrt(max(m - ("graph" in modalities), 1) * self.heads))
        if "graph" in modalities:
            scale[modalities.index("graph")] = 1.0 / math.sqrt(self.heads)
        self.register_buffer("weight_scale", scale, persistent=False)
        if config.mpsea_rl:
            joint_dim = d * m if config.joint == "concat" else d
            self.policy = nn.Linear(joint_dim + 1, 2)

    def late(self, hidden: Hidden) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, M, d) transformer outputs x~^m and (B, M) cross-modal weights (eqs. 5-9)."""
        x = torch.stack([F.normalize(hidden[m], dim=1) for m in self.modalities], dim=1)   # (B, M, d)
        b, m, d = x.shape
        q, k, v = (torch.einsum("bmd,mde->bme", x, w).view(b, m, self.heads, -1).transpose(1, 2)
                   for w in self.projections)                                  # (B, H, M, d_h) each
        if self.synergy_tokens:
            k, v = (torch.cat([t] + [self.synergy[self.modalities[s]] * t[:, :, s : s + 1]
                                     for _, s in self.synergy_tokens], dim=2) for t in (k, v))
        attention = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)  # (B, H, M, T)
        mixed = (attention @ v).transpose(1, 2).reshape(b, m, d)
        hat = self.attention_norm(x + self.output(mixed))
        out = self.ffn_norm(hat + self.ffn(hat))
        received = attention.sum(dim=(1, 2))                                   # (B, T): over heads, queries
        beta = received.new_zeros(b, m).index_add_(1, self.owners, received)   # (B, M)
        return out, torch.softmax(beta * self.weight_scale, dim=1)

    def fuse_rows(self, hidden: Hidden) -> tuple[torch.Tensor, torch.Tensor]:
        out, weights = self.late(hidden)
        return weighted_join(list(out.unbind(dim=1)), weights, self.config.joint), weights

    @property
    def shares_are_exact(self) -> bool:
        """False: block m of the late joint is the transformer's output at modality m's token,
        which attends to every modality, so its term of a pair's cosine (still the fusion's
        weights times the late per-modality cosine, and the terms still sum to the cosine) also
        carries what that token drew from the other modalities."""
        return False

    def losses(
        self,
        hidden: Hidden,
        pairs: torch.Tensor,
        hard_negatives: torch.Tensor | None,
        weights: torch.Tensor | None,
    ) -> dict[str, torch.Tensor]:
        """L_joi on the late joint (``align``), L_ICL on the inputs (``intra``), L_LICL on the
        transformer outputs (``late_intra``) (eqs. 14-15), and L_RL (``rl``) when on."""
        cfg = self.config
        source, target = rows_of(hidden, pairs[:, 0]), rows_of(hidden, pairs[:, 1])
        (late_source, w_source), (late_target, w_target) = self.late(source), self.late(target)
        joint_source = weighted_join(list(late_source.unbind(dim=1)), w_source, cfg.joint)
        joint_target = weighted_join(list(late_target.unbind(dim=1)), w_target, cfg.joint)
        negatives = None if hard_negatives is None else self(rows_of(hidden, hard_negatives))
        joint = BatchSimilarities.of(joint_source, joint_target, negatives, cfg.same_kg_negatives)
        terms = {"align": info_nce_from(joint, cfg.temperature, weights)}
        if cfg.intra_modal:
            early = [BatchSimilarities.of(source[m], target[m], same_kg=cfg.same_kg_negatives) for m in self.modalities]
            late = [BatchSimilarities.of(late_source[:, i], late_target[:, i], same_kg=cfg.same_kg_negatives)
                    for i in range(len(self.modalities))]
            terms["intra"] = intra_modal_loss(early, cfg.temperature, weights)
            terms["late_intra"] = intra_modal_loss(late, cfg.temperature, weights)
        if cfg.mpsea_rl:
            joints = torch.cat([joint_source, joint_target])
            reference = F.normalize(torch.cat([late_source, late_target]), dim=2).flatten(1)
            if cfg.joint == "sum":
                reference = reference.view(len(joints), len(self.modalities), -1).sum(dim=1)
            mi, reward = mutual_information_reward(
                joints, reference, cfg.mpsea_rl_threshold, cfg.mpsea_rl_mi_weight, cfg.mpsea_rl_penalty
            )
            terms["rl"] = reinforce_loss(self.policy, joints, mi, reward)
        return terms
