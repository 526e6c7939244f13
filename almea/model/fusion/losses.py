"""Loss terms the companion fusions add (MIMEA eqs. 9-10, MPSEA eqs. 10-13), one each."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from almea.model.losses import BatchSimilarities, info_nce_from


def modal_adaptive_contrastive(
    sims: BatchSimilarities, temperature: float, inner_weight: float, weights: torch.Tensor | None
) -> torch.Tensor:
    """MIMEA's L^l (eq. 9), averaged over both directions: in-batch negatives from the other
    KG and, scaled by gamma = ``inner_weight``, from the anchor's own KG."""
    if sims.same_source is None:
        raise ValueError("the modal-adaptive contrastive loss needs the inner-graph similarities (same_kg=True)")
    return info_nce_from(sims, temperature, weights, inner_weight)


class UncertaintyWeighting(nn.Module):
    """Homoscedastic-uncertainty loss weights (MIMEA eq. 10, after Kendall et al. 2018, in the
    form MCLEA uses): sum_l L_l / (2 p_l^2) + log(1 + p_l^2), p learnable, initially 1.
    The log(1 + p^2) regulariser keeps the total non-negative, unlike log p."""

    def __init__(self, n_terms: int) -> None:
        super().__init__()
        self.scales = nn.Parameter(torch.ones(n_terms))

    def forward(self, losses: torch.Tensor) -> torch.Tensor:
        """(L,) loss terms -> their weighted sum (a scalar)."""
        p2 = self.scales.square()
        return (0.5 * losses / p2 + torch.log1p(p2)).sum()


def mutual_information_reward(
    joint: torch.Tensor, reference: torch.Tensor, threshold: float, mi_weight: float, penalty: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """MPSEA's MI score and reward per entity (eqs. 10-12): MI = exp(cos(J, R)),
    f_r = max(cos - theta, 0) + alpha MI - beta (theta - cos); both (B,)."""
    cosine = F.cosine_similarity(joint, reference, dim=1)
    mi = cosine.exp()
    return mi, (cosine - threshold).clamp(min=0.0) + mi_weight * mi - penalty * (threshold - cosine)


def reinforce_loss(policy: nn.Module, joint: torch.Tensor, mi: torch.Tensor, reward: torch.Tensor) -> torch.Tensor:
    """REINFORCE on the match/mismatch policy pi(a) = softmax(W_p [J ; MI]) (eq. 13): sample an
    action per entity, -f_r log pi(a) averaged. The reward is a constant of the step."""
    logits = policy(torch.cat([joint, mi.unsqueeze(1)], dim=1))                 # (B, 2)
    distribution = torch.distributions.Categorical(logits=logits)
    return -(reward.detach() * distribution.log_prob(distribution.sample())).mean()
