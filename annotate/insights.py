"""What a project's history says: modality weights (global and per entity), learning curve,
selection maps, and how good each round's selection was. Plain data frames for the insights page (drawn by
``annotate.figures``) and for CSV downloads.

Selection maps are drawn by the worker (``annotate.selection_map``); this module only reads
them.
"""
from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from annotate.entity_weights import EntityWeights, version_weights
from annotate.selection_map import SelectionMap, SelectionMapError, map_path  # noqa: F401 - the page catches the error
from storage import ANSWERS, combine_answers

if TYPE_CHECKING:
    from annotate.alignment_output import StoppingSignal
    from annotate.service import AnnotationProject

IDLE_SECONDS = 600.0
"""A pause longer than this between two of an annotator's actions is a break, not work."""
UNANSWERED = "unanswered"
NOT_PROPOSED = "not proposed"
"""A pair DS3 picks only without the diversity penalty: nobody was asked about it."""
METRICS = ("hits@1", "hits@10", "mrr")


def modality_weights_frame(project: AnnotationProject) -> pd.DataFrame:
    """One row per (model version, modality): the global fusion weight pi_m (spec section 2).
    The weights of a version sum to 1, so they read as shares."""
    rows = [
        {"model_version": c.model_version, "labelled": c.metrics.get("labelled"), "modality": modality,
         "weight": weight}
        for c in project.store.checkpoints()
        for modality, weight in c.metrics.get("modality_weights", {}).items()
    ]
    return pd.DataFrame(rows, columns=["model_version", "labelled", "modality", "weight"])


def latest_entity_weights(project: AnnotationProject) -> EntityWeights | None:
    """The newest model's per-entity fusion weights; None before the first model, or when its
    file is missing (trained before the file existed) or unreadable."""
    return version_weights(project.store, project.store.model_version(), project.data.pair.n_entities)


def entity_weights_frame(project: AnnotationProject, weights: EntityWeights) -> pd.DataFrame:
    """One row per entity: its URI, its ``kg`` (KG1 or KG2) and its weight per modality, the
    data behind the per-entity chart's CSV."""
    pair = project.data.pair
    frame = pd.DataFrame(weights.weights, columns=list(weights.modalities))
    frame.insert(0, "kg", np.where(np.arange(pair.n_entities) < pair.n1, "KG1", "KG2"))
    frame.insert(0, "entity", pair.entities)
    return frame


def weight_spread_frame(entities: pd.DataFrame, modalities: tuple[str, ...]) -> pd.DataFrame:
    """Per (kg, modality): quartiles, Tukey whiskers (the furthest weights within 1.5 IQR of
    the box) and the mean of ``entity_weights_frame``'s weights. The box plot draws these, so
    the browser gets eight numbers per box instead of one per entity."""
    rows = []
    for kg, group in entities.groupby("kg", sort=True):
        for modality in modalities:
            values = group[modality].to_numpy(np.float64)
            q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
            reach = 1.5 * (q3 - q1)
            inside = values[(values >= q1 - reach) & (values <= q3 + reach)]
            rows.append({"kg": kg, "modality": modality, "entities": len(values), "mean": values.mean(),
                         "lower_whisker": inside.min(), "q1": q1, "median": median, "q3": q3,
                         "upper_whisker": inside.max()})
    columns = ["kg", "modality", "entities", "mean", "lower_whisker", "q1", "median", "q3", "upper_whisker"]
    return pd.DataFrame(rows, columns=columns)


def learning_curve_frame(project: AnnotationProject) -> pd.DataFrame:
    """One row per scored model version: labels it trained on and its held-out metrics, both
    directions (a project without held-out links has no rows)."""
    columns = [f"{d}_{m}" for d in ("l2r", "r2l") for m in METRICS]
    rows = [
        {"model_version": c.model_version, "labelled": c.metrics.get("labelled"),
         **{f"{d}_{m}": c.metrics[d].get(m) for d in ("l2r", "r2l") for m in METRICS}}
        for c in project.store.checkpoints() if "l2r" in c.metrics and "r2l" in c.metrics
    ]
    return pd.DataFrame(rows, columns=["model_version", "labelled", *columns])


def _proposal_answers(project: AnnotationProject, round_id: int) -> dict[int, str]:
    """Proposal id -> its combined verdict in the round, or "unanswered" (skips do not count)."""
    given: dict[int, list[str]] = defaultdict(list)
    for decision in project.store.effective_decisions(round_id):
        if decision.answer != "skip":
            given[decision.proposal_id].append(decision.answer)
    return {
        p.id: combine_answers(given[p.id]) if given[p.id] else UNANSWERED for p in project.store.proposals(round_id)
    }


def selection_map_frame(project: AnnotationProject, round_id: int) -> pd.DataFrame | None:
    """Every point of the round's map (None when its model version left no map).

    ``layer`` is "pool" or "labelled"; pool rows say whether the round proposed them
    (``proposal_id``, ``answer``) and whether DS3 without D would have. The labelled rows are
    the map's sample; ``frame.attrs["labelled_total"]`` counts every labelled pair. Labels are
    the datasets' text, unescaped. Raises ``SelectionMapError`` when the file is not a map of
    this dataset.
    """
    version = project.store.get_round(round_id).model_version
    path = None if version is None else map_path(project.folder, version)
    if path is None or not path.is_file():
        return None
    shown = SelectionMap.load(path, n_entities=project.data.pair.n_entities)
    answers = _proposal_answers(project, round_id)
    proposals = {(p.source_id, p.target_id): p.id for p in project.store.proposals(round_id)}
    label = project.entity_label
    pool = pd.DataFrame({
        "layer": "pool",
        "x": shown.xy[:, 0], "y": shown.xy[:, 1],
        "source": shown.pairs[:, 0], "target": shown.pairs[:, 1],
        "confidence": shown.confidence,
        "chosen": shown.chosen, "chosen_without_diversity": shown.chosen_without_diversity,
    })
    pool["proposal_id"] = pd.array([proposals.get(tuple(p)) for p in shown.pairs.tolist()], dtype="Int64")
    pool["answer"] = [
        NOT_PROPOSED if pd.isna(pid) else answers.get(int(pid), UNANSWERED) for pid in pool["proposal_id"]
    ]
    labelled = pd.DataFrame({
        "layer": "labelled", "x": shown.labelled_xy[:, 0], "y": shown.labelled_xy[:, 1],
        "source": shown.labelled[:, 0], "target": shown.labelled[:, 1],
        "chosen": False, "chosen_without_diversity": False,
    })
    frame = pd.concat([pool, labelled], ignore_index=True)
    frame["source_label"] = [label(int(e)) for e in frame["source"]]
    frame["target_label"] = [label(int(e)) for e in frame["target"]]
    frame.attrs["labelled_total"] = int(shown.labelled_total)
    return frame


def clicked_proposal(points: list[dict[str, Any]]) -> int | None:
    """The proposal id of the first clicked point that carries one (a plotly selection event's
    ``points``; the map's proposed points hold their id as ``customdata``)."""
    for point in points:
        value = point.get("customdata")
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            return int(value)
    return None


def stopping_text(signal: StoppingSignal, target_precision: float) -> str:
    """One line on whether more labelling still pays: how many links the newest model moved
    and how good its predicted links are estimated to be. A calibrated model whose links
    nowhere reach the target precision says so, rather than reading as not calibrated."""
    changed = ("first model" if signal.changed_links is None else
               f"{signal.changed_links:,} links changed since v{signal.previous_version}")
    if signal.links_above is None:
        quality = f"not calibrated yet ({signal.answers} answers)"
    elif signal.threshold is None or signal.estimated_precision is None:
        quality = (f"no set of predicted links reaches the {target_precision:.0%} precision target yet "
                   f"(calibrated on {signal.answers} answers)")
    else:
        quality = (f"estimated precision {signal.estimated_precision:.3f} for the {signal.links_above:,} predicted "
                   f"links at probability ≥ {signal.threshold:.2f} (calibrated on {signal.answers} answers)")
    return f"Model v{signal.model_version}: {changed} · {quality}"


def round_precision_frame(project: AnnotationProject) -> pd.DataFrame:
    """One row per round: its proposals by verdict and precision = accepted / answered, the
    share of the selection that people confirmed (None before any answer)."""
    rows = []
    for round_ in project.store.rounds():
        counts = project.store.round_counts(round_.id)
        rows.append({
            "round": round_.id, "strategy": round_.strategy, "model_version": round_.model_version,
            "proposed": counts.total, "answered": counts.answered, "accepted": counts.accepted,
            "rejected": counts.rejected, "unsure": counts.unsure, "conflict": counts.conflict,
            "precision": counts.accepted / counts.answered if counts.answered else None,
        })
    columns = ["round", "strategy", "model_version", "proposed", "answered", "accepted", "rejected", "unsure",
               "conflict", "precision"]
    return pd.DataFrame(rows, columns=columns)


def agreement_frame(project: AnnotationProject) -> pd.DataFrame:
    """Pairs that two or more annotators answered: each one's answer, the verdict, and whether
    they all gave the same answer."""
    rows = [
        {"source": v.source_uri, "target": v.target_uri, "annotators": len(v.answers),
         "answers": ", ".join(f"{who}: {answer}" for who, answer in sorted(v.answers.items())),
         "verdict": v.verdict, "agreed": v.agreed}
        for v in project.store.verdicts() if len(v.answers) >= 2
    ]
    return pd.DataFrame(rows, columns=["source", "target", "annotators", "answers", "verdict", "agreed"])


def decision_times_frame(project: AnnotationProject, idle_seconds: float = IDLE_SECONDS) -> pd.DataFrame:
    """Seconds each answer took: the time since the same annotator's previous action (an
    answer or an undo) in the decision log; longer gaps than ``idle_seconds`` are dropped."""
    last: dict[str, float] = {}
    rows = []
    for decision in sorted(project.store.decision_log(), key=lambda d: (d.decided_at, d.id)):
        before = last.get(decision.annotator)
        last[decision.annotator] = decision.decided_at
        if before is not None and decision.answer in ANSWERS and decision.decided_at - before <= idle_seconds:
            rows.append({"annotator": decision.annotator, "round": decision.round_id, "answer": decision.answer,
                         "seconds": decision.decided_at - before})
    return pd.DataFrame(rows, columns=["annotator", "round", "answer", "seconds"])


def decision_time_summary(times: pd.DataFrame) -> pd.DataFrame:
    """Per annotator: answers timed, median and mean seconds per answer."""
    grouped = times.groupby("annotator")["seconds"]
    return pd.DataFrame({"answers": grouped.size(), "median_seconds": grouped.median(),
                         "mean_seconds": grouped.mean()}).reset_index()
