"""The approximate nearest-neighbour search: a faiss HNSW or IVF index on cosine.

Vectors are L2-normalised, so the inner-product metric is the cosine. The flat variants
store the vectors themselves, so a returned similarity is the exact cosine of the pair
found; only which candidates are found is approximate, and that is measured: on its first
search with a given k the index compares itself with the exact search on a sample of the
queries (``recall``), logs it and reports it with the run.
"""
from __future__ import annotations

import logging
import math

import numpy as np
import torch

from almea.neighbours.config import NeighbourConfig
from almea.neighbours.exact import ExactIndex
from almea.neighbours.recall import recall_at_k

log = logging.getLogger(__name__)


def _array(x: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(x.detach().float().cpu().numpy())


class FaissIndex:
    """Approximate cosine top-k over ``candidates`` (C, D), L2-normalised (``NeighbourConfig``)."""

    def __init__(self, candidates: torch.Tensor, config: NeighbourConfig) -> None:
        import faiss

        self.candidates, self.config = candidates, config
        self.name = f"faiss-{config.index}"
        self.recall: dict[int, float] = {}
        self._recall_queries = 0
        vectors = _array(candidates)
        dim = vectors.shape[1]
        if config.index == "hnsw":
            self._index = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            self._index.hnsw.efConstruction = config.ef_construction
        else:
            lists = min(len(vectors), config.ivf_lists or max(1, round(4 * math.sqrt(len(vectors)))))
            self._quantizer = faiss.IndexFlatIP(dim)            # the IVF index does not own it
            self._index = faiss.IndexIVFFlat(self._quantizer, dim, lists, faiss.METRIC_INNER_PRODUCT)
            self._index.cp.seed = config.seed
            self._index.train(vectors)
            self._index.nprobe = config.ivf_probe
        self._index.add(vectors)

    def _search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        k = min(k, len(self.candidates))
        if self.config.index == "hnsw":
            self._index.hnsw.efSearch = max(self.config.ef_search, k)
        scores, ids = self._index.search(_array(queries), k)
        values, indices = torch.from_numpy(scores), torch.from_numpy(ids)
        # IVF finds fewer than k when the probed clusters hold fewer; those rows go exact,
        # so every caller gets k neighbours per query.
        short = torch.nonzero((indices < 0).any(dim=1)).flatten()
        if len(short):
            values[short], indices[short] = ExactIndex(self.candidates.cpu()).search(queries[short].cpu(), k)
        return values.to(queries.device), indices.to(queries.device)

    def search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(Q, min(k, C)) cosines, best first, and their candidate rows for ``queries`` (Q, D)."""
        if self.config.recall_sample and k not in self.recall and len(queries):
            self._recall_queries = min(len(queries), self.config.recall_sample)
            self.recall[k] = recall_at_k(self._search, self.candidates, queries, k, self.config.recall_sample,
                                         self.config.seed)
            log.info("%s over %d candidates: recall@%d %.4f on %d queries", self.name, len(self.candidates), k,
                     self.recall[k], self._recall_queries)
        return self._search(queries, k)

    def report(self) -> dict:
        """What searched and its measured recall, for the run's record."""
        cfg = self.config
        parameters = ({"hnsw_m": cfg.hnsw_m, "ef_construction": cfg.ef_construction, "ef_search": cfg.ef_search}
                      if cfg.index == "hnsw" else {"ivf_lists": self._index.nlist, "ivf_probe": cfg.ivf_probe})
        return {"index": self.name, "candidates": len(self.candidates), **parameters,
                **{f"recall@{k}": value for k, value in sorted(self.recall.items())},
                "recall_queries": self._recall_queries}
