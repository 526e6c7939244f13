"""The annotation service: the only API the pages call (issue: the app).

``AnnotationProject`` wraps one project's store and dataset: the queue an annotator works
through, decisions and undo, round closing with background retraining, the simulated
oracle and exports. Every decision is committed by the store before the call returns.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from almea.active import GoldOracle, LearnerConfig, SelectionConfig
from almea.active.self_training import SelfTrainingConfig
from almea.alignment.export import alignment_text, cut, format_of
from almea.atomic_write import write_atomically
from almea.data import LAYOUTS, DataFormatError  # noqa: F401 - re-exported: pages import annotate only
from almea.selection import STRATEGIES
from annotate.alignment_output import StoppingSignal, quality_frame, read_version_alignment, stopping_signal  # noqa: F401 - StoppingSignal re-exported
from annotate.datasets import home_dir
from annotate.pair_view import PairView, pair_view
from annotate.project_data import ProjectData, project_data
from annotate.seeds import gold_seeds, read_seed_tsv
from annotate.settings import ProjectSettings
from annotate.standby import STANDBY, load_standby  # noqa: F401 - STANDBY re-exported
from annotate.jobs import TRAIN, detect_dead_worker, job_text, start_worker, worker_running  # noqa: F401 - job_text re-exported
from storage import Job, Proposal, ProjectStore, Round, RoundClosedError, RoundCounts, Verdict, is_project  # noqa: F401 - re-exported

PROJECTS = "projects"
ORACLE = "oracle"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
STRATEGY_NAMES = tuple(STRATEGIES)


def project_settings(
    strategy: str, batch_size: int, warm_epochs: int, round_epochs: int, self_training: bool = True
) -> ProjectSettings:
    """The backend's defaults with what the projects page lets people choose; ``self_training``
    adds verified pseudo-labels to every round (``SelfTrainingConfig``)."""
    learner = LearnerConfig(selection=SelectionConfig(strategy=strategy),
                            self_training=SelfTrainingConfig(enabled=self_training))
    return ProjectSettings(learner=learner, batch_size=batch_size, warm_epochs=warm_epochs, round_epochs=round_epochs)


def projects_dir(home: Path | None = None) -> Path:
    return (home or home_dir()) / PROJECTS


def list_projects(home: Path | None = None) -> list[str]:
    """Names of the projects in the home folder, oldest first."""
    folder = projects_dir(home)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if is_project(p)]
    return [p.name for p in sorted(found, key=lambda p: p.stat().st_mtime)]


@dataclass(frozen=True)
class PairCard:
    """A leased proposal and everything shown about it."""

    proposal: Proposal
    view: PairView


@dataclass(frozen=True)
class Progress:
    round: Round | None
    rounds_done: int
    counts: RoundCounts | None
    labels: int
    """Training labels so far: seed links plus accepted pairs."""
    model_version: int
    job: Job | None
    """The latest training job (the worker's state)."""
    worker_alive: bool


class AnnotationProject:
    """One project: its store, its dataset and its settings."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.store = ProjectStore.open(self.folder)
        project = self.store.project()
        self.name = project.name
        self.dataset = project.dataset
        self.settings = ProjectSettings.from_dict(project.config)

    @classmethod
    def open(cls, name: str, home: Path | None = None) -> AnnotationProject:
        return cls(projects_dir(home) / name)

    @property
    def data(self) -> ProjectData:
        return project_data(self.dataset)

    def entity_label(self, entity: int) -> str:
        """Readable name of a dataset entity (global id), e.g. an alternative target."""
        return self.data.index.label(entity)

    @property
    def has_gold(self) -> bool:
        """Whether the dataset has gold links (``ent_links`` / ``ill_ent_ids``): only then can
        models be scored on held-out links and the simulated oracle answer."""
        return len(self.data.pair.links) > 0

    def held_out(self) -> np.ndarray:
        """The gold links that score this project's models (the worker's set: none touches a label)."""
        labelled = self.data.pair_ids(self.store.accepted_pairs())
        return self.data.held_out(self.settings.eval_ratio, self.settings.seed, labelled)

    def close(self) -> None:
        self.store.close()

    def next_pair(self, annotator: str) -> PairCard | None:
        """Lease the annotator's next pair of the open round (None: nothing to label now).

        When nothing is left for anyone (every unanswered pair skipped, none leased), the
        round closes itself and retraining starts: see ``close_round_if_stalled``.
        """
        current = self.store.current_round()
        if current is None:
            return None
        proposal = self.store.next_pair(current.id, annotator)
        if proposal is None and self.store.close_round_if_stalled(current.id, annotator):
            self._after_close(current)
            return self.next_pair(annotator)
        return None if proposal is None else self.card(proposal)

    def proposal_card(self, proposal_id: int) -> PairCard:
        """Any proposal of the project by id (e.g. picked on the selection map); answering it
        is refused by the store when its round is closed."""
        return self.card(self.store.get_proposal(proposal_id))

    def card(self, proposal: Proposal) -> PairCard:
        aligned = self.aligned()
        view = pair_view(self.data.index, proposal.source_id, proposal.target_id, aligned, proposal.evidence)
        return PairCard(proposal, view)

    @cached_property
    def _seed_uris(self) -> set[tuple[str, str]]:
        """Seed links, read once: they are written when the project is created, and re-reading
        thousands of them for every pair shown cost more than the rest of the service calls."""
        return {(p.source_uri, p.target_uri) for p in self.store.seed_labels()}

    @cached_property
    def _seed_ids(self) -> np.ndarray:
        """(S, 2) global ids of the seed links, read once (see ``_seed_uris``)."""
        return self.data.pair_ids(self.store.seed_labels())

    @cached_property
    def _seed_alignment(self) -> dict[int, int]:
        """Seed-linked entity -> its counterpart, both directions (global ids)."""
        aligned: dict[int, int] = {}
        for s, t in self._seed_ids.tolist():
            aligned[s], aligned[t] = t, s
        return aligned

    def _accepted_annotations(self) -> list[Verdict]:
        """Accepted pairs that are not seed links (``store.accepted_pairs()`` minus the seeds)."""
        seeds = self._seed_uris
        return [v for v in self.store.verdicts() if v.verdict == "accept" and (v.source_uri, v.target_uri) not in seeds]

    def aligned(self) -> dict[int, int]:
        """Every aligned entity (seed or accepted) -> its counterpart, both directions."""
        out = dict(self._seed_alignment)
        for v in self._accepted_annotations():
            out[v.source_id], out[v.target_id] = v.target_id, v.source_id
        return out

    def decide(self, annotator: str, proposal_id: int, answer: str) -> None:
        """Record an answer (committed on return); a finished batch starts retraining."""
        self.store.decide(proposal_id, annotator, answer)
        current = self.store.current_round()
        if current is not None and self.store.round_counts(current.id).remaining == 0:
            self.close_round()

    def skipped_pairs(self, annotator: str) -> list[Proposal]:
        """The open round's pairs ``annotator`` skipped and nobody has answered since, in queue
        order: they can be answered after all (``decide``), e.g. after a look elsewhere."""
        current = self.store.current_round()
        if current is None:
            return []
        decisions = self.store.effective_decisions(current.id)
        answered = {d.proposal_id for d in decisions if d.answer != "skip"}
        skipped = {d.proposal_id for d in decisions if d.annotator == annotator and d.answer == "skip"} - answered
        return [p for p in self.store.proposals(current.id) if p.id in skipped]

    def undo(self, annotator: str) -> Proposal | None:
        """Cancel the annotator's latest decision of the open round; returns the pair to ask again."""
        return self.store.undo_last(annotator)

    def close_round(self) -> Job:
        """Close the open round (early or when done) and queue retraining + the next batch."""
        current = self.store.current_round()
        if current is None:
            return self.queue_training()
        self.store.close_round(current.id)
        return self._after_close(current)

    def _after_close(self, closed: Round) -> Job:
        """Open the closed round's standby queue (``annotate.standby``), then queue retraining;
        the standby opens first so that a fast worker's new round closes it, not the reverse."""
        if closed.strategy != STANDBY:
            self._open_standby(closed)
        return self.queue_training(closed.id)

    def _open_standby(self, closed: Round) -> Round | None:
        """A round of the standby pairs of ``closed``'s model, minus the pairs answered and the
        entities aligned meanwhile; None when there are none."""
        latest = self.store.latest_checkpoint()
        if latest is None or latest.model_version != closed.model_version or self.store.current_round() is not None:
            return None
        answered = {tuple(p) for p in self.data.pair_ids(self.store.answered_pairs()).tolist()}
        aligned = self.aligned()
        rows = [r for r in load_standby(latest) if (r["source_id"], r["target_id"]) not in answered
                and r["source_id"] not in aligned and r["target_id"] not in aligned]
        if not rows:
            return None
        standby = self.store.start_round(STANDBY, model_version=closed.model_version, budget=len(rows))
        self.store.add_proposals(standby.id, rows)
        return standby

    def queue_training(self, round_id: int | None = None) -> Job:
        pending = [j for j in self.store.jobs(kind=TRAIN) if j.status in ("queued", "running")]
        job = pending[0] if pending else self.store.create_job(TRAIN, {"round_id": round_id})
        self.ensure_worker()
        return job

    def retry(self, job_id: int) -> Job:
        job = self.store.retry_job(job_id)
        self.ensure_worker()
        return job

    def ensure_worker(self) -> bool:
        """Start the project's worker process when a job waits and none runs; True if started."""
        return bool(self.store.jobs(status="queued")) and start_worker(self.folder)

    def progress(self) -> Progress:
        """Where the project stands; a job whose worker died is marked failed here first."""
        detect_dead_worker(self.store)
        current = self.store.current_round()
        rounds = self.store.rounds()
        return Progress(
            round=current,
            rounds_done=sum(1 for r in rounds if not r.is_open),
            counts=None if current is None else self.store.round_counts(current.id),
            labels=len(self._seed_uris) + len(self._accepted_annotations()),
            model_version=self.store.model_version(),
            job=self.store.latest_job(TRAIN),
            worker_alive=worker_running(self.folder),
        )

    def oracle_available(self) -> tuple[bool, str]:
        """Whether the simulated oracle may answer this project, and why not when it may not."""
        if not self.has_gold:
            return False, (f"the dataset {self.data.pair.name!r} has no gold links (no ent_links / ill_ent_ids "
                           "file), so the simulated oracle has nothing to answer from: people label this project")
        return True, ""

    def answer_with_oracle(self, error_rate: float = 0.0, limit: int | None = None) -> int:
        """Simulated-oracle mode: answer the open round's queue from gold links as "oracle".
        Raises ValueError when the project has no gold links (``oracle_available``)."""
        available, reason = self.oracle_available()
        if not available:
            raise ValueError(reason)
        current = self.store.current_round()
        if current is None:
            return 0
        oracle = GoldOracle(self.data.pair.links, error_rate=error_rate, seed=self.settings.seed)
        answered = 0
        while (limit is None or answered < limit) and self.store.get_round(current.id).is_open:
            proposal = self.store.next_pair(current.id, ORACLE)
            if proposal is None:
                break
            accept = oracle.answer(np.array([[proposal.source_id, proposal.target_id]]), proposal.id)[0]
            self.decide(ORACLE, proposal.id, "accept" if accept else "reject")
            answered += 1
        return answered

    def alignment(self, min_probability: float | None = None) -> pd.DataFrame | None:
        """The newest model's full alignment: one row per aligned KG1 entity with columns
        source, target (entity URIs), csls, margin, probability, mutual, provenance (seed,
        human-accepted, pseudo-label, predicted), optionally only the links at or above
        ``min_probability`` (verified links always pass); None before the first model."""
        records = read_version_alignment(self.folder, self.store.model_version())
        return None if records is None else cut(records, min_probability)

    def alignment_file(self, suffix: str, min_probability: float | None = None) -> bytes:
        """The newest alignment as a file's bytes: ".tsv" (``ent_links``: two columns, no
        header), ".csv" or ".jsonl", optionally only links at or above ``min_probability``
        (verified links always pass). ValueError for another suffix or before the first model."""
        suffix = format_of(Path(f"alignment{suffix}"))
        records = self.alignment(min_probability)
        if records is None:
            raise ValueError("no alignment yet: the worker writes one after each model, the first one included")
        return alignment_text(records, suffix).encode("utf-8")

    def quality_curve(self) -> pd.DataFrame | None:
        """The newest model's precision against coverage, one row per probability threshold:
        threshold, links, coverage, estimated_precision, answered, answered_precision,
        wilson_low, wilson_high, and true_precision (held-out gold) only when the project has
        gold. None before the first model or while the calibrator has too few answers (see
        ``quality_note``)."""
        return quality_frame(self.store.latest_checkpoint())

    def quality_note(self) -> str:
        """Why ``quality_curve`` is None ("" when there is a curve)."""
        checkpoint = self.store.latest_checkpoint()
        if checkpoint is None:
            return "No model yet: the quality estimate comes with the first model."
        if quality_frame(checkpoint) is not None:
            return ""
        return checkpoint.metrics.get("quality_note") or (
            f"Model v{checkpoint.model_version} was trained before quality estimates were recorded.")

    def stopping_signal(self) -> StoppingSignal | None:
        """How much the newest model changed the alignment and how good it is estimated to
        be (None before the first model): labelling can stop once links stop changing and
        enough of them are above the threshold."""
        return stopping_signal(self.store.latest_checkpoint())

    def export_links(self, path: Path) -> int:
        """Accepted links (seeds included) as an ``ent_links`` TSV; returns the row count."""
        export = self.store.links_tsv()
        write_atomically(path, export.text)
        return export.rows

    def export_decisions(self, path: Path) -> int:
        """The decision log as CSV or JSONL, by the file's suffix; returns the row count."""
        export = self.store.decisions_jsonl() if Path(path).suffix == ".jsonl" else self.store.decisions_csv()
        write_atomically(path, export.text)
        return export.rows


def create_project(
    name: str,
    dataset: dict,
    settings: ProjectSettings = ProjectSettings(),
    seed_links: Path | None = None,
    gold_seed_ratio: float = 0.0,
    home: Path | None = None,
    start: bool = True,
) -> AnnotationProject:
    """A new project on ``dataset`` ({folder, layout[, images]}), with seed links from a TSV
    and/or drawn from the gold links; queues the first training unless ``start`` is False.

    Seeds are optional: without any, the first model is untrained and proposes its most
    confident mutual pairs to verify (a cold start). ``gold_seed_ratio`` needs a dataset with
    gold links. The dataset and seed file are checked before anything is written, so a bad
    input leaves no half-made project behind.
    """
    if not _NAME.match(name):
        raise ValueError(f"project name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    folder = projects_dir(home) / name
    if folder.exists():
        raise ValueError(f"a project named {name!r} already exists in {folder.parent}")
    dataset = {"folder": str(Path(dataset["folder"]).resolve()), **{k: v for k, v in dataset.items() if k != "folder"}}
    data = project_data(dataset)
    if gold_seed_ratio > 0 and len(data.pair.links) == 0:
        raise ValueError(f"the dataset {data.pair.name!r} has no gold links (no ent_links / ill_ent_ids file) to draw "
                         "seeds from: set the gold seed share to 0 and upload seed links, or start with none")
    held_out = data.held_out(settings.eval_ratio, settings.seed)
    seeds = {Path(seed_links).name: read_seed_tsv(seed_links, data)} if seed_links is not None else {}
    if gold_seed_ratio > 0:
        seeds["gold"] = gold_seeds(data, gold_seed_ratio, held_out, settings.seed)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with ProjectStore.create(folder, name, dataset, settings.to_dict()) as store:
        for origin, links in seeds.items():
            store.import_seed_labels(links, origin=origin)
    project = AnnotationProject(folder)
    if start:
        project.queue_training()
    return project
