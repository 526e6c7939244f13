"""The ALMEA model: modality encoders, a modality fusion and a missing-modality strategy (spec
sections 1-5)."""
from __future__ import annotations

import torch
from torch import nn

from almea.model.config import ModelConfig
from almea.model.encoders import ModalityEncoders
from almea.model.fusion import build_fusion
from almea.model.inputs import AlignmentInputs
from almea.model.missing import TrainingStep, build_missing


class ALMEA(nn.Module):
    """Joint entity embeddings for alignment, trained from labelled pairs.

    ``losses(pairs)`` gives every loss term of a step; ``embed()`` gives the (N, D) joint
    embedding used for ranking. The fusion (``config.fusion``, ``almea.model.fusion``) joins
    the modalities and owns the alignment loss over its joint embedding; the missing-modality
    strategy (``config.missing``, ``almea.model.missing``) completes really-missing rows and
    adds its own losses (ALMEA's LSL/LSC by default).
    """

    def __init__(self, config: ModelConfig, inputs: AlignmentInputs) -> None:
        super().__init__()
        self.config = config
        self.modalities = inputs.modalities
        self.encoders = ModalityEncoders(inputs, config.dim, config.gat_layers, config.gat_heads, config.dropout)
        self.fusion = build_fusion(self.modalities, config)
        self.missing = build_missing(self.modalities, config)
        self.register_load_state_dict_pre_hook(_global_logits_moved_into_fusion)
        self.register_load_state_dict_pre_hook(_vae_moved_into_missing)

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
        hidden = self.missing.complete(self.encoders(inputs), inputs.present)
        terms = self.fusion.losses(hidden, pairs, hard_negatives, weights)
        step = TrainingStep(hidden, inputs.present, pairs, inputs.n1, self.join, self.encoders.absent_rows())
        terms.update(self.missing.losses(step))
        return terms

    @torch.no_grad()
    def embed(self, inputs: AlignmentInputs) -> torch.Tensor:
        """(N, D) joint embeddings of all entities, missing modalities completed by the strategy."""
        return self.join(self._inference_hidden(inputs))

    @torch.no_grad()
    def entity_weights(self, inputs: AlignmentInputs) -> torch.Tensor:
        """(N, M) fusion weights of every entity, columns in ``modalities`` order, rows summing
        to 1: what the joint embedding of ``embed`` gives each modality of each entity."""
        return self.fusion.weights(self._inference_hidden(inputs))

    def filled_by(self, inputs: AlignmentInputs) -> dict[str, torch.Tensor]:
        """Strategy part name (``vae``, ``maco``) -> (N, M) bool of the really-missing rows it
        completes in ``embed``, columns in ``modalities`` order; parts that complete nothing
        are left out. Read from presence alone: no forward pass."""
        out = {}
        for name, fill in self.missing.filled(inputs.present).items():
            none = torch.zeros_like(inputs.present[self.modalities[0]])
            out[name] = torch.stack([fill.get(m, none) for m in self.modalities], dim=1)
        return out

    def generated_mask(self, inputs: AlignmentInputs) -> torch.Tensor:
        """(N, M) bool: rows ``embed`` reads from a strategy's estimate rather than from data.
        Never true where ``inputs.present`` is: completed rows are never marked present."""
        mask = torch.zeros(inputs.n_entities, len(self.modalities), dtype=torch.bool, device=inputs.graph.src.device)
        for filled in self.filled_by(inputs).values():
            mask |= filled
        return mask

    def _inference_hidden(self, inputs: AlignmentInputs) -> dict[str, torch.Tensor]:
        return self.missing.complete(self.encoders(inputs), inputs.present)


def _global_logits_moved_into_fusion(module: nn.Module, state: dict, prefix: str, *args) -> None:
    """Checkpoints from before ``almea.model.fusion`` kept the global weights on the model."""
    legacy = prefix + "modality_logits"
    if legacy in state:
        state[prefix + "fusion.modality_logits"] = state.pop(legacy)


def _vae_moved_into_missing(module: nn.Module, state: dict, prefix: str, *args) -> None:
    """Checkpoints from before ``almea.model.missing`` kept the VAE and the latent fusion on
    the model, and every one of them was trained with the ``vae`` strategy."""
    moved = prefix + "missing.parts.vae."
    for legacy in [k for k in state if k.startswith((prefix + "vae.", prefix + "latent."))]:
        state[moved + legacy[len(prefix):]] = state.pop(legacy)
    state.setdefault(prefix + "missing._extra_state", {"strategy": "vae"})
