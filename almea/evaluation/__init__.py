"""Alignment metrics: CSLS ranking, Hits@k and MRR in bounded-memory chunks."""
from almea.evaluation.metrics import alignment_metrics, csls_ranks

__all__ = ["alignment_metrics", "csls_ranks"]
