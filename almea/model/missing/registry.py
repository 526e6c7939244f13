"""Missing-modality strategies by name (``ModelConfig.missing``)."""
from __future__ import annotations

from almea.model.config import ModelConfig
from almea.model.missing.base import MissingModality
from almea.model.missing.composite import MissingModalities
from almea.model.missing.maco import MACO
from almea.model.missing.rmmea import RMMEA
from almea.model.missing.vae import VAEImputation
from almea.model.missing.zero import ZeroFill

STRATEGY_CLASSES: dict[str, type[MissingModality]] = {cls.name: cls for cls in (ZeroFill, VAEImputation, RMMEA, MACO)}


def build_missing(modalities: tuple[str, ...], config: ModelConfig) -> MissingModalities:
    """The strategy ``config.missing`` names (parts joined by ``+``), over ``modalities``."""
    parts = [STRATEGY_CLASSES[name](modalities, config) for name in config.missing.split("+")]
    return MissingModalities(config.missing, parts)
