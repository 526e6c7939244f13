"""The ALMEA model: modality encoders, a modality fusion, LSL and LSC (spec sections 1-5)."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from almea.model.config import ModelConfig
from almea.model.encoders import ModalityEncoders
from almea.model.fusion import build_fusion
from almea.model.inputs import AlignmentInputs
from almea.model.latent import LatentFusion, ModalityVAE
from almea.model.losses import gaussian_kl, symmetric_kl

IMPUTE_CHUNK = 8192


class ALMEA(nn.Module):
    """Joint entity embeddings for alignment, trained from labelled pairs.

    ``losses(pairs)`` gives every loss term of a step; ``embed()`` gives the (N, D) joint
    embedding used for ranking, with really-missing modalities imputed when configured. The
    fusion (``config.fusion``, ``almea.model.fusion``) joins the modalities and owns the
    alignment loss over its joint embedding.
    """

    def __init__(self, config: ModelConfig, inputs: AlignmentInputs) -> None:
        super().__init__()
        self.config = config
        self.modalities = inputs.modalities
        self.encoders = ModalityEncoders(inputs, config.dim, config.gat_layers, config.gat_heads, config.dropout)
        self.fusion = build_fusion(self.modalities, config)
        self.register_load_state_dict_pre_hook(_global_logits_moved_into_fusion)
        if config.use_lsl:
            self.vae = nn.ModuleDict({m: ModalityVAE(config.dim) for m in self.modalities})
        if config.use_lsl and config.use_lsc:
            self.latent = LatentFusion(self.modalities, config.dim)

    def modality_weights(self) -> dict[str, float]:
        """One weight per modality (the fusion's global weights), for plots and reports."""
        return self.fusion.global_weights()

    def join(self, hidden: dict[str, torch.Tensor]) -> torch.Tensor:
        """Fuse per-modality embeddings (B, d) each into the joint embedding (B, D)."""
        return self.fusion(hidden)

    def losses(
        self,
        inputs: AlignmentInputs,
        pairs: torch.Tensor,
        hard_negatives: torch.Tensor | None = None,
        weights: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Loss terms for labelled ``pairs`` (B, 2) of global ids; ``hard_negatives`` (K,) target
        ids; ``weights`` (B,) of each pair in the alignment losses (None: all 1)."""
        cfg = self.config
        hidden = self.encoders(inputs)
        terms = self.fusion.losses(hidden, pairs, hard_negatives, weights)
        if cfg.use_lsl:
            sample = pairs[torch.randperm(len(pairs), device=pairs.device)[: cfg.latent_batch]]
            terms.update(self._latent_losses(hidden, sample))
        return terms

    def _latent_losses(self, hidden: dict[str, torch.Tensor], pairs: torch.Tensor) -> dict[str, torch.Tensor]:
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
            joint_recon = self.join(recon)
            terms["scl"] = l1 * scl
            terms["jal"] = l4 * F.mse_loss(joint_recon[:b], joint_recon[b:])
        return terms

    @torch.no_grad()
    def embed(self, inputs: AlignmentInputs) -> torch.Tensor:
        """(N, D) joint embeddings of all entities, missing modalities imputed if configured."""
        return self.join(self._inference_hidden(inputs))

    @torch.no_grad()
    def entity_weights(self, inputs: AlignmentInputs) -> torch.Tensor:
        """(N, M) fusion weights of every entity, columns in ``modalities`` order, rows summing
        to 1: what the joint embedding of ``embed`` gives each modality of each entity."""
        return self.fusion.weights(self._inference_hidden(inputs))

    def _inference_hidden(self, inputs: AlignmentInputs) -> dict[str, torch.Tensor]:
        hidden = self.encoders(inputs)
        if self.config.use_lsl and self.config.use_lsc and self.config.impute:
            hidden = self._impute(hidden, inputs.present)
        return hidden

    @torch.no_grad()
    def _impute(self, hidden: dict[str, torch.Tensor], present: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """h^m := Decoder_m(fused latent of present modalities) where m is really missing."""
        missing = ~torch.stack([present[m] for m in self.modalities], dim=1)           # (N, M)
        targets = torch.nonzero(missing.any(dim=1) & ~missing.all(dim=1)).flatten()
        hidden = {m: h.clone() for m, h in hidden.items()}
        for lo in range(0, len(targets), IMPUTE_CHUNK):
            ids = targets[lo : lo + IMPUTE_CHUNK]
            cal = {}
            for m in self.modalities:
                mu, _ = self.vae[m].encode(F.normalize(hidden[m][ids], dim=1))
                cal[m] = self.latent.calibrate(m, mu)
            fused = self.latent.fuse(cal, {m: present[m][ids] for m in self.modalities})
            for i, m in enumerate(self.modalities):
                rows = ids[missing[ids, i]]
                if len(rows):
                    hidden[m][rows] = self.vae[m].decode(fused[missing[ids, i]])
        return hidden


def _global_logits_moved_into_fusion(module: nn.Module, state: dict, prefix: str, *args) -> None:
    """Checkpoints from before ``almea.model.fusion`` kept the global weights on the model."""
    legacy = prefix + "modality_logits"
    if legacy in state:
        state[prefix + "fusion.modality_logits"] = state.pop(legacy)
