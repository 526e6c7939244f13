"""The next batch of a project: chosen by the strategy (under self-training, below the
pseudo-label threshold, with a random audit above it) and stored with what explains it.

Every proposal records its proposal-time calibration scores (``annotate.answers``), with or
without self-training, so the calibrator and the quality curve work for every project.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from almea.active import ActiveLearner
from almea.active.self_training import PseudoLabels
from almea.alignment import Calibrator, ScoreTable
from almea.selection import CandidatePool, Selection
from annotate.answers import CALIBRATION, calibration_evidence

COLD_START_STRATEGY = "most-confident"
"""What an untrained model proposes first: its most confident mutual pairs, the ones a
person can confirm fastest, so the first labels come in quickly."""
AUDIT = "audit"
"""``evidence["strategy"]`` of a pair drawn at random from above the pseudo-label threshold."""


@dataclass(frozen=True, eq=False)
class Batch:
    """A proposed batch and what the store keeps of it."""

    selection: Selection
    audit: np.ndarray
    """(n,) bool: audit pairs (self-training), all False otherwise."""
    proposals: list[dict]
    """Rows for ``ProjectStore.add_proposals``, in queue order."""
    pool: CandidatePool | None
    """The capped pool the strategy chose from without self-training (the selection map's);
    None under self-training, whose pool is uncapped."""
    pseudo: PseudoLabels | None = None
    """Under self-training, the pseudo-labels whose threshold split the batch: the next
    model trains on them (``annotate.alignment_output.save_carried``), as a simulated round does."""


@dataclass(frozen=True, eq=False)
class BatchInputs:
    """The labels and the model's view a batch is chosen under (global ids)."""

    table: ScoreTable
    """The new model's CSLS view, built with ``labelled`` and the rejected pairs."""
    embeddings: torch.Tensor
    """(N, D) the new model's embeddings."""
    calibrator: Calibrator
    labelled: np.ndarray
    """(L, 2) seed links and accepted answers."""
    answered: np.ndarray
    """(A, 2) pairs answered in any way but skip: never proposed again."""
    blocked: np.ndarray
    """(B, 2) held-out gold links and unlinked held-out sources (``ProjectData.blocked``):
    their entities are never proposed."""
    trained: np.ndarray
    """(P, 2) pseudo-labels the new model was trained with."""


def propose(learner: ActiveLearner, inputs: BatchInputs, n: int, rng: np.random.Generator, entities: list[str],
            cold: bool = False, pseudo: PseudoLabels | None = None) -> Batch:
    """``n`` pairs to ask about next. ``cold``: the model was never trained, so the batch is
    its most confident pairs (``COLD_START_STRATEGY``) instead of the configured strategy.
    ``pseudo``: this model's pseudo-labels when already chosen (the standby batch reuses the
    batch's), so the whole pair is not scored twice."""
    strategy = COLD_START_STRATEGY if cold else None
    pool = None
    if learner.config.self_training.enabled:
        if pseudo is None:
            pseudo = learner.pseudo_labels(inputs.table, inputs.calibrator, inputs.blocked, inputs.trained)
        selection, audit = learner.select_verified(
            inputs.table, inputs.calibrator, pseudo.threshold, n, inputs.labelled, inputs.answered, inputs.blocked,
            rng, strategy, inputs.trained)
    else:
        pool = learner.pool(inputs.embeddings, inputs.labelled, inputs.answered, inputs.blocked)
        selection = learner.choose(pool, inputs.embeddings, n, inputs.labelled, rng, strategy)
        audit = np.zeros(len(selection), dtype=bool)
    scores = calibration_evidence(inputs.table.features(selection.pairs, inputs.trained), audit)
    explained = learner.evidence(selection.pairs, table=inputs.table)
    proposals = [
        {
            "source_id": r["source"], "target_id": r["target"],
            "source_uri": entities[r["source"]], "target_uri": entities[r["target"]],
            "confidence": r["confidence"], "rank": r["rank"],
            "diversity_penalty": r["diversity_penalty"], "row_weight": r["row_weight"],
            "evidence": {**e, "strategy": AUDIT if flag else selection.strategy, "pool_seconds": selection.seconds,
                         CALIBRATION: c},
        }
        for r, e, c, flag in zip(selection.to_records(), explained, scores, audit.tolist())
    ]
    return Batch(selection, audit, proposals, pool, pseudo)
