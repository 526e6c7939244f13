"""Nearest neighbours for the all-pairs steps: exact blocks below a size threshold, a faiss index above."""
from almea.neighbours.config import INDEXES, NeighbourConfig
from almea.neighbours.csls_search import CSLSView, csls_candidates, csls_view, listed_pairs, neighbourhood_means
from almea.neighbours.exact import ExactIndex
from almea.neighbours.index import NeighbourIndex
from almea.neighbours.recall import recall_at_k
from almea.neighbours.sides import EmbeddingIndexes, side_indexes

__all__ = [
    "INDEXES",
    "CSLSView",
    "EmbeddingIndexes",
    "ExactIndex",
    "NeighbourConfig",
    "NeighbourIndex",
    "csls_candidates",
    "csls_view",
    "listed_pairs",
    "neighbourhood_means",
    "recall_at_k",
    "side_indexes",
]
