"""Self-training under human verification (BootEA / MCLEA / MEAformer's iterative strategy).

Before each round's training the model's confident mutual-CSLS pairs join the labels as
pseudo-labels. Which pairs count as confident is decided by the answers people gave: a
calibrator fitted on them (``almea.alignment.calibration``) maps each pair's CSLS score and
margin to P(correct), and the pseudo-labels are the largest set whose expected precision
holds ``target_precision``. People then answer where it matters: the strategy chooses among
the pairs below that threshold, and a small random audit sample from above it keeps the
pseudo-labels' precision measured.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import pandas as pd

from almea.alignment.calibration import Calibrator, precision_threshold
from almea.alignment.scores import ScoreTable, contains_pairs
from almea.selection import CandidatePool, Selection


@dataclass(frozen=True)
class SelfTrainingConfig:
    """Pseudo-labelling and the split of a batch between the strategy and the audit."""

    enabled: bool = False
    """Add pseudo-labels before each round's training and split batches at the threshold."""
    target_precision: float = 0.95
    """Expected precision the pseudo-label set must hold (the calibrated threshold follows)."""
    audit_share: float = 0.1
    """Share of each batch drawn at random from above the threshold, to keep measuring it."""
    weight: float = 1.0
    """Weight of a pseudo-label in the alignment loss (a labelled pair weighs 1)."""
    include_test: bool = True
    """Test entities may be pseudo-labelled (their gold links are never seen); False keeps
    them out, for the protocol where nothing about the test set enters training."""
    min_answers: int = 30
    """Answers needed before the calibrator is trusted. Until then every mutual pair of the
    (capped) pool is a pseudo-label, the plain iterative strategy of BootEA and MCLEA."""

    def __post_init__(self) -> None:
        if not 0.0 < self.target_precision <= 1.0:
            raise ValueError(f"target_precision must lie in (0, 1], got {self.target_precision}")
        if not 0.0 <= self.audit_share <= 1.0:
            raise ValueError(f"audit_share must lie in [0, 1], got {self.audit_share}")
        if self.weight <= 0:
            raise ValueError(f"weight must be positive, got {self.weight}")
        if self.min_answers < 2:
            raise ValueError(f"min_answers must be at least 2, got {self.min_answers}")


@dataclass(frozen=True, eq=False)
class PseudoLabels:
    """The round's pseudo-labels and the threshold that chose them."""

    pairs: np.ndarray
    """(P, 2) int64 global ids."""
    probability: np.ndarray
    """(P,) calibrated P(correct); NaN when the calibrator had too few answers."""
    threshold: float
    """Calibrated probability at and above which a pair is pseudo-labelled (NaN: uncalibrated)."""

    def __len__(self) -> int:
        return len(self.pairs)


def without_entities(pseudo: PseudoLabels, pairs: np.ndarray) -> PseudoLabels:
    """``pseudo`` less the pairs that share an entity with ``pairs`` (a batch just answered)."""
    keep = ~np.isin(pseudo.pairs, np.asarray(pairs, np.int64).reshape(-1)).any(axis=1)
    return PseudoLabels(pseudo.pairs[keep], pseudo.probability[keep], pseudo.threshold)


def mutual_pairs(table: ScoreTable, blocked: np.ndarray | None = None) -> np.ndarray:
    """(M, 2) the table's mutual nearest neighbours, leaving out pairs that touch ``blocked``
    entity ids (the test entities, when they may not be pseudo-labelled)."""
    sources = np.flatnonzero(table.mutual)
    pairs = np.stack([sources, table.top_targets[sources, 0]], axis=1)
    if blocked is not None and len(blocked):
        pairs = pairs[~np.isin(pairs, blocked).any(axis=1)]
    return pairs


def pseudo_labels(
    table: ScoreTable, calibrator: Calibrator, config: SelfTrainingConfig, k_max: int, blocked: np.ndarray | None = None,
    trained: np.ndarray | None = None,
) -> PseudoLabels:
    """The mutual pairs of ``table`` whose calibrated set holds ``config.target_precision``.

    The table leaves out labelled entities and masks rejected pairs, so neither is ever
    pseudo-labelled. Uncalibrated, the ``k_max`` most confident mutual pairs are taken.
    ``trained`` (Q, 2): the pseudo-labels the table's model was trained with.
    """
    pairs = mutual_pairs(table, blocked)
    scores = table.features(pairs, trained)
    if not calibrator.fitted:
        keep = np.argsort(-scores["csls"].to_numpy(), kind="stable")[:k_max]
        return PseudoLabels(pairs[keep], np.full(len(keep), np.nan), float("nan"))
    probability = calibrator.probability(scores)
    threshold = precision_threshold(probability, config.target_precision)
    keep = probability >= threshold
    return PseudoLabels(pairs[keep], probability[keep], threshold)


def verification_pool(table: ScoreTable, blocked_sources: np.ndarray, answered: np.ndarray) -> CandidatePool:
    """The pairs people may be asked about under self-training: the table's mutual pairs (the
    pseudo-label candidates), minus those whose source is in ``blocked_sources`` (held-out
    test entities) or that were ``answered`` (A, 2), most confident first.

    Built from the same table as the pseudo-labels, so the audit above the threshold is a
    random sample of the pseudo-labels themselves. A target may be a held-out entity: its
    source is not, so such a pair is never a gold link, and answering it reveals no held-out
    link (the caller keeps those answers out of training)."""
    pairs = mutual_pairs(table)
    keep = ~np.isin(pairs[:, 0], np.asarray(blocked_sources, np.int64)) & ~contains_pairs(answered, pairs)
    pairs = pairs[keep]
    csls, margin = table.score(pairs)
    order = np.argsort(-csls, kind="stable")
    return CandidatePool(pairs[order], csls[order], margin[order], np.arange(len(order)))


def trainable_negatives(rejected: np.ndarray, blocked: np.ndarray) -> np.ndarray:
    """Rejected pairs (R, 2) to train on as hard negatives: not those touching an entity of
    ``blocked`` (held-out) links. ``verification_pool`` may show a held-out target beside a
    free source; that answer informs only the calibrator, so nothing about held-out links
    enters training."""
    rejected = np.asarray(rejected, np.int64).reshape(-1, 2)
    return rejected[~np.isin(rejected, np.asarray(blocked, np.int64).reshape(-1)).any(axis=1)]


def audit_size(n: int, share: float) -> int:
    """Pairs of a batch of ``n`` that go to the audit (rounded, at least one when share > 0)."""
    return 0 if share == 0 or n == 0 else max(1, int(round(n * share)))


def verified_batch(
    pool: CandidatePool,
    above: np.ndarray,
    n: int,
    choose: Callable[[CandidatePool, int], Selection],
    rng: np.random.Generator,
    audit_share: float,
    k_max: int,
) -> tuple[Selection, np.ndarray]:
    """A batch of ``n``: the strategy (``choose``) among the ``k_max`` most confident pairs
    below the threshold, then a random audit sample from above it (``above`` (K,) bool).
    Uncalibrated (nothing above), the audit samples the whole pool, which is what a first
    calibration needs. Returns the batch and (n,) bool marking its audit pairs."""
    below = np.flatnonzero(~above)[:k_max]
    room = int(above.sum()) if above.any() else len(pool)
    strategy = choose(pool.take(below), n - min(audit_size(n, audit_share), room))
    candidates = np.flatnonzero(above) if above.any() else np.flatnonzero(~np.isin(pool.rank, strategy.rank))
    n_audit = min(n - len(strategy), len(candidates))
    picks = np.sort(rng.choice(candidates, size=n_audit, replace=False))
    audit = pool.take(picks)
    batch = concatenate(strategy, Selection(
        pairs=audit.pairs, confidence=audit.confidence, rank=audit.rank, diversity=np.ones(n_audit),
        row_weight=np.zeros(n_audit), strategy="audit", seconds=0.0,
    ))
    return batch, np.arange(len(batch)) >= len(strategy)


def concatenate(first: Selection, second: Selection) -> Selection:
    """One batch from two selections: ``first``'s pairs are asked first."""
    return replace(
        first,
        pairs=np.concatenate([first.pairs, second.pairs]).reshape(-1, 2),
        confidence=np.concatenate([first.confidence, second.confidence]),
        rank=np.concatenate([first.rank, second.rank]),
        diversity=np.concatenate([first.diversity, second.diversity]),
        row_weight=np.concatenate([first.row_weight, second.row_weight]),
        seconds=first.seconds + second.seconds,
    )


def answer_calibrator(answers: pd.DataFrame, config: SelfTrainingConfig) -> Calibrator:
    """The calibrator of the answers so far: ``SCORE_COLUMNS`` of each answered pair as it
    was proposed (``ScoreTable.features``), plus ``accepted`` (bool)."""
    if len(answers) == 0:
        return Calibrator.unfitted()
    return Calibrator.fit(answers, answers["accepted"].to_numpy(bool), config.min_answers)
