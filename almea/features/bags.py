"""Bag-of-relations and bag-of-attribute-keys blocks (spec section 1, modalities r and a)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from almea.data.kg_pair import KGPair


def most_frequent(ids: np.ndarray, n_ids: int, top_k: int) -> np.ndarray:
    """(n_ids,) int64 column of each id among the ``top_k`` most frequent, -1 for the rest.

    Ties are broken by id (stable sort), so the columns do not depend on the platform.
    """
    counts = np.bincount(ids, minlength=n_ids)
    order = np.argsort(-counts, kind="stable")[: max(top_k, 0)]
    order = order[counts[order] > 0]
    column = np.full(n_ids, -1, dtype=np.int64)
    column[order] = np.arange(len(order), dtype=np.int64)
    return column


def _log_counts(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """log1p of (row, col) occurrence counts: a hub's thousand edges should not swamp a row."""
    keep = cols >= 0
    data = np.ones(int(keep.sum()), dtype=np.float32)
    matrix = sp.csr_matrix((data, (rows[keep], cols[keep])), shape=shape, dtype=np.float32)
    matrix.sum_duplicates()
    matrix.data = np.log1p(matrix.data)
    return matrix


def relation_bag(pair: KGPair, top_k: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """(N, 2k) float32 log1p counts of the k most frequent relations and (N,) presence.

    Columns ``0..k-1`` count the entity as head (out), ``k..2k-1`` as tail (in); k is
    ``top_k`` or fewer when the pair has fewer relations in use. Present means the entity
    occurs in any relation triple, kept or not.
    """
    triples = pair.rel_triples
    column = most_frequent(triples[:, 1], len(pair.relations), top_k)
    k = int((column >= 0).sum())
    cols = column[triples[:, 1]]
    rows = np.concatenate([triples[:, 0], triples[:, 2]])
    both = np.concatenate([cols, np.where(cols >= 0, cols + k, -1)])
    return _log_counts(rows, both, (pair.n_entities, 2 * k)), pair.modality_present("relation").copy()


def attribute_bag(pair: KGPair, top_k: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """(N, k) float32 log1p counts of the k most frequent attribute keys and (N,) presence.

    Present means the entity has any attribute triple, as in ``KGPair.present``.
    """
    triples = pair.attr_triples
    column = most_frequent(triples[:, 1], len(pair.attr_keys), top_k)
    k = int((column >= 0).sum())
    block = _log_counts(triples[:, 0], column[triples[:, 1]], (pair.n_entities, k))
    return block, pair.modality_present("attribute").copy()
