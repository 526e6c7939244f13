"""Fusions by name (``ModelConfig.fusion``), and the checkpoint guard between them."""
from __future__ import annotations

from almea.model.config import ModelConfig
from almea.model.fusion.base import Fusion
from almea.model.fusion.global_weights import GlobalFusion
from almea.model.fusion.mimea import MIMEAFusion
from almea.model.fusion.mpsea import MPSEAFusion

FUSION_CLASSES: dict[str, type[Fusion]] = {cls.name: cls for cls in (GlobalFusion, MIMEAFusion, MPSEAFusion)}


def build_fusion(modalities: tuple[str, ...], config: ModelConfig) -> Fusion:
    """The fusion ``config.fusion`` names, over ``modalities`` in this order."""
    return FUSION_CLASSES[config.fusion](modalities, config)


def check_checkpoint_fusion(saved_config: dict, config: ModelConfig, source: str) -> None:
    """Refuse a checkpoint trained with another fusion before its weights are read: the
    parameter names would differ or, worse, coincide with another meaning. Checkpoints from
    before fusions were configurable were trained with ``global``."""
    saved = saved_config.get("fusion", "global")
    if saved != config.fusion:
        raise ValueError(
            f"{source} was trained with fusion {saved!r}, but this model uses fusion {config.fusion!r}: "
            f"build the model with ModelConfig(fusion={saved!r}) to load it, or train a new one"
        )
