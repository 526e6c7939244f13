"""The product of a project after every model: the full alignment, how much it changed and
how good it is (issue: the alignment is the product).

The worker writes each model version's alignment to ``alignment/v<N>.jsonl`` and a copy to
``alignment/latest.jsonl`` (``PROJECT_ALIGNMENT``, what ``python -m almea align --project``
reads); only the newest two versions are kept, which is what counting the links that
changed since the previous model needs. The figures (changed links, the calibrated
threshold, the precision/coverage curve) go into the checkpoint's metrics, so the pages read
them without touching the model. Per model version the pseudo-labels it was trained with
are kept beside its checkpoint (``model-v<N>.pseudo.npy``, no pickle): the next job's
calibration and the alignment's provenance need to know them.
"""
from __future__ import annotations

import io
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from almea.alignment import Alignment, Calibrator, precision_coverage, precision_threshold, predict_alignment
from almea.alignment.export import PROJECT_ALIGNMENT, alignment_records, alignment_text, read_alignment
from almea.active.self_training import PseudoLabels
from almea.alignment.scores import ScoreTable
from almea.atomic_write import write_atomically
from storage import Checkpoint

KEPT_VERSIONS = 2
"""Alignment files kept besides ``latest.jsonl``: the newest version and the one before."""
QUALITY = "quality"
"""Checkpoint-metrics key of the precision/coverage rows (None: not calibrated yet)."""


def version_file(project_dir: Path, version: int) -> Path:
    """Where model version ``version``'s alignment is kept (while it is one of the newest two)."""
    return Path(project_dir) / PROJECT_ALIGNMENT.parent / f"v{version}.jsonl"


def pseudo_file(checkpoint_path: Path) -> Path:
    """The pseudo-labels file beside a checkpoint: ``model-v3.pt`` -> ``model-v3.pseudo.npy``."""
    path = Path(checkpoint_path)
    return path.with_name(f"{path.stem}.pseudo.npy")


def save_pseudo_labels(checkpoint_path: Path, pairs: np.ndarray | None) -> None:
    """Keep the (P, 2) pseudo-labels a model was trained with (none: no file)."""
    pairs = np.zeros((0, 2), np.int64) if pairs is None else np.asarray(pairs, np.int64).reshape(-1, 2)
    if len(pairs) == 0:
        pseudo_file(checkpoint_path).unlink(missing_ok=True)
        return
    buffer = io.BytesIO()
    np.save(buffer, pairs.astype(np.int32 if pairs.max() < 2**31 else np.int64), allow_pickle=False)
    write_atomically(pseudo_file(checkpoint_path), buffer.getvalue())


def carried_file(checkpoint_path: Path) -> Path:
    """``model-v3.pt`` -> ``model-v3.carried.npz``: the pseudo-labels v3 chose for v4."""
    path = Path(checkpoint_path)
    return path.with_name(f"{path.stem}.carried.npz")


def save_carried(checkpoint_path: Path, pseudo: PseudoLabels | None) -> None:
    """Keep the pseudo-labels the model chose when it proposed its batch (none: no file), so
    the next job trains on them instead of scoring every pair again with the same model."""
    if pseudo is None:
        carried_file(checkpoint_path).unlink(missing_ok=True)
        return
    buffer = io.BytesIO()
    np.savez(buffer, pairs=pseudo.pairs.astype(np.int64), probability=pseudo.probability.astype(np.float64),
             threshold=np.float64(pseudo.threshold))
    write_atomically(carried_file(checkpoint_path), buffer.getvalue())


def load_carried(checkpoint: Checkpoint | None) -> PseudoLabels | None:
    """The pseudo-labels ``save_carried`` kept for ``checkpoint``; None when there is no such
    file or it is unreadable (reported on stderr: the job then scores the pairs anew)."""
    if checkpoint is None or not carried_file(checkpoint.path).is_file():
        return None
    path = carried_file(checkpoint.path)
    try:
        with np.load(path, allow_pickle=False) as data:
            pairs, probability, threshold = data["pairs"], data["probability"], float(data["threshold"])
    except (OSError, ValueError, KeyError) as err:
        print(f"{path}: unreadable carried pseudo-labels ({err}); scoring anew", file=sys.stderr)
        return None
    if pairs.ndim != 2 or pairs.shape[1] != 2 or len(probability) != len(pairs):
        print(f"{path}: expected (n, 2) pairs and n probabilities; scoring anew", file=sys.stderr)
        return None
    return PseudoLabels(pairs.astype(np.int64), probability, threshold)


def load_pseudo_labels(checkpoint: Checkpoint | None) -> np.ndarray:
    """(P, 2) int64 pseudo-labels the checkpoint's model was trained with; none before the first
    model, for a model trained without them, or when the file is unreadable (reported on
    stderr, the worker's log: the pairs then count as not trained on, a small calibration
    error rather than a project that cannot train)."""
    none = np.zeros((0, 2), np.int64)
    if checkpoint is None or not pseudo_file(checkpoint.path).is_file():
        return none
    path = pseudo_file(checkpoint.path)
    try:
        pairs = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        print(f"{path}: unreadable pseudo-labels ({err}); taking them as none", file=sys.stderr)
        return none
    if pairs.ndim != 2 or pairs.shape[1] != 2 or not np.issubdtype(pairs.dtype, np.integer):
        print(f"{path}: expected an (n, 2) integer array, found {pairs.dtype} {pairs.shape}; taking none", file=sys.stderr)
        return none
    return pairs.astype(np.int64)


def changed_links(new: pd.DataFrame, old: pd.DataFrame) -> int:
    """Sources whose target differs between two alignments' records, or that have a link in
    only one of them."""
    before = dict(zip(old["source"], old["target"]))
    after = dict(zip(new["source"], new["target"]))
    return sum(before.get(source) != after.get(source) for source in before.keys() | after.keys())


def _finite(value: object) -> float | None:
    """A metric JSON can hold: None for NaN and infinities (no estimate, nothing qualifies)."""
    return float(value) if value is not None and math.isfinite(float(value)) else None


def _plain_rows(curve: pd.DataFrame) -> list[dict]:
    return [{k: (_finite(v) if isinstance(v, (float, np.floating)) else int(v)) for k, v in row.items()}
            for row in curve.to_dict("records")]


def write_alignment(project_dir: Path, version: int, records: pd.DataFrame) -> tuple[int | None, int | None]:
    """Write ``records`` as model ``version``'s alignment (and ``latest.jsonl``), drop older
    files; returns (links changed since the previous version, that version), both None when
    there is no previous version's file."""
    previous = version - 1
    old_path = version_file(project_dir, previous)
    changed = changed_links(records, read_alignment(old_path)) if old_path.is_file() else None
    text = alignment_text(records, ".jsonl")
    write_atomically(version_file(project_dir, version), text)
    write_atomically(Path(project_dir) / PROJECT_ALIGNMENT, text)
    for path in (Path(project_dir) / PROJECT_ALIGNMENT.parent).glob("v*.jsonl"):
        number = path.stem[1:]
        if number.isdigit() and not version - KEPT_VERSIONS < int(number) <= version:
            path.unlink(missing_ok=True)
    return changed, (previous if changed is not None else None)


@dataclass(frozen=True, eq=False)
class AlignmentInputs:
    """What one model's alignment is computed from (global ids throughout)."""

    table: ScoreTable
    """The model's CSLS view, built with every verified pair as labelled."""
    seeds: np.ndarray
    """(S, 2) seed links."""
    accepted: np.ndarray
    """(A, 2) accepted answers that are not seed links."""
    calibrator: Calibrator
    answers: pd.DataFrame
    """``annotate.answers.answers_frame``: the answers the calibrator learnt from."""
    trained: np.ndarray
    """(P, 2) pseudo-labels the model was trained with."""
    held_out: np.ndarray
    """(T, 2) held-out gold links (empty without gold): the true precision."""
    target_precision: float
    min_answers: int


def deliver_alignment(project_dir: Path, version: int, inputs: AlignmentInputs, entities: list[str]) -> dict:
    """Predict, write and qualify model ``version``'s full alignment; returns the checkpoint
    metrics it adds (see ``StoppingSignal`` and ``quality_frame`` for what they mean)."""
    alignment = predict_alignment(inputs.table, {"seed": inputs.seeds, "human-accepted": inputs.accepted},
                                  inputs.calibrator, pseudo=inputs.trained)
    changed, previous = write_alignment(project_dir, version, alignment_records(alignment, entities))
    predicted = alignment.predicted()
    probability = predicted["probability"].to_numpy(np.float64)
    calibrated = inputs.calibrator.fitted and len(predicted) > 0
    threshold = precision_threshold(probability, inputs.target_precision) if calibrated else math.nan
    above = probability >= threshold if math.isfinite(threshold) else np.zeros(len(probability), dtype=bool)
    metrics = {
        "alignment_links": len(alignment), "predicted_links": len(predicted),
        "pseudo_links": int((predicted["provenance"] == "pseudo-label").sum()),
        "changed_links": changed, "previous_version": previous,
        "threshold": _finite(threshold), "links_above": int(above.sum()) if calibrated else None,
        "estimated_precision": _finite(probability[above].mean()) if above.any() else None,
        "calibration_answers": inputs.calibrator.n_answers,
        QUALITY: None, "quality_note": quality_note_for(inputs.calibrator, inputs.min_answers),
    }
    if inputs.calibrator.fitted:
        metrics[QUALITY] = _plain_rows(_curve(alignment, inputs))
    return metrics


def _curve(alignment: Alignment, inputs: AlignmentInputs) -> pd.DataFrame:
    """The precision/coverage rows over the predicted links; true precision only with gold."""
    predicted = alignment.predicted()
    verified = len(inputs.seeds) + len(inputs.accepted)
    answers = pd.DataFrame({"probability": inputs.calibrator.probability(inputs.answers),
                            "accepted": inputs.answers["accepted"].to_numpy(bool)})
    gold = gold_sources = None
    if len(inputs.held_out):
        gold = {(int(s), int(t)) for s, t in inputs.held_out.tolist()}
        gold_sources = inputs.held_out[:, 0]
    return precision_coverage(predicted, inputs.table.n1 - verified, answers, gold, gold_sources)


def quality_note_for(calibrator: Calibrator, min_answers: int) -> str:
    """Why a model has no quality curve ("" when it has one)."""
    if calibrator.fitted:
        return ""
    return (f"The quality estimate needs {min_answers} answered pairs to calibrate on; this model had "
            f"{calibrator.n_answers}. Answer more pairs (skips and unsure answers do not count).")


@dataclass(frozen=True)
class StoppingSignal:
    """Whether more labelling still changes the alignment: the newest model's figures."""

    model_version: int
    previous_version: int | None
    """The version ``changed_links`` compares with (None for the first model)."""
    changed_links: int | None
    """KG1 entities whose partner differs from the previous model's alignment (None: first model)."""
    threshold: float | None
    """Calibrated probability at and above which the predicted links are expected to hold the
    target precision (None: not calibrated yet, or no set of links holds it)."""
    estimated_precision: float | None
    """Mean calibrated probability of the predicted links at or above ``threshold``."""
    links_above: int | None
    """Predicted (not verified) links at or above ``threshold``; None when not calibrated."""
    answers: int
    """Answered pairs the calibrator was fitted on."""


def stopping_signal(checkpoint: Checkpoint | None) -> StoppingSignal | None:
    """The signal of ``checkpoint`` (the newest); None before the first model. A checkpoint
    from before alignments were written has no figures: they read as None."""
    if checkpoint is None:
        return None
    metrics = checkpoint.metrics
    return StoppingSignal(
        model_version=checkpoint.model_version, previous_version=metrics.get("previous_version"),
        changed_links=metrics.get("changed_links"), threshold=metrics.get("threshold"),
        estimated_precision=metrics.get("estimated_precision"), links_above=metrics.get("links_above"),
        answers=int(metrics.get("calibration_answers", 0)),
    )


def quality_frame(checkpoint: Checkpoint | None) -> pd.DataFrame | None:
    """The checkpoint's precision/coverage rows (threshold, links, coverage,
    estimated_precision, answered, answered_precision, wilson_low, wilson_high, and
    true_precision where the project has gold); None when it has none."""
    rows = None if checkpoint is None else checkpoint.metrics.get(QUALITY)
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    floats = [c for c in frame.columns if c not in ("links", "answered")]
    return frame.astype({c: np.float64 for c in floats})


def read_version_alignment(project_dir: Path, version: int) -> pd.DataFrame | None:
    """Model ``version``'s alignment records, None when its file is not there (no model yet,
    or a project from before alignments were written)."""
    path = version_file(project_dir, version)
    return read_alignment(path) if path.is_file() else None
