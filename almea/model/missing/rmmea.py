"""rMMEA (rMMEA.txt, "Robust MMEA for Missing Visual Modality" and after): a training
objective, no extra stage. Both entities of each sampled labelled pair get a student view with
modalities removed or swapped; the teacher is the same entity's own view, gradient stopped.

Readings fixed here:
- "Removed" is what a really-missing modality looks like to the fusion: the encoding of an
  empty feature row (``TrainingStep.absent``), so students rehearse the inference-time case.
  "Noise" is another anchor's row from the same KG, as the issue's swapped image features.
- S(., .) of eqs. 8-10 is the model's alignment logit, cos / temperature: on raw cosines every
  gap is below 2 and sigma of a positive gap stays near 1 / (1 + beta), far from the indicator.
- N_i (eq. 7): the true counterpart plus ``rmmea_negatives`` entities of the other KG drawn
  per step and shared by the batch's anchors (one matrix product instead of one per anchor);
  a drawn negative that is an anchor's own counterpart is left out of that anchor's set.
- The MI critic (eqs. 12-13) compares L2-normalised joint embeddings, the batch's other
  teachers as negatives; see ``mutual_information_loss`` for the estimator's form.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from almea.model.config import ModelConfig
from almea.model.missing.base import Hidden, MissingModality, TrainingStep, rows_of
from almea.model.missing.losses import mutual_information_loss, ranking_distillation


class RMMEA(MissingModality):
    """Adds L_rd (ranking distillation) and L_mi (MI estimation); completes nothing."""

    name = "rmmea"
    reads_pair_rows_only = False            # L_rd's negatives are drawn from the whole KG

    def __init__(self, modalities: tuple[str, ...], config: ModelConfig) -> None:
        super().__init__(modalities, config)
        self.corrupted = tuple(m for m in config.rmmea_modalities if m in modalities)
        joint_dim = config.dim * len(modalities) if config.joint == "concat" else config.dim
        # W_m of eq. 12, started at the identity: the critic starts as the cosine of the views.
        self.critic = nn.Parameter(torch.eye(joint_dim))

    def losses(self, step: TrainingStep) -> dict[str, torch.Tensor]:
        cfg = self.config
        pairs = step.pairs[torch.randperm(len(step.pairs), device=step.pairs.device)[: cfg.rmmea_batch]]
        anchors = torch.cat([pairs[:, 0], pairs[:, 1]])                          # (A,) KG1 half, then KG2 half
        counterparts = torch.cat([pairs[:, 1], pairs[:, 0]])
        teacher = step.join(rows_of(step.hidden, anchors)).detach()               # (A, D)
        student = step.join(self.student_view(step, anchors))
        terms = {}
        if cfg.rmmea_rd_weight:
            n, b = step.n_entities, len(pairs)
            rd = sum(
                self._distillation(step, student[half], teacher[half], counterparts[half], lo, hi)
                for half, (lo, hi) in ((slice(0, b), (step.n1, n)), (slice(b, 2 * b), (0, step.n1)))
            )
            terms["rmmea_rd"] = cfg.rmmea_rd_weight * rd / 2
        if cfg.rmmea_mi_weight:
            mi = mutual_information_loss(F.normalize(student, dim=1), F.normalize(teacher, dim=1), self.critic)
            terms["rmmea_mi"] = cfg.rmmea_mi_weight * mi
        return terms

    def student_view(self, step: TrainingStep, anchors: torch.Tensor) -> Hidden:
        """(A, d) rows of the anchors with each present corrupted modality removed with
        chance ``rmmea_missing_rate`` or, with chance ``rmmea_noise_rate``, another anchor's
        of the same KG (one that has it). ``anchors`` is a KG1 half then a KG2 half."""
        cfg = self.config
        rows = rows_of(step.hidden, anchors)
        half = len(anchors) // 2
        for m in self.corrupted:
            has = step.present[m][anchors]
            draw = torch.rand(len(anchors), device=anchors.device)
            drop = has & (draw < cfg.rmmea_missing_rate)
            donor = torch.cat([torch.randperm(half, device=anchors.device),
                               half + torch.randperm(half, device=anchors.device)])
            swap = has & ~drop & (draw < cfg.rmmea_missing_rate + cfg.rmmea_noise_rate)
            swap = swap & has[donor] & (anchors[donor] != anchors)
            h = torch.where(drop.unsqueeze(1), step.absent[m].expand_as(rows[m]), rows[m])
            rows[m] = torch.where(swap.unsqueeze(1), rows[m][donor], h)
        return rows

    def _distillation(
        self,
        step: TrainingStep,
        student: torch.Tensor,
        teacher: torch.Tensor,
        counterparts: torch.Tensor,
        lo: int,
        hi: int,
    ) -> torch.Tensor:
        """L_rd of one KG's anchors against candidates of the other KG (ids ``lo``..``hi``)."""
        cfg = self.config
        negatives = torch.randint(lo, hi, (cfg.rmmea_negatives,), device=counterparts.device)
        candidates = step.join(rows_of(step.hidden, torch.cat([counterparts, negatives])))
        candidates = F.normalize(candidates, dim=1)
        positive, negative = candidates[: len(counterparts)], candidates[len(counterparts):]
        valid = torch.cat([torch.ones_like(counterparts, dtype=torch.bool).unsqueeze(1),
                           negatives.unsqueeze(0) != counterparts.unsqueeze(1)], dim=1)   # (B, 1 + K)

        def scores(anchor: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
            anchor = F.normalize(anchor, dim=1)
            return torch.cat([(anchor * pos).sum(dim=1, keepdim=True), anchor @ neg.t()], dim=1) / cfg.temperature

        s_student = scores(student, positive, negative)
        s_teacher = scores(teacher, positive.detach(), negative.detach())
        return ranking_distillation(s_student, s_teacher, cfg.rmmea_alpha, cfg.rmmea_beta, valid)
