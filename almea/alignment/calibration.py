"""P(correct | how a pair ranks under its model) fitted on human answers, and the threshold it implies.

The model's CSLS scores are not probabilities, and their scale drifts: each round's training
(on pseudo-labels above all) lifts the scores of the pairs it trains on, so the same raw CSLS
means less correct in a later model than in the one that proposed an answered pair (measured
on FB15K237-DB15K: the audits' CSLS median rose 0.39 -> 0.47 over four rounds at a constant
~0.8 accept rate, and a raw-CSLS calibrator overstated precision by 0.11). The calibrator
therefore reads where a pair stands within its own model's distribution: the quantile of its
CSLS and of its margin among every free source's best candidate (``ScoreTable.features``),
and whether that model trained on it as a pseudo-label. A logistic regression on those,
fitted on every answered pair as it was proposed, is then comparable across model versions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

FEATURES = ("csls_quantile", "margin_quantile", "trained")
"""The columns of a scores frame the calibrator reads (see ``ScoreTable.features``)."""


def feature_matrix(scores: pd.DataFrame) -> np.ndarray:
    """(n, 4) inputs: the two quantiles, the trained flag and the flag times the CSLS quantile
    (a trained pair's rank is lifted by the training itself, so it gets its own slope)."""
    missing = [c for c in FEATURES if c not in scores]
    if missing:
        raise ValueError(f"calibration scores lack the column(s) {', '.join(missing)}")
    q_csls = scores["csls_quantile"].to_numpy(np.float64)
    q_margin = np.nan_to_num(scores["margin_quantile"].to_numpy(np.float64), nan=1.0)
    trained = scores["trained"].to_numpy(np.float64)
    return np.stack([q_csls, q_margin, trained, trained * q_csls], axis=1)


@dataclass(frozen=True)
class Calibrator:
    """P(correct) of a proposed pair from its scores frame.

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
    def unfitted(cls) -> Calibrator:
        """The calibrator of a project nobody has answered yet: no estimate anywhere."""
        return cls(None, 0.5, 0, 0, fitted=False)

    @classmethod
    def fit(cls, scores: pd.DataFrame, accepted: np.ndarray, min_answers: int = 30) -> Calibrator:
        """Fit on answered pairs: their proposal-time ``scores`` (``FEATURES`` columns) and
        ``accepted`` (n,) bool."""
        x = feature_matrix(scores)
        y = np.asarray(accepted, dtype=bool).reshape(-1)
        if len(y) != len(x):
            raise ValueError(f"accepted must have one answer per pair ({len(x)}), got {len(y)}")
        n, k = len(y), int(y.sum())
        constant = (k + 1) / (n + 2)
        if n < min_answers:
            return cls(None, constant, n, k, fitted=False)
        if k in (0, n):
            return cls(None, constant, n, k, fitted=True)
        # Standardised inputs keep the (mild) L2 penalty from favouring one feature's units.
        model = make_pipeline(StandardScaler(), LogisticRegression(C=10.0)).fit(x, y)
        return cls(model, constant, n, k, fitted=True)

    def probability(self, scores: pd.DataFrame) -> np.ndarray:
        """(n,) calibrated P(correct) of the pairs of ``scores``; NaN everywhere when not fitted."""
        if not self.fitted:
            return np.full(len(scores), np.nan)
        if self.model is None:
            return np.full(len(scores), self.constant)
        if len(scores) == 0:
            return np.zeros(0)
        return self.model.predict_proba(feature_matrix(scores))[:, 1]


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
