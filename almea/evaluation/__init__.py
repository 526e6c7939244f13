"""Alignment metrics and the one CSLS score they, the candidate pool and the evidence share."""
from almea.evaluation.csls import csls_blocks, csls_scores, neighbourhood_means
from almea.evaluation.metrics import alignment_metrics, csls_ranks

__all__ = ["alignment_metrics", "csls_blocks", "csls_ranks", "csls_scores", "neighbourhood_means"]
