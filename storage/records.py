"""Rows of the project database as plain, immutable objects.

Times are Unix seconds (``time.time()``), the unit of the store's clock. JSON columns come
back as dicts. Entity pairs carry both the dataset's global ids (what the model consumes)
and the entity URIs (what the dataset files contain), so exports need no dataset.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from storage.backends.interface import Row

ANSWERS = ("accept", "reject", "unsure", "skip")
"""What an annotator may answer. "skip" is not an answer about the pair: it defers it."""
VERDICTS = ("accept", "reject", "unsure", "conflict")
"""The label of a pair once every annotator's answer is combined (see ``combine_answers``)."""
JOB_STATUSES = ("queued", "running", "done", "failed")


def _columns(record: type, row: Row, json_columns: tuple[str, ...] = ()) -> dict:
    """The row's value of each field of the ``record`` dataclass, ``json_columns`` decoded."""
    return {name: json.loads(row[name]) if name in json_columns else row[name] for name in record.__dataclass_fields__}


@dataclass(frozen=True)
class Project:
    """What the project is about: written once by ``ProjectStore.create``."""

    name: str
    dataset: dict
    """How to load the dataset again, e.g. ``{"folder": ..., "layout": "openea"}``."""
    config: dict
    """Settings of the model and of the selection, as the caller chose them."""
    created_at: float

    @classmethod
    def from_row(cls, row: Row) -> Project:
        return cls(**_columns(cls, row, json_columns=("dataset", "config")))


@dataclass(frozen=True)
class Round:
    """One round of annotation: a ranked list of proposals answered by people."""

    id: int
    """1, 2, 3, ...: rounds are numbered in the order they were started and never deleted."""
    strategy: str
    """Name of the selection strategy that proposed the pairs (``STRATEGIES`` key)."""
    status: str
    """"open" (takes leases and decisions) or "closed"."""
    model_version: int | None
    """The checkpoint version that scored the proposals; None before any training."""
    budget: int | None
    """How many pairs the round was asked to propose, as the caller planned it."""
    created_at: float
    closed_at: float | None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @classmethod
    def from_row(cls, row: Row) -> Round:
        return cls(**_columns(cls, row))


@dataclass(frozen=True)
class Proposal:
    """A pair proposed in a round, with the figures that explain why it was chosen."""

    id: int
    round_id: int
    position: int
    """0-based place in the round's queue: pairs are asked in this order."""
    source_id: int
    """Global id of the KG1 entity in the dataset the round was computed on."""
    target_id: int
    """Global id of the KG2 entity."""
    source_uri: str
    """The KG1 entity as written in the dataset files (URI or Freebase MID)."""
    target_uri: str
    confidence: float | None
    """CSLS score of the pair."""
    rank: int | None
    """Position of the pair in the candidate pool's confidence order (0 = most confident)."""
    diversity_penalty: float | None
    """D_i of eq. 7: how close the pair sits to already labelled pairs."""
    row_weight: float | None
    """L2 norm of the pair's row of the DS3 solution Z."""
    evidence: dict
    """Anything else worth showing, e.g. the top-5 alternative targets."""

    @classmethod
    def from_row(cls, row: Row) -> Proposal:
        return cls(**_columns(cls, row, json_columns=("evidence",)))


@dataclass(frozen=True)
class Decision:
    """One row of the append-only decision log."""

    id: int
    proposal_id: int
    round_id: int
    annotator: str
    answer: str
    """One of ``ANSWERS``, or "undo" for a row that cancels the decision it ``supersedes``."""
    model_version: int | None
    """The model version the annotator was shown (the round's, unless the caller says otherwise)."""
    decided_at: float
    supersedes: int | None
    """For an undo row: the id of the decision it cancels; None otherwise."""
    source_uri: str
    target_uri: str

    @classmethod
    def from_row(cls, row: Row) -> Decision:
        return cls(**_columns(cls, row))


@dataclass(frozen=True)
class Verdict:
    """Every annotator's effective answer on one entity pair, combined into one label."""

    source_uri: str
    target_uri: str
    source_id: int
    target_id: int
    answers: dict[str, str]
    """Annotator -> their latest effective answer (accept/reject/unsure); skips left out."""
    verdict: str
    """One of ``VERDICTS``."""

    @property
    def agreed(self) -> bool:
        """Whether every annotator gave the same answer."""
        return len(set(self.answers.values())) == 1


@dataclass(frozen=True)
class AnsweredProposal:
    """A proposal someone answered (not just skipped), with its annotators' combined verdict.

    Unlike ``Verdict`` (one per entity pair), this is one per proposal, so the figures the
    proposal was made with (its ``evidence``) stay attached to the answer.
    """

    proposal: Proposal
    verdict: str
    """One of ``VERDICTS``."""


@dataclass(frozen=True)
class LabelledPair:
    """A pair with a label usable for training: a seed link or a combined answer."""

    source_uri: str
    target_uri: str
    source_id: int | None
    """Global ids where the store knows them (proposals); None for seed labels."""
    target_id: int | None
    label: str
    """"accept" for seed labels, otherwise the pair's verdict."""
    origin: str
    """The seed label's origin (e.g. the imported file) or "annotation"."""


@dataclass(frozen=True)
class RoundCounts:
    """Progress of one round, counted over its proposals.

    ``answered`` proposals have at least one effective accept/reject/unsure and split into
    ``accepted + rejected + unsure + conflict`` by their combined verdict. The others are
    ``remaining``; ``skipped`` counts the remaining ones that someone skipped.
    """

    round_id: int
    total: int
    answered: int
    remaining: int
    accepted: int
    rejected: int
    unsure: int
    conflict: int
    skipped: int


@dataclass(frozen=True)
class Job:
    """A background task (training, selection) and how far it got."""

    id: int
    kind: str
    params: dict
    status: str
    """One of ``JOB_STATUSES``."""
    progress: float
    """0..1, as last reported by the worker."""
    message: str
    """What the worker is doing now, for people."""
    error: str | None
    """Why it failed (traceback text or a stale-worker note)."""
    attempts: int
    """How many times a worker claimed it; 1 during and after the first run."""
    pid: int | None
    """Process id of the worker that claimed it last."""
    created_at: float
    started_at: float | None
    heartbeat_at: float | None
    """Last sign of life from the worker; a running job silent for too long is stale."""
    finished_at: float | None

    @classmethod
    def from_row(cls, row: Row) -> Job:
        return cls(**_columns(cls, row, json_columns=("params",)))


@dataclass(frozen=True)
class Checkpoint:
    """A saved model: its file, its version number and what it scored."""

    id: int
    model_version: int
    """1, 2, 3, ...: assigned at registration; the project's model version counter."""
    path: Path
    """Absolute path of the file (stored relative to the project folder, which may move)."""
    round_id: int | None
    """The round whose labels it was trained on; None for a model trained on seeds only."""
    job_id: int | None
    metrics: dict
    created_at: float

    @classmethod
    def from_row(cls, row: Row, project_dir: Path) -> Checkpoint:
        return cls(**{**_columns(cls, row, json_columns=("metrics",)), "path": project_dir / row["path"]})
