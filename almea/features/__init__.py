"""Per-modality feature blocks of a KG pair (spec section 1), cached on disk.

``build_features(pair, FeatureConfig(...))`` gives a ``Features`` with one (N, F) float32
block and one (N,) presence mask per modality the pair has: relation and attribute bags,
key-agnostic attribute values, image embeddings and optional name features.
"""
from almea.features.blocks import Features
from almea.features.build import build_features
from almea.features.config import FeatureConfig

__all__ = ["FeatureConfig", "Features", "build_features"]
