"""Missing-modality strategies: what the model does for entities without a modality (STYLE:
variants behind one interface). A new strategy is a module with a :class:`MissingModality`
subclass, registered by name; ``ModelConfig.missing`` picks one or a ``+``-joined combination."""
from almea.model.missing.base import MissingModality, TrainingStep
from almea.model.missing.composite import MissingModalities
from almea.model.missing.registry import STRATEGY_CLASSES, build_missing

__all__ = ["STRATEGY_CLASSES", "MissingModalities", "MissingModality", "TrainingStep", "build_missing"]
