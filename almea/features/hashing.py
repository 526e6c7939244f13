"""Hashed bags of string tokens with TF-IDF weighting (shared by the value and name blocks).

Both steps are scikit-learn's: ``FeatureHasher`` (signed 32-bit murmurhash3 with a fixed
seed, so a token lands in the same column in every process and the feature cache stays
valid, unlike Python's salted ``hash()``) and ``TfidfTransformer``.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import TfidfTransformer


def hashed_counts(token_lists: Sequence[Iterable[str]], dim: int) -> sp.csr_matrix:
    """(len(token_lists), dim) float32 counts: row i counts the hashed tokens of list i."""
    if len(token_lists) == 0:                          # FeatureHasher refuses an empty batch
        return sp.csr_matrix((0, dim), dtype=np.float32)
    hasher = FeatureHasher(n_features=dim, input_type="string", alternate_sign=False, dtype=np.float32)
    return sp.csr_matrix(hasher.transform(token_lists), dtype=np.float32)


def tfidf_rows(counts: sp.csr_matrix, sublinear: bool = False) -> sp.csr_matrix:
    """TF-IDF with unit-length rows, so a dot product is a cosine similarity.

    The IDF is the smoothed log((1 + n) / (1 + df)) + 1 over the n non-empty rows: an
    entity without literals (or without a name) is no document, so it must not make every
    bucket look rarer. A bucket that nearly every row has (the year 2000, the number 0)
    weighs about 1, a rare one about 1 + log(n); the ``+ 1`` keeps common evidence from
    vanishing (on FB15K237-DB15K value-only Hits@1 22.5 vs 22.1 % without it, measured
    with the crc32 buckets used before; scikit-learn's buckets collide differently: 22.3 %).
    ``sublinear`` uses 1 + log(tf) so one token repeated many times (a long name full of
    the same trigram) cannot dominate a row.
    """
    counts = sp.csr_matrix(counts, dtype=np.float32)
    documents = counts[counts.getnnz(axis=1) > 0]
    if documents.shape[0] == 0:
        return counts
    transformer = TfidfTransformer(sublinear_tf=sublinear).fit(documents)
    return sp.csr_matrix(transformer.transform(counts), dtype=np.float32)
