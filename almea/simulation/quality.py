"""How honest the calibrated probabilities are, measured on the held-out gold links."""
from __future__ import annotations

import numpy as np

from almea.active import ActiveLearner
from almea.alignment import Calibrator, expected_calibration_error, predict_alignment

THRESHOLDS = (0.5, 0.8, 0.95)
"""Probability cuts at which estimated and true precision of the alignment are compared."""


def alignment_quality(
    learner: ActiveLearner, labelled: np.ndarray, rejected: np.ndarray, calibrator: Calibrator, links: np.ndarray,
    trained: np.ndarray | None = None,
) -> dict[str, float]:
    """ECE of the calibrated probability and estimated vs true precision at ``THRESHOLDS``.

    Scored over every predicted link (each KG1 entity not verified), as a user gets them:
    a link is correct when it is one of the gold ``links`` (L, 2), so a source with no
    counterpart in KG2 is always wrong. The estimate is what a project without gold would
    show: the mean calibrated probability at or above the cut. ``trained``: the
    pseudo-labels the learner's model was trained with.
    """
    table = learner.score_table(learner.embeddings(), labelled, rejected)
    judged = predict_alignment(table, {"seed": labelled}, calibrator, trained).predicted()
    gold = {(int(s), int(t)) for s, t in links}
    correct = np.array([(s, t) in gold for s, t in judged[["source", "target"]].to_numpy().tolist()], dtype=bool)
    probability = judged["probability"].to_numpy(np.float64)
    out: dict[str, float] = {"alignment_accuracy": float(correct.mean()) if len(correct) else float("nan")}
    if not calibrator.fitted:
        return out
    out["ece"] = expected_calibration_error(probability, correct)
    for cut in THRESHOLDS:
        keep = probability >= cut
        out[f"coverage@{cut}"] = float(keep.mean()) if len(keep) else float("nan")
        out[f"estimated_precision@{cut}"] = float(probability[keep].mean()) if keep.any() else float("nan")
        out[f"true_precision@{cut}"] = float(correct[keep].mean()) if keep.any() else float("nan")
    return out
