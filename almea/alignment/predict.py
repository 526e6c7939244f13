"""The full alignment a project delivers: one KG2 partner per KG1 entity, 1-to-1.

Verified pairs (seeds, accepted answers) stand as they are. Among the other entities the
mutual CSLS nearest neighbours come first (each is the other's best choice, so no conflict
is possible between them), then the remaining sources take their best free candidate in
greedy passes over (source, candidate) edges by score, until every source has a partner or
every target is taken.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from almea.alignment.calibration import Calibrator
from almea.alignment.scores import ScoreTable

PROVENANCE = ("seed", "human-accepted", "pseudo-label", "predicted")
"""Where a link comes from, most trusted first."""


@dataclass(frozen=True, eq=False)
class Alignment:
    """One row per aligned KG1 entity (global ids), with the figures that qualify it."""

    frame: pd.DataFrame
    """Columns source, target (int64 ids), csls, margin, probability (NaN: uncalibrated),
    mutual (bool), provenance (one of ``PROVENANCE``)."""

    def __len__(self) -> int:
        return len(self.frame)

    def pairs(self) -> np.ndarray:
        return self.frame[["source", "target"]].to_numpy(np.int64)

    def predicted(self) -> pd.DataFrame:
        """The rows the model proposed (pseudo-labels and predictions), not the verified ones."""
        return self.frame[self.frame["provenance"].isin(PROVENANCE[2:])]


def _greedy(sources: np.ndarray, scores: np.ndarray, ids: np.ndarray, taken: np.ndarray, n1: int) -> np.ndarray:
    """(P, 2) 1-to-1 pairs from each source's candidate list (``scores``/``ids`` (S, k), ids
    -1 where none), best score first; ``taken`` (N2,) bool marks used targets (updated)."""
    rows, cols = np.nonzero(ids >= 0)
    order = np.argsort(-scores[rows, cols], kind="stable")
    used_source = np.zeros(len(sources), dtype=bool)
    chosen = []
    for row, col in zip(rows[order].tolist(), cols[order].tolist()):
        target = int(ids[row, col]) - n1
        if used_source[row] or taken[target]:
            continue
        used_source[row] = taken[target] = True
        chosen.append((int(sources[row]), target + n1))
    return np.asarray(chosen, dtype=np.int64).reshape(-1, 2)


def _assign_rest(table: ScoreTable, sources: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """Greedy passes until every source has a partner or no target is free: the first over
    the table's candidate lists, each later one over fresh lists among the still-free targets
    (each pass assigns at least the best remaining edge, so this ends)."""
    found = [_greedy(sources, table.top_scores[sources], table.top_targets[sources], taken, table.n1)]
    left = np.setdiff1d(sources, found[0][:, 0])
    while len(left) and not taken.all():
        free = np.flatnonzero(~taken) + table.n1
        scores, ids = table.candidates(left, free, table.top_targets.shape[1])
        found.append(_greedy(left, scores, ids, taken, table.n1))
        left = np.setdiff1d(left, found[-1][:, 0])
    return np.concatenate(found)


def predict_alignment(
    table: ScoreTable,
    verified: dict[str, np.ndarray],
    calibrator: Calibrator,
    pseudo: np.ndarray | None = None,
) -> Alignment:
    """The alignment under ``table``: ``verified`` maps "seed" and "human-accepted" to (V, 2)
    pairs (the table must have been built with them labelled); ``pseudo`` (P, 2) are the
    pseudo-labels the table's model was trained with, marked as such (and calibrated as
    trained-on pairs); every other link is "predicted". Verified rows have
    probability 1, no margin and ``mutual`` False (their entities left the neighbour lists)."""
    n2 = len(table.r_target)
    fixed = {name: np.asarray(verified.get(name, np.zeros((0, 2))), np.int64).reshape(-1, 2) for name in PROVENANCE[:2]}
    fixed_pairs = np.concatenate(list(fixed.values()))
    taken = np.zeros(n2, dtype=bool)
    taken[fixed_pairs[:, 1] - table.n1] = True
    mutual_sources = np.flatnonzero(table.mutual)
    mutual_targets = table.top_targets[mutual_sources, 0]
    taken[mutual_targets - table.n1] = True
    free = np.ones(table.n1, dtype=bool)
    free[fixed_pairs[:, 0]] = False
    free[mutual_sources] = False
    rest = _assign_rest(table, np.flatnonzero(free), taken)
    model_pairs = np.concatenate([np.stack([mutual_sources, mutual_targets], axis=1), rest])
    scores = table.features(model_pairs, pseudo)
    model = pd.DataFrame({
        "source": model_pairs[:, 0],
        "target": model_pairs[:, 1],
        "csls": scores["csls"],
        "margin": scores["margin"],
        "probability": calibrator.probability(scores),
        "mutual": np.arange(len(model_pairs)) < len(mutual_sources),
        "provenance": np.where(scores["trained"], "pseudo-label", "predicted"),
    })
    verified_frames = []
    for name, pairs in fixed.items():
        verified_csls, _ = table.score(pairs)
        verified_frames.append(pd.DataFrame({
            "source": pairs[:, 0], "target": pairs[:, 1], "csls": verified_csls, "margin": np.nan,
            "probability": 1.0, "mutual": False, "provenance": name,
        }))
    frames = [*verified_frames, model]
    frame = pd.concat(frames, ignore_index=True).sort_values("source", kind="stable", ignore_index=True)
    return Alignment(frame)
