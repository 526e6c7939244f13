"""ALMEA's answer to missing modalities: LSL and LSC (spec sections 4-5), imputation at inference.

``use_lsl``, ``use_lsc``, ``impute``, ``mask_rate``, ``latent_batch`` and ``loss_weights`` of
``ModelConfig`` are this strategy's switches; other strategies ignore them.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from almea.model.config import ModelConfig
from almea.model.latent import LatentFusion, ModalityVAE
from almea.model.losses import gaussian_kl, symmetric_kl
from almea.model.missing.base import Hidden, MissingModality, Presence, TrainingStep

IMPUTE_CHUNK = 8192


class VAEImputation(MissingModality):
    """Per-modality VAEs trained on masked rows (L_DML, L_URL), calibrated and fused latents
    (L_SCL, L_JAL); at inference a really-missing h^m is decoded from the present modalities."""

    name = "vae"
    label = "imputed by the VAE"

    def __init__(self, modalities: tuple[str, ...], config: ModelConfig) -> None:
        super().__init__(modalities, config)
        if config.use_lsl:
            self.vae = torch.nn.ModuleDict({m: ModalityVAE(config.dim) for m in modalities})
        if config.use_lsl and config.use_lsc:
            self.latent = LatentFusion(modalities, config.dim)

    @property
    def imputes(self) -> bool:
        cfg = self.config
        return cfg.use_lsl and cfg.use_lsc and cfg.impute

    def losses(self, step: TrainingStep) -> dict[str, torch.Tensor]:
        if not self.config.use_lsl:
            return {}
        pairs = step.pairs
        sample = pairs[torch.randperm(len(pairs), device=pairs.device)[: self.config.latent_batch]]
        return self.latent_losses(step.hidden, sample, step.join)

    def latent_losses(
        self, hidden: Hidden, pairs: torch.Tensor, join: Callable[[Hidden], torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """L_DML, L_URL and (with LSC) L_SCL, L_JAL on a sample of pairs (sections 4-5)."""
        cfg = self.config
        ids = torch.cat([pairs[:, 0], pairs[:, 1]])
        b = len(pairs)
        dml = url = 0.0
        cal, cal_masked, recon = {}, {}, {}
        for m in self.modalities:
            h = F.normalize(hidden[m][ids], dim=1)
            keep = (torch.rand(len(ids), 1, device=h.device) >= cfg.mask_rate).to(h.dtype)
            vae = self.vae[m]
            mu, logvar = vae.encode(h)
            mu_m, logvar_m = vae.encode_masked(mu, logvar, keep)
            z, z_masked = vae.sample(mu, logvar), vae.sample(mu_m, logvar_m)
            dml = dml + gaussian_kl(mu, logvar) + gaussian_kl(mu_m, logvar_m)
            if cfg.use_lsc:
                cal[m] = self.latent.calibrate(m, z)
                cal_masked[m] = self.latent.calibrate(m, z_masked)
                url = url + F.mse_loss(vae.decode(cal_masked[m]), h.detach())
                recon[m] = vae.decode(cal[m])
            else:
                url = url + F.mse_loss(vae.decode(z_masked), h.detach())
        l1, l2, l3, l4 = cfg.loss_weights
        terms = {"dml": l2 * dml, "url": l3 * url}
        if cfg.use_lsc:
            fused, fused_masked = self.latent.fuse(cal), self.latent.fuse(cal_masked)
            scl = symmetric_kl(fused_masked[:b], fused[b:]) + symmetric_kl(fused_masked[b:], fused[:b])
            joint_recon = join(recon)
            terms["scl"] = l1 * scl
            terms["jal"] = l4 * F.mse_loss(joint_recon[:b], joint_recon[b:])
        return terms

    def fills(self, available: Presence) -> Presence:
        """Rows missing m of entities with at least one available modality (none to impute
        from otherwise), when LSL, LSC and imputation are on."""
        if not self.imputes:
            return {}
        missing = ~torch.stack([available[m] for m in self.modalities], dim=1)           # (N, M)
        imputable = missing & (missing.any(dim=1) & ~missing.all(dim=1)).unsqueeze(1)
        return {m: imputable[:, i] for i, m in enumerate(self.modalities)}

    def complete(self, hidden: Hidden, available: Presence, fill: Presence) -> Hidden:
        """Imputation happens at inference only: training sees the masked rows of LSL instead."""
        if self.training or not fill:
            return hidden
        return self.impute(hidden, available)

    @torch.no_grad()
    def impute(self, hidden: Hidden, available: Presence) -> Hidden:
        """h^m := Decoder_m(fused latent of available modalities) where m is missing."""
        missing = ~torch.stack([available[m] for m in self.modalities], dim=1)           # (N, M)
        targets = torch.nonzero(missing.any(dim=1) & ~missing.all(dim=1)).flatten()
        hidden = {m: h.clone() for m, h in hidden.items()}
        for lo in range(0, len(targets), IMPUTE_CHUNK):
            ids = targets[lo : lo + IMPUTE_CHUNK]
            cal = {}
            for m in self.modalities:
                mu, _ = self.vae[m].encode(F.normalize(hidden[m][ids], dim=1))
                cal[m] = self.latent.calibrate(m, mu)
            fused = self.latent.fuse(cal, {m: available[m][ids] for m in self.modalities})
            for i, m in enumerate(self.modalities):
                rows = ids[missing[ids, i]]
                if len(rows):
                    hidden[m][rows] = self.vae[m].decode(fused[missing[ids, i]])
        return hidden
