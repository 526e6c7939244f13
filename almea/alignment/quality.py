"""How good is the alignment: precision against coverage, estimated and (with gold) true.

A project without gold links still has its answers. The estimate at a probability threshold
p is the mean calibrated probability of the predicted links at or above p (what the
calibrator expects), with a Wilson interval from the answered pairs at or above p (what
people actually said about such pairs). Where gold exists the true precision stands beside
it, so the estimate itself can be checked.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

DEFAULT_THRESHOLDS = tuple(np.round(np.linspace(0.0, 0.95, 20), 2))


def wilson_interval(successes: np.ndarray, trials: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion (NaN where there are no trials)."""
    k, n = np.asarray(successes, dtype=np.float64), np.asarray(trials, dtype=np.float64)
    z = norm.ppf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return np.where(n > 0, centre - half, np.nan), np.where(n > 0, centre + half, np.nan)


def precision_coverage(
    predicted: pd.DataFrame,
    n_sources: int,
    answers: pd.DataFrame | None = None,
    gold: set[tuple[int, int]] | None = None,
    gold_sources: np.ndarray | None = None,
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS,
) -> pd.DataFrame:
    """One row per threshold: links kept, coverage (share of ``n_sources``), estimated precision,
    the answers' accept rate at or above the threshold with its Wilson interval, and (with
    ``gold``) the true precision over links whose source has a gold link in ``gold_sources``.

    ``predicted`` has columns source, target, probability; ``answers`` columns probability
    (the calibrated probability of each answered pair) and accepted (bool).
    """
    probability = predicted["probability"].to_numpy(np.float64)
    rows = []
    correct = None
    if gold is not None:
        judged = np.isin(predicted["source"].to_numpy(), np.asarray(gold_sources, dtype=np.int64))
        correct = np.array([(s, t) in gold for s, t in predicted[["source", "target"]].to_numpy().tolist()])
    for p in thresholds:
        keep = probability >= p
        row = {"threshold": float(p), "links": int(keep.sum()), "coverage": keep.sum() / max(1, n_sources),
               "estimated_precision": float(probability[keep].mean()) if keep.any() else np.nan}
        if answers is not None and len(answers):
            above = answers["probability"].to_numpy() >= p
            k, n = int(answers["accepted"].to_numpy()[above].sum()), int(above.sum())
            low, high = wilson_interval(np.array([k]), np.array([n]))
            row.update(answered=n, answered_precision=k / n if n else np.nan, wilson_low=float(low[0]), wilson_high=float(high[0]))
        if correct is not None:
            scored = keep & judged
            row["true_precision"] = float(correct[scored].mean()) if scored.any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def expected_calibration_error(probability: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """ECE: the count-weighted mean |accuracy - confidence| over equal-width probability bins."""
    probability = np.asarray(probability, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    index = np.minimum((probability * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = index == b
        if inside.any():
            total += inside.sum() * abs(correct[inside].mean() - probability[inside].mean())
    return total / max(1, len(probability))
