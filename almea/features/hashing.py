"""Hashed bags of string tokens with TF-IDF weighting (shared by the value and name blocks).

Buckets come from ``zlib.crc32``, never Python's ``hash()``: the salted built-in would give
different columns in every process and silently break the feature cache.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp


def hashed_counts(token_lists: Sequence[Iterable[str]], dim: int) -> sp.csr_matrix:
    """(len(token_lists), dim) float32 counts: row i counts the hashed tokens of list i."""
    bucket_of: dict[str, int] = {}
    columns: list[int] = []
    lengths = np.zeros(len(token_lists), dtype=np.int64)
    for i, tokens in enumerate(token_lists):
        for token in tokens:
            bucket = bucket_of.get(token)
            if bucket is None:
                bucket = bucket_of[token] = zlib.crc32(token.encode("utf-8")) % dim
            columns.append(bucket)
            lengths[i] += 1
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    data = np.ones(len(columns), dtype=np.float32)
    counts = sp.csr_matrix((data, np.asarray(columns, dtype=np.int64), indptr), shape=(len(token_lists), dim))
    counts.sum_duplicates()
    return counts


def idf_weights(counts: sp.csr_matrix) -> np.ndarray:
    """(dim,) float32 smoothed IDF over the non-empty rows: log((1 + n) / (1 + df)) + 1.

    A bucket that nearly every row has (the year 2000, the number 0) weighs about 1, a rare
    one about 1 + log(n). The ``+ 1`` (scikit-learn's convention) keeps common evidence from
    vanishing; on FB15K237-DB15K it scored slightly above no offset (value-only Hits@1 22.5
    vs 22.1 %).
    """
    n_docs = int((counts.getnnz(axis=1) > 0).sum())
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    return (np.log((1.0 + n_docs) / (1.0 + df)) + 1.0).astype(np.float32)


def l2_normalize_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to unit L2 norm; all-zero rows stay zero."""
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ matrix, dtype=np.float32)


def tfidf_rows(counts: sp.csr_matrix, sublinear: bool = False) -> sp.csr_matrix:
    """TF-IDF with unit-length rows, so a dot product is a cosine similarity.

    ``sublinear`` uses 1 + log(tf) so one token repeated many times (a long name full of
    the same trigram) cannot dominate a row.
    """
    weighted = counts.astype(np.float32, copy=True)
    if sublinear:
        weighted.data = 1.0 + np.log(weighted.data)
    weighted = sp.csr_matrix(weighted @ sp.diags(idf_weights(counts)), dtype=np.float32)
    weighted.eliminate_zeros()
    return l2_normalize_rows(weighted)
