"""The approximate nearest-neighbour search: a faiss HNSW or IVF index on cosine.

Vectors are L2-normalised, so the inner-product metric is the cosine. Every candidate found
is scored again from the float32 vectors, so a returned similarity is the exact cosine of
the pair found, whatever the index stores (``NeighbourConfig.storage``); only which
candidates are found is approximate, and that is measured: on its first
search with a given k an index compares itself with the exact search on a sample of the
queries (``recall``), logs it and reports it with the run.

One index over a whole KG serves every subset of it (``FaissIndex.restricted``): the
subset is a filter on the search (faiss ``IDSelectorBitmap``), not another build, because a
build over one KG of 100k x 1,200-d vectors costs ~18 s on 2 cores (``bench/scale.py``) and a
round searches the free entities, the test entities and the whole KG of the same embeddings.
"""
from __future__ import annotations

import logging
import math
import time

import numpy as np
import torch

from almea.neighbours.config import NeighbourConfig
from almea.neighbours.exact import ExactIndex
from almea.neighbours.recall import recall_at_k

log = logging.getLogger(__name__)


def _array(x: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(x.detach().float().cpu().numpy())


def exact_cosines(queries: torch.Tensor, candidates: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """(Q, k) cosines of each query with its candidate ``rows`` (Q, k) (-1: none, -inf), a
    bounded block of queries at a time."""
    values = torch.full(rows.shape, -torch.inf)
    step = max(1, (1 << 24) // max(1, rows.shape[1] * candidates.shape[1]))
    for lo in range(0, len(rows), step):
        block = rows[lo : lo + step]
        found = candidates[block.clamp(min=0)]                               # (b, k, D)
        cos = torch.einsum("bd,bkd->bk", queries[lo : lo + step], found)
        values[lo : lo + step] = cos.masked_fill(block < 0, -torch.inf)
    return values


class _MeasuredSearch:
    """Search with the k-nearest contract of ``NeighbourIndex``, recall measured on first use
    of each k; subclasses give ``candidates``, ``config``, ``name`` and ``_search``."""

    candidates: torch.Tensor
    config: NeighbourConfig
    name: str

    def _start_measuring(self) -> None:
        self.recall: dict[int, float] = {}
        self._recall_queries = 0

    def _search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(Q, min(k, C)) cosines, best first, and their candidate rows for ``queries`` (Q, D)."""
        if self.config.recall_sample and k not in self.recall and len(queries):
            self._recall_queries = min(len(queries), self.config.recall_sample)
            self.recall[k] = recall_at_k(self._search, self.candidates, queries, k, self.config.recall_sample,
                                         self.config.seed)
            log.info("%s over %d candidates: recall@%d %.4f on %d queries", self.name, len(self.candidates), k,
                     self.recall[k], self._recall_queries)
        return self._search(queries, k)

    def _recall_report(self) -> dict:
        return {**{f"recall@{k}": value for k, value in sorted(self.recall.items())},
                "recall_queries": self._recall_queries}

    def _filled(self, queries: torch.Tensor, indices: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The exact cosines of the ``indices`` (Q, k) found, best first. IVF (and a filtered
        HNSW) may find fewer than k; those rows go exact, so every caller gets k per query."""
        queries, indices = queries.cpu(), indices.cpu()
        values = exact_cosines(queries, self.candidates.cpu(), indices)
        short = torch.nonzero((indices < 0).any(dim=1)).flatten()
        if len(short):
            values[short], indices[short] = ExactIndex(self.candidates.cpu()).search(queries[short], k)
        order = values.argsort(dim=1, descending=True, stable=True)
        return values.gather(1, order).to(queries.device), indices.gather(1, order).to(queries.device)


class FaissIndex(_MeasuredSearch):
    """Approximate cosine top-k over ``candidates`` (C, D), L2-normalised (``NeighbourConfig``)."""

    def __init__(self, candidates: torch.Tensor, config: NeighbourConfig) -> None:
        import faiss

        self.candidates, self.config = candidates, config
        self.name = f"faiss-{config.index}"
        self._start_measuring()
        began = time.perf_counter()
        vectors = _array(candidates)
        dim = vectors.shape[1]
        if config.index == "hnsw":
            if config.storage == "sq8":
                self._index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, config.hnsw_m,
                                                faiss.METRIC_INNER_PRODUCT)
                self._index.train(vectors)
            else:
                self._index = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            self._index.hnsw.efConstruction = config.ef_construction
        else:
            lists = min(len(vectors), config.ivf_lists or max(1, round(4 * math.sqrt(len(vectors)))))
            self._quantizer = faiss.IndexFlatIP(dim)            # the IVF index does not own it
            self._index = faiss.IndexIVFFlat(self._quantizer, dim, lists, faiss.METRIC_INNER_PRODUCT)
            self._index.cp.seed = config.seed
            self._index.train(vectors)
        self._index.add(vectors)
        self.build_seconds = time.perf_counter() - began

    def raw_search(self, queries: torch.Tensor, k: int, members: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """faiss's (Q, k) similarities and candidate rows (-1: none found), only among the
        candidate rows ``members`` when given. A filter passing a share f of the candidates
        widens HNSW's search list by 1 / f, so as many passing candidates are seen."""
        import faiss

        share = 1.0 if members is None else max(len(members), 1) / len(self.candidates)
        if self.config.index == "hnsw":
            params = faiss.SearchParametersHNSW()
            params.efSearch = math.ceil(max(self.config.ef_search, k) / share)
        else:
            params = faiss.SearchParametersIVF()
            params.nprobe = min(self._index.nlist, math.ceil(self.config.ivf_probe / share))
        if members is not None:
            mask = np.zeros(len(self.candidates), dtype=bool)
            mask[members] = True
            bits = np.packbits(mask, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
            return self._index.search(_array(queries), k, params=params)   # ``bits`` lives until here
        return self._index.search(_array(queries), k, params=params)

    def _search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        k = min(k, len(self.candidates))
        _, ids = self.raw_search(queries, k)
        return self._filled(queries, torch.from_numpy(ids), k)

    def restricted(self, rows: torch.Tensor) -> "RestrictedIndex":
        """The index over candidate ``rows`` (R,) only (distinct), in that order, searching
        this one through a filter."""
        return RestrictedIndex(self, rows)

    def parameters(self) -> dict:
        cfg = self.config
        if cfg.index == "hnsw":
            return {"storage": cfg.storage, "hnsw_m": cfg.hnsw_m, "ef_construction": cfg.ef_construction,
                    "ef_search": cfg.ef_search}
        return {"ivf_lists": self._index.nlist, "ivf_probe": cfg.ivf_probe}

    def report(self) -> dict:
        """What searched, its build time and its measured recall, for the run's record."""
        return {"index": self.name, "candidates": len(self.candidates), **self.parameters(),
                "build_seconds": round(self.build_seconds, 3), **self._recall_report()}


class RestrictedIndex(_MeasuredSearch):
    """A ``FaissIndex`` searched among some of its candidates: rows are positions in ``rows``."""

    def __init__(self, full: FaissIndex, rows: torch.Tensor) -> None:
        self.full, self.config, self.name = full, full.config, full.name
        self._members = rows.cpu().numpy().astype(np.int64)
        self.candidates = full.candidates[rows.to(full.candidates.device)]
        self._position = np.full(len(full.candidates), -1, dtype=np.int64)
        self._position[self._members] = np.arange(len(self._members))
        if len(np.unique(self._members)) != len(self._members):
            raise ValueError("a restricted index needs distinct candidate rows")
        self._start_measuring()

    def _search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        k = min(k, len(self.candidates))
        _, ids = self.full.raw_search(queries, k, self._members)
        positions = np.where(ids >= 0, self._position[np.maximum(ids, 0)], -1)
        return self._filled(queries, torch.from_numpy(positions), k)

    def report(self) -> dict:
        """What searched (the shared index, filtered to this subset) and its measured recall."""
        return {"index": self.name, "candidates": len(self.candidates), "of": len(self.full.candidates),
                **self.full.parameters(), **self._recall_report()}
