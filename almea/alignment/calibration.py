"""P(correct | CSLS score, margin) fitted on human answers, and the threshold it implies.

The model's CSLS scores are not probabilities, and their scale drifts between model versions
and datasets. The answers people give are the only ground truth a project without gold has,
so they calibrate the scores: a logistic regression on (CSLS, margin) of every answered pair,
at the scores the pair had when it was proposed (an unbiased sample of that model's errors,
unlike the scores of accepted pairs after they were trained on).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

MARGIN_CAP = 2.0
"""CSLS lies in [-4, 4] and margins of the pool in [0, 8]; a source with a single candidate has
an infinite margin, read as this (already far beyond any observed finite margin)."""


def score_features(csls: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """(n, 2) calibration inputs: the CSLS score and the (capped) margin to the runner-up."""
    csls = np.asarray(csls, dtype=np.float64).reshape(-1)
    margin = np.minimum(np.nan_to_num(np.asarray(margin, dtype=np.float64).reshape(-1), posinf=MARGIN_CAP), MARGIN_CAP)
    if csls.shape != margin.shape:
        raise ValueError(f"csls and margin must have one value per pair, got {csls.shape} and {margin.shape}")
    return np.stack([csls, margin], axis=1)


@dataclass(frozen=True)
class Calibrator:
    """P(correct) of a proposed pair from its CSLS score and margin.

    ``fitted`` is False with fewer than ``min_answers`` answers: then there is no estimate
    (``probability`` returns NaN) and callers say so rather than invent one. With answers of
    one kind only, the probability is the Laplace-smoothed accept rate, the same for all.
    """

    model: Pipeline | None
    constant: float
    n_answers: int
    n_accepted: int
    fitted: bool

    @classmethod
    def fit(cls, csls: np.ndarray, margin: np.ndarray, accepted: np.ndarray, min_answers: int = 30) -> Calibrator:
        """Fit on answered pairs: their proposal-time ``csls`` and ``margin`` (n,) and ``accepted`` (n,) bool."""
        x = score_features(csls, margin)
        y = np.asarray(accepted, dtype=bool).reshape(-1)
        if len(y) != len(x):
            raise ValueError(f"accepted must have one answer per pair ({len(x)}), got {len(y)}")
        n, k = len(y), int(y.sum())
        constant = (k + 1) / (n + 2)
        if n < min_answers:
            return cls(None, constant, n, k, fitted=False)
        if k in (0, n):
            return cls(None, constant, n, k, fitted=True)
        # Standardised inputs make the (mild) L2 penalty scale-free: CSLS scales differ by dataset.
        return cls(make_pipeline(StandardScaler(), LogisticRegression(C=10.0)).fit(x, y), constant, n, k, fitted=True)

    def probability(self, csls: np.ndarray, margin: np.ndarray) -> np.ndarray:
        """(n,) calibrated P(correct); NaN everywhere when not fitted."""
        x = score_features(csls, margin)
        if not self.fitted:
            return np.full(len(x), np.nan)
        if self.model is None:
            return np.full(len(x), self.constant)
        return self.model.predict_proba(x)[:, 1]


def precision_threshold(probability: np.ndarray, target: float) -> float:
    """The lowest probability p such that the pairs with probability >= p have an expected
    precision (their mean probability) of at least ``target``; inf when no pair qualifies."""
    if not 0.0 < target <= 1.0:
        raise ValueError(f"target precision must lie in (0, 1], got {target}")
    p = np.sort(np.asarray(probability, dtype=np.float64))[::-1]
    p = p[np.isfinite(p)]
    if len(p) == 0:
        return float("inf")
    held = np.cumsum(p) / np.arange(1, len(p) + 1) >= target - 1e-12
    if not held[0]:
        return float("inf")
    return float(p[np.flatnonzero(held)[-1]])
