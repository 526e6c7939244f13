"""How honest the calibrated probabilities are, measured on the held-out gold links."""
from __future__ import annotations

import numpy as np

from almea.active import ActiveLearner
from almea.alignment import Calibrator, expected_calibration_error, predict_alignment

THRESHOLDS = (0.5, 0.8, 0.95)
"""Probability cuts at which estimated and true precision of the alignment are compared."""


def alignment_quality(
    learner: ActiveLearner, labelled: np.ndarray, rejected: np.ndarray, calibrator: Calibrator, test: np.ndarray
) -> dict[str, float]:
    """ECE of the calibrated probability and estimated vs true precision at ``THRESHOLDS``.

    Scored over the predicted links whose source is a test entity (the only ones whose
    correctness the gold can tell without having been trained on); the estimate is what a
    project without gold would show: the mean calibrated probability at or above the cut.
    """
    table = learner.score_table(learner.embeddings(), labelled, rejected)
    predicted = predict_alignment(table, {"seed": labelled}, calibrator).predicted()
    judged = predicted[np.isin(predicted["source"].to_numpy(), test[:, 0])]
    gold = {(int(s), int(t)) for s, t in test}
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
