"""Modality fusions: how per-modality embeddings become the joint one (STYLE: variants behind
one interface). A new fusion is a module with a :class:`Fusion` subclass, registered by name."""
from almea.model.fusion.base import Fusion, PerEntityFusion, weighted_join
from almea.model.fusion.registry import FUSION_CLASSES, build_fusion, check_checkpoint_fusion

__all__ = ["FUSION_CLASSES", "Fusion", "PerEntityFusion", "build_fusion", "check_checkpoint_fusion", "weighted_join"]
