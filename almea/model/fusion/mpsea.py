"""MPSEA's fusion and losses (MPSEA sections 3.4-3.6): a cross-modal transformer over each
entity's modality embeddings with pre-synergistic keys and values (MMPF, eq. 6), per-entity
weights from its attention scores (eqs. 8-9), and the optional MI-rewarded policy (3.5).

Readings of the paper fixed here:
- One multi-head attention block over the M modality tokens of an entity (MEAformer's), with
  per-modality Q/K/V projections (eq. 5), then residual + LayerNorm, FFN, residual + LayerNorm.
- The graph token is its own transformer (3.4.1): its query reads only its own key, and the
  other modalities' queries (M_1, eq. 7) do not read the graph token: the graph reaches them
  only through the pre-synergistic keys of eq. 6. So the graph's late output is a function
  of the graph embedding alone, and beta_g = 1 per head (eq. 9's logit is sqrt(N_s)).
- Eq. 6's "+" is concatenation along the key axis: each textual modality (relation,
  attribute, value, name) owns two extra key/value tokens, lambda_g K_g and lambda_v K_v.
- beta_z is the attention that modality z's tokens receive, summed over queries; eqs. 8-9
  scale it by 1/sqrt(|M_1| N_s) for the other modalities and 1/sqrt(N_s) for the graph.
- Departure: the joint that is ranked (``fuse``) is the early joint x^mu, the cross-modal
  weights times the modality embeddings themselves, as MEAformer [18] ranks it (its code's
  ``joint_emb``); the paper does not say which joint it ranks. The transformer outputs enter
  the losses only: the paper's L_joi on the late joint (3.6, ``late_align``), L_LICL, L_RL.
  ``align`` trains the ranked early joint, as in MEAformer and the other fusions. With the
  late joint ranked, MPSEA reached Hits@1 0.415 on FB15K237-DB15K at 20% seeds against 0.636
  for ``global`` (README): every block then passes through a freshly initialised transformer
  that gets one step per epoch there (2.5k pairs, one batch), which blurs weak, fine-grained
  similarities among ~10k candidates; the synthetic pair (~280 candidates, images) hid it.
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
        blocked = torch.zeros(m, len(self.owners), dtype=torch.bool)              # (queries, keys)
        if "graph" in modalities:
            g = modalities.index("graph")
            blocked[g, :], blocked[:, g] = True, True                             # 3.4.1: its own transformer
            blocked[g, g] = False
        self.register_buffer("blocked", blocked, persistent=False)
        scale = torch.full((m,), 1.0 / math.sqrt(max(m - ("graph" in modalities), 1) * self.heads))
        if "graph" in modalities:
            scale[modalities.index("graph")] = 1.0 / math.sqrt(self.heads)
        self.register_buffer("weight_scale", scale, persistent=False)
        if config.mpsea_rl:
            joint_dim = d * m if config.joint == "concat" else d
            self.policy = nn.Linear(joint_dim + 1, 2)

    def attend(self, hidden: Hidden) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The normalised (B, M, d) inputs, (B, H, T, d_h) values, (B, H, M, T) attention (eq. 5)
        and (B, M) cross-modal weights (eqs. 8-9): all the ranked joint needs, without the FFN."""
        x = torch.stack([F.normalize(hidden[m], dim=1) for m in self.modalities], dim=1)   # (B, M, d)
        b, m, _ = x.shape
        q, k, v = (torch.einsum("bmd,mde->bme", x, w).view(b, m, self.heads, -1).transpose(1, 2)
                   for w in self.projections)                                  # (B, H, M, d_h) each
        if self.synergy_tokens:
            k, v = (torch.cat([t] + [self.synergy[self.modalities[s]] * t[:, :, s : s + 1]
                                     for _, s in self.synergy_tokens], dim=2) for t in (k, v))
        scores = (q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])).masked_fill(self.blocked, float("-inf"))
        attention = torch.softmax(scores, dim=-1)                               # (B, H, M, T)
        received = attention.sum(dim=(1, 2))                                   # (B, T): over heads, queries
        beta = received.new_zeros(b, m).index_add_(1, self.owners, received)   # (B, M)
        return x, v, attention, torch.softmax(beta * self.weight_scale, dim=1)

    def late(self, hidden: Hidden) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, M, d) transformer outputs x~^m and (B, M) cross-modal weights (eqs. 5-9)."""
        x, v, attention, weights = self.attend(hidden)
        b, m, d = x.shape
        mixed = (attention @ v).transpose(1, 2).reshape(b, m, d)
        hat = self.attention_norm(x + self.output(mixed))
        return self.ffn_norm(hat + self.ffn(hat)), weights

    def fuse_rows(self, hidden: Hidden) -> tuple[torch.Tensor, torch.Tensor]:
        """The early joint x^mu (ranked) and the cross-modal weights (eqs. 8-9); the transformer's
        outputs are not computed, only the attention that gives the weights."""
        weights = self.attend(hidden)[3]
        return self.early(hidden, weights), weights

    def early(self, hidden: Hidden, weights: torch.Tensor) -> torch.Tensor:
        """x^mu: the weighted join of the modality embeddings themselves (block m reads m only)."""
        return weighted_join([hidden[m] for m in self.modalities], weights, self.config.joint)

    def losses(
        self,
        hidden: Hidden,
        pairs: torch.Tensor,
        hard_negatives: torch.Tensor | None,
        weights: torch.Tensor | None,
    ) -> dict[str, torch.Tensor]:
        """InfoNCE on the ranked early joint with the hard negatives (``align``), L_joi on the late
        joint (``late_align``, eq. 15), L_ICL on the inputs (``intra``), L_LICL on the
        transformer outputs (``late_intra``) (eq. 14), and L_RL (``rl``) when on."""
        cfg = self.config
        source, target = rows_of(hidden, pairs[:, 0]), rows_of(hidden, pairs[:, 1])
        (late_source, w_source), (late_target, w_target) = self.late(source), self.late(target)
        joint_source = weighted_join(list(late_source.unbind(dim=1)), w_source, cfg.joint)
        joint_target = weighted_join(list(late_target.unbind(dim=1)), w_target, cfg.joint)
        negatives = None if hard_negatives is None else self(rows_of(hidden, hard_negatives))
        ranked = BatchSimilarities.of(self.early(source, w_source), self.early(target, w_target), negatives,
                                      cfg.same_kg_negatives)
        joint = BatchSimilarities.of(joint_source, joint_target, same_kg=cfg.same_kg_negatives)
        terms = {"align": info_nce_from(ranked, cfg.temperature, weights),
                 "late_align": info_nce_from(joint, cfg.temperature, weights)}
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
