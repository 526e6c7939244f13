"""Latent Semantic Learning and Calibration modules (spec sections 4-5)."""
from __future__ import annotations

import torch
from torch import nn


class ModalityVAE(nn.Module):
    """Encoder (two Linear+LeakyReLU) -> mu, log sigma^2 -> z; decoder back to d (section 4)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(dim, dim), nn.LeakyReLU(), nn.Linear(dim, dim), nn.LeakyReLU())
        self.heads = nn.Linear(dim, 2 * dim)
        self.decoder = nn.Sequential(nn.Linear(dim, dim), nn.LeakyReLU(), nn.Linear(dim, dim))

    def encode(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, d) -> mu, logvar, each (B, d)."""
        mu, logvar = self.heads(self.encoder(h)).chunk(2, dim=1)
        return mu, logvar.clamp(-10.0, 10.0)

    def encode_masked(
        self, mu: torch.Tensor, logvar: torch.Tensor, keep: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``encode(h * keep)`` from ``encode(h)`` for a (B, 1) 0/1 ``keep`` mask (eq. 1).

        A masked row is all zeros, so its encoding is that of one zero row and kept rows
        encode exactly as unmasked: one extra row instead of a second pass over the batch.
        """
        mu_0, logvar_0 = self.encode(mu.new_zeros(1, self.heads.in_features))
        return keep * mu + (1 - keep) * mu_0, keep * logvar + (1 - keep) * logvar_0

    def sample(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """Gaussian reparameterisation z = mu + sigma * eps while training; the mean otherwise."""
        if not self.training:
            return mu
        return mu + (0.5 * logvar).exp() * torch.randn_like(mu)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)


class LatentFusion(nn.Module):
    """Per-modality calibration z_cal = tanh(W z + b) and per-entity fusion weights (section 5)."""

    def __init__(self, modalities: tuple[str, ...], dim: int) -> None:
        super().__init__()
        self.calibration = nn.ModuleDict({m: nn.Linear(dim, dim) for m in modalities})
        self.scorer = nn.ModuleDict(
            {m: nn.Sequential(nn.Linear(dim, dim), nn.Tanh(), nn.Linear(dim, 1)) for m in modalities}
        )

    def calibrate(self, modality: str, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.calibration[modality](z))

    def fuse(self, calibrated: dict[str, torch.Tensor], available: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """z = sum_m w^m z_cal^m with w = softmax over modalities of MLP_m(z_cal^m).

        ``available[m]`` (B,) bool restricts the softmax to modalities an entity has
        (used when imputing from present modalities only).
        """
        names = list(calibrated)
        scores = torch.cat([self.scorer[m](calibrated[m]) for m in names], dim=1)   # (B, M)
        if available is not None:
            mask = torch.stack([available[m] for m in names], dim=1)
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1).nan_to_num(0.0)
        return sum(weights[:, i : i + 1] * calibrated[m] for i, m in enumerate(names))
