"""When the all-pairs steps search exactly and how the approximate index is built."""
from __future__ import annotations

from dataclasses import dataclass

from almea.config_checks import check_bool, check_choice, check_int

INDEXES = ("hnsw", "ivf")
STORAGES = ("sq8", "flat")


@dataclass(frozen=True)
class NeighbourConfig:
    """Exact blocked search for small steps, a faiss index above ``threshold``; validated on construction."""

    threshold: int = 30_000
    """A step over Q queries and C candidates searches exactly while Q x C <= threshold^2
    (30k x 30k: about half a minute of 1,500-d products on 2 cores) and through the
    approximate index above it, so the 15-20k benchmarks keep today's exact numbers."""
    force: bool = False
    """Use the approximate index at every size (tests, accuracy checks of the approximate path)."""
    index: str = "hnsw"
    """Approximate index: "hnsw" (faiss IndexHNSWFlat) or "ivf" (IndexIVFFlat), both on the
    inner product of L2-normalised vectors, i.e. cosine."""
    storage: str = "sq8"
    """How an HNSW index stores the vectors it walks: "sq8" (one byte per dimension, faiss
    IndexHNSWSQ) or "flat" (float32). The candidates found are scored again exactly, so only
    which ones are found depends on it; on trained 1,200-d embeddings of the 15k synthetic
    pair sq8 searched 1.45x faster at the same recall@10 (0.891 against 0.894)."""
    hnsw_m: int = 32
    """HNSW graph degree; more gives higher recall, more memory and a slower build."""
    ef_construction: int = 80
    """HNSW candidate list while building."""
    ef_search: int = 128
    """HNSW candidate list while searching (raised to k when k is larger)."""
    ivf_lists: int = 0
    """IVF clusters; 0: 4 sqrt(C), faiss's rule of thumb."""
    ivf_probe: int = 16
    """IVF clusters visited per query."""
    rerank: int = 32
    """Nearest candidates by cosine that each query fetches from the index and scores exactly
    by CSLS: the CSLS best lies among them unless hubness moves it past this many neighbours."""
    recall_sample: int = 500
    """Queries on which each approximate index's recall@k against exact search is measured
    and reported (0: not measured)."""
    eval_sample: int = 0
    """Test pairs whose ranks the evaluation computes exactly against all test targets (a
    fixed random sample drawn with ``seed``); 0: every test pair, ranked through the index
    above the threshold."""
    seed: int = 0
    """Seed of the recall and evaluation samples and of IVF's k-means."""

    def __post_init__(self) -> None:
        owner = "NeighbourConfig"
        check_choice(owner, "index", self.index, INDEXES)
        check_choice(owner, "storage", self.storage, STORAGES)
        check_bool(owner, "force", self.force)
        for name, minimum in (("threshold", 1), ("hnsw_m", 2), ("ef_construction", 1), ("ef_search", 1),
                              ("ivf_lists", 0), ("ivf_probe", 1), ("rerank", 10), ("recall_sample", 0),
                              ("eval_sample", 0), ("seed", 0)):
            check_int(owner, name, getattr(self, name), minimum)

    def approximate(self, n_queries: int, n_candidates: int) -> bool:
        """Whether a step over ``n_queries`` x ``n_candidates`` goes through the approximate index."""
        return self.force or n_queries * n_candidates > self.threshold ** 2
