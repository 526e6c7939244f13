"""What people answered, as the calibrator reads it.

Every proposal records how its model scored it when it was proposed (``SCORE_COLUMNS``:
CSLS, margin, their quantiles, whether that model trained on the pair as a pseudo-label)
and whether it was an audit pair, in its evidence under ``CALIBRATION``. The calibrator
(``almea.active.self_training.answer_calibrator``) learns P(correct) from those scores of
the answered proposals, so the scores must be the ones of proposal time: a later model
scores the same pair differently. ``answers_frame`` is the one way to read them back.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from almea.alignment.scores import SCORE_COLUMNS
from storage import ProjectStore

CALIBRATION = "calibration"
"""Key of a proposal's evidence holding its proposal-time scores and audit flag."""
ANSWER_COLUMNS = (*SCORE_COLUMNS, "audit", "accepted", "proposal_id", "round_id")
"""Columns of ``answers_frame``."""
_FLOATS = tuple(c for c in SCORE_COLUMNS if c not in ("source", "target", "trained"))


def _encode(value: float) -> float | str:
    """A float JSON can hold: non-finite ones (an infinite margin: a single candidate) as text."""
    value = float(value)
    return value if math.isfinite(value) else str(value)


def calibration_evidence(scores: pd.DataFrame, audit: np.ndarray) -> list[dict]:
    """One ``CALIBRATION`` entry per row of ``scores`` (``ScoreTable.features``' frame) with its
    ``audit`` (n,) flag, in row order."""
    audit = np.asarray(audit, dtype=bool).reshape(-1)
    if len(audit) != len(scores):
        raise ValueError(f"one audit flag per scored pair ({len(scores)}), got {len(audit)}")
    return [
        {**{c: _encode(row[c]) for c in _FLOATS}, "trained": bool(row["trained"]), "audit": bool(flag)}
        for row, flag in zip(scores.to_dict("records"), audit.tolist())
    ]


def answers_frame(store: ProjectStore) -> pd.DataFrame:
    """The answered proposals that carry proposal-time scores: ``ANSWER_COLUMNS``, with
    ``accepted`` True where the combined verdict is accept.

    Skipped and unanswered proposals do not count, nor do pairs whose verdict is "unsure"
    (nobody was sure: no evidence either way). A conflict (accept against reject) counts as
    not accepted. Proposals made before scores were recorded (older projects) are left out.
    """
    rows = []
    for answered in store.answered_proposals():
        scores = answered.proposal.evidence.get(CALIBRATION)
        if answered.verdict == "unsure" or not isinstance(scores, dict):
            continue
        proposal = answered.proposal
        rows.append({
            "source": proposal.source_id, "target": proposal.target_id,
            **{c: float(scores[c]) for c in _FLOATS},
            "trained": bool(scores["trained"]), "audit": bool(scores.get("audit", False)),
            "accepted": answered.verdict == "accept", "proposal_id": proposal.id, "round_id": proposal.round_id,
        })
    frame = pd.DataFrame(rows, columns=list(ANSWER_COLUMNS))
    return frame.astype({"trained": bool, "audit": bool, "accepted": bool, **{c: np.float64 for c in _FLOATS}})
