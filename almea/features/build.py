"""Turn a ``KGPair`` into per-modality feature blocks, through the on-disk cache."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from almea.data.kg_pair import KGPair
from almea.features.bags import attribute_bag, relation_bag
from almea.features.blocks import Features
from almea.features.cache import cache_key, default_cache_dir, entry_dir, load_entry, store_entry
from almea.features.config import FeatureConfig
from almea.features.images import encode_images
from almea.features.names import minilm_block, name_present, ngram_block
from almea.features.values import value_block


def visual_block(pair: KGPair, config: FeatureConfig) -> tuple[np.ndarray, np.ndarray] | None:
    """Supplied image features if any (they take precedence), else encoded image files.

    Rows of entities without an image are zero and marked absent, whichever the source.
    """
    if pair.image_features is not None:
        block = np.array(pair.image_features, dtype=np.float32)
        if block.ndim != 2 or block.shape[0] != pair.n_entities:
            raise ValueError(f"image_features must be (N={pair.n_entities}, F), got {block.shape}")
        if pair.image_feature_present is None:
            present = np.abs(block).sum(axis=1) > 0
        else:
            present = np.asarray(pair.image_feature_present, dtype=bool).copy()
        block[~present] = 0.0
        return block, present
    if config.images and pair.image_paths is not None and any(p is not None for p in pair.image_paths):
        return encode_images(pair.image_paths)
    return None


def compute_features(pair: KGPair, config: FeatureConfig) -> Features:
    """All blocks the pair has data for, without touching the cache."""
    built: dict[str, tuple] = {
        "relation": relation_bag(pair, config.relation_top_k),
        "attribute": attribute_bag(pair, config.attribute_top_k),
    }
    if config.attribute_values:
        values = value_block(pair, config.value_dim)
        if values is not None:
            built["value"] = values
    visual = visual_block(pair, config)
    if visual is not None:
        built["visual"] = visual
    if config.names != "none" and pair.names is not None and name_present(pair.names).any():
        if config.names == "ngram":
            built["name"] = ngram_block(pair.names, config.name_dim)
        else:
            built["name"] = minilm_block(pair.names)
    return Features(
        blocks={m: block for m, (block, _) in built.items()},
        present={m: present for m, (_, present) in built.items()},
    )


def build_features(
    pair: KGPair, config: FeatureConfig = FeatureConfig(), cache_dir: Path | None = None
) -> Features:
    """Feature blocks of ``pair`` under ``config``, read from the cache when already built.

    The cache lives in ``cache_dir`` (default ``$ALMEA_CACHE_DIR`` or ``~/.cache/almea``)
    and is keyed by a digest of the pair's contents and the config, so changed data or
    settings rebuild while a repeated call only reads files.
    """
    key = cache_key(pair, config)
    entry = entry_dir(cache_dir if cache_dir is not None else default_cache_dir(), pair, key)
    cached = load_entry(entry, key)
    if cached is not None:
        return cached
    features = compute_features(pair, config)
    store_entry(entry, key, features, {"dataset": pair.name, "config": dataclasses.asdict(config)})
    return features
