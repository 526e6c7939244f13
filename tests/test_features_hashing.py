"""Hashed TF-IDF (scikit-learn's FeatureHasher + TfidfTransformer) against a direct, unhashed
TF-IDF, and the feature config's checks."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from almea.features import FeatureConfig
from almea.features.hashing import hashed_counts, tfidf_rows

BIG = 1 << 22                          # buckets enough that ~500 tokens never collide here


def token_lists(seed: int = 0, rows: int = 300) -> list[list[str]]:
    """Random bags of a 500-token vocabulary; every fifth row is empty (an entity without data)."""
    rng = np.random.default_rng(seed)
    vocab = [f"tok{i}" for i in range(500)]
    return [[] if i % 5 == 0 else list(rng.choice(vocab, rng.integers(1, 15))) for i in range(rows)]


def reference_tfidf(lists: list[list[str]], sublinear: bool) -> np.ndarray:
    """Dense TF-IDF over an explicit vocabulary: smoothed IDF over the non-empty rows, unit rows."""
    vocab = sorted({t for tokens in lists for t in tokens})
    column = {t: j for j, t in enumerate(vocab)}
    tf = np.zeros((len(lists), len(vocab)))
    for i, tokens in enumerate(lists):
        for token in tokens:
            tf[i, column[token]] += 1
    n_docs = int((tf.sum(axis=1) > 0).sum())
    idf = np.log((1 + n_docs) / (1 + (tf > 0).sum(axis=0))) + 1
    if sublinear:
        tf[tf > 0] = 1 + np.log(tf[tf > 0])
    weighted = tf * idf
    norms = np.linalg.norm(weighted, axis=1, keepdims=True)
    return np.divide(weighted, norms, out=np.zeros_like(weighted), where=norms > 0)


def test_hashed_counts_are_the_token_counts_in_one_column_per_token() -> None:
    lists = token_lists()
    counts = hashed_counts(lists, BIG)
    assert isinstance(counts, sp.csr_matrix) and counts.dtype == np.float32 and counts.shape == (300, BIG)
    column = {t: int(hashed_counts([[t]], BIG).indices[0]) for t in {t for tokens in lists for t in tokens}}
    assert len(set(column.values())) == len(column)                     # no collision at this size
    for i in (1, 2, 7, 299):
        expected: dict[int, float] = {}
        for token in lists[i]:
            expected[column[token]] = expected.get(column[token], 0) + 1
        row = counts[i]
        assert dict(zip(row.indices.tolist(), row.data.tolist())) == expected
    assert counts[0].nnz == 0
    assert hashed_counts([], 8).shape == (0, 8) and tfidf_rows(hashed_counts([], 8)).shape == (0, 8)


@pytest.mark.parametrize("sublinear", [False, True])
def test_tfidf_equals_the_unhashed_reference_up_to_column_order(sublinear: bool) -> None:
    lists = token_lists(seed=1)
    hashed = tfidf_rows(hashed_counts(lists, BIG), sublinear=sublinear)
    reference = reference_tfidf(lists, sublinear)
    assert hashed.dtype == np.float32 and isinstance(hashed, sp.csr_matrix)
    # Without collisions hashing only permutes columns: every cosine between rows is the same.
    np.testing.assert_allclose((hashed @ hashed.T).toarray(), reference @ reference.T, atol=1e-6)
    np.testing.assert_allclose(np.sort(hashed.data), np.sort(reference[reference > 0]), rtol=1e-6)


def test_tfidf_on_known_counts() -> None:
    counts = sp.csr_matrix(np.array([[2, 0, 1], [0, 0, 0], [1, 1, 0]], dtype=np.float32))
    rows = tfidf_rows(counts).toarray()
    idf = np.log(3 / np.array([3, 2, 2])) + 1                           # n = 2 documents, not 3 rows
    first = np.array([2 * idf[0], 0, idf[2]])
    np.testing.assert_allclose(rows[0], first / np.linalg.norm(first), rtol=1e-6)
    assert not rows[1].any()
    assert not tfidf_rows(sp.csr_matrix((2, 4), dtype=np.float32)).toarray().any()


def test_buckets_do_not_depend_on_the_process() -> None:
    # Python's str hash is salted per process; the buckets (and so the feature cache) must not be.
    code = ("from almea.features.hashing import hashed_counts; "
            "print(hashed_counts([['y:1960', 'w:paris']], 4096).indices.tolist())")
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       cwd=Path(__file__).resolve().parents[1], env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
    assert outputs == {f"{hashed_counts([['y:1960', 'w:paris']], 4096).indices.tolist()}\n"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"names": "ngrams"}, r"FeatureConfig.names must be one of \('none', 'ngram', 'minilm'\), got 'ngrams'"),
        ({"value_dim": 0}, r"FeatureConfig.value_dim must be an integer >= 1, got 0"),
        ({"relation_top_k": 10.5}, r"FeatureConfig.relation_top_k must be an integer >= 1"),
        ({"images": "yes"}, r"FeatureConfig.images must be True or False, got 'yes'"),
    ],
)
def test_feature_config_typos_fail_at_construction(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FeatureConfig(**changes)
