"""The annotation service: queue, decisions, undo, rounds and retraining, oracle, exports."""
from __future__ import annotations

import csv
import fcntl
import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from almea.data.errors import DataFormatError
from almea.training.trainer import Trainer
from annotate.jobs import LOCK_FILE, start_worker, worker_lock, worker_running
from annotate.project_data import project_data
from annotate.service import AnnotationProject, create_project, list_projects
from annotate.worker import run_jobs
from tests.annotate.conftest import TINY
from tests.annotate.stalling_worker import STOPPED_AT

ROOT = Path(__file__).resolve().parents[2]
TRAINER_EPOCH = Trainer._epoch
RESUMABLE = replace(TINY, round_epochs=4, checkpoint_every=2)
"""Rounds long enough to leave an epoch checkpoint halfway."""


@pytest.fixture
def resumable(home: Path) -> AnnotationProject:
    """A trained project (first round open) whose rounds train 4 epochs, checkpointed every 2."""
    folder = next(home.glob("demo-*"))
    project = create_project("resumable", {"folder": str(folder), "layout": "images"}, RESUMABLE,
                             gold_seed_ratio=0.3, home=home, start=False)
    project.store.create_job("train", {"round_id": None})
    run_jobs(project.folder)
    yield project
    project.close()


def test_first_round_is_proposed_with_evidence(project: AnnotationProject) -> None:
    progress = project.progress()
    assert progress.round.id == 1 and progress.model_version == 1
    assert progress.counts.total == TINY.batch_size and progress.counts.remaining == TINY.batch_size
    assert progress.job.status == "done"
    held_out = {tuple(p) for p in project.held_out().tolist()}
    test_entities = {e for p in held_out for e in p}
    split = project.data.evaluation_split(project.settings.eval_ratio, project.settings.seed)
    held_sources = set(split.blocked[:, 0].tolist())
    assert len(held_sources) == round(project.settings.eval_ratio * project.data.pair.n1)   # KG1 entities, linked or not
    assert len(split.unlinked) and set(split.unlinked.tolist()) <= held_sources
    for proposal in project.store.proposals(1):
        assert proposal.source_id not in held_sources
        assert proposal.source_id not in test_entities and proposal.target_id not in test_entities
        assert len(proposal.evidence["alternatives"]) == 5
        assert set(proposal.evidence["modalities"]) >= {"graph", "visual"}
    checkpoint = project.store.latest_checkpoint()
    assert checkpoint.path.is_file() and 0 <= checkpoint.metrics["l2r"]["hits@1"] <= 1


def test_two_annotators_never_get_the_same_pair(project: AnnotationProject) -> None:
    a, b = project.next_pair("ann"), project.next_pair("bob")
    assert a.proposal.id != b.proposal.id
    assert project.next_pair("ann").proposal.id == a.proposal.id          # a reload shows the same pair
    assert a.view.source.entity == a.proposal.source_id and a.view.target.entity == a.proposal.target_id


def test_decide_undo_and_counts(project: AnnotationProject) -> None:
    first = project.next_pair("ann").proposal
    project.decide("ann", first.id, "accept")
    second = project.next_pair("ann").proposal
    project.decide("ann", second.id, "reject")
    counts = project.progress().counts
    assert (counts.answered, counts.accepted, counts.rejected) == (2, 1, 1)
    assert project.undo("ann").id == second.id
    assert project.next_pair("ann").proposal.id == second.id
    assert project.progress().counts.answered == 1
    answers = [d.answer for d in project.store.decision_log()]
    assert answers == ["accept", "reject", "undo"]


def test_a_finished_batch_queues_retraining_and_the_next_round(project: AnnotationProject, monkeypatch) -> None:
    monkeypatch.setattr(AnnotationProject, "ensure_worker", lambda self: False)
    labels = project.progress().labels
    answered = project.answer_with_oracle()
    assert answered == TINY.batch_size
    assert project.store.get_round(1).status == "closed"
    standby = project.store.current_round()
    assert (standby.id, standby.strategy, standby.model_version) == (2, "standby", 1)  # no idle wait (test_standby)
    job = project.progress().job
    assert job.status == "queued" and job.params == {"round_id": 1}
    run_jobs(project.folder)
    progress = project.progress()
    assert progress.round.id == 3 and progress.model_version == 2 and progress.job.status == "done"
    assert project.store.get_round(2).status == "closed"
    accepted = progress.labels - labels
    gold = {tuple(p) for p in project.data.pair.links.tolist()}
    assert accepted == sum((p.source_id, p.target_id) in gold for p in project.store.proposals(1))
    old = {(p.source_id, p.target_id) for p in project.store.proposals(1)}
    assert not old & {(p.source_id, p.target_id) for p in project.store.proposals(3)}
    assert project.store.latest_checkpoint().metrics["epochs"] == TINY.warm_epochs + TINY.round_epochs
    rates = [torch.load(c.path, weights_only=True)["optimizer"]["param_groups"][0]["lr"]
             for c in project.store.checkpoints()]
    assert rates == [TINY.learner.train.lr, TINY.learner.train.round_lr]      # the base, then a round


def test_closing_early_keeps_answers_and_a_failed_job_can_be_retried(project: AnnotationProject, monkeypatch) -> None:
    monkeypatch.setattr(AnnotationProject, "ensure_worker", lambda self: False)
    first = project.next_pair("ann").proposal
    project.decide("ann", first.id, "accept")
    job = project.close_round()
    assert project.store.get_round(1).status == "closed" and job.status == "queued"
    assert project.close_round().id == job.id                             # never two pending jobs
    checkpoint = project.store.latest_checkpoint().path
    checkpoint.write_bytes(b"not a checkpoint")
    run_jobs(project.folder)
    failed = project.store.get_job(job.id)
    assert failed.status == "failed" and "Traceback" in failed.error
    assert [d.answer for d in project.store.decision_log()] == ["accept"]
    project.store.register_checkpoint(_retrain_base(project), metrics={})
    project.retry(job.id)
    run_jobs(project.folder)
    assert project.store.get_job(job.id).status == "done" and project.store.current_round().id == 3   # 2: standby


def _retrain_base(project: AnnotationProject) -> Path:
    """A valid checkpoint in place of the corrupted one (a fresh model saved)."""
    from almea.active import ActiveLearner

    path = project.store.checkpoints_dir / "fresh.pt"
    ActiveLearner(project.data.pair, project.settings.learner, progress=False).save(path)
    return path


@pytest.mark.timeout(300)
def test_a_killed_worker_leaves_labels_and_its_job_failed(resumable: AnnotationProject, monkeypatch) -> None:
    """The worker is killed at a known point (just after its first epoch checkpoint, signalled
    through a pipe), and the service notices by itself: no poll interval, no other worker."""
    project = resumable
    monkeypatch.setattr(AnnotationProject, "ensure_worker", lambda self: False)
    first = project.next_pair("ann").proposal
    project.decide("ann", first.id, "accept")
    job = project.close_round()
    read, write = os.pipe()
    with open(project.folder / "worker.log", "ab") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.annotate.stalling_worker", str(project.folder), str(write)],
            stdout=log, stderr=log, pass_fds=(write,), cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    os.close(write)
    stopped = os.read(read, 1)                    # blocks until the worker reaches that point (or exits)
    os.close(read)
    assert stopped == STOPPED_AT, f"the worker exited first: {(project.folder / 'worker.log').read_text()[-2000:]}"
    progress = project.progress()
    assert progress.worker_alive and progress.job.status == "running"
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    progress = project.progress()
    assert progress.job.id == job.id and progress.job.status == "failed" and not progress.worker_alive
    assert f"pid {worker.pid}" in progress.job.error and "stopped during this job" in progress.job.error
    assert [(d.answer, d.proposal_id) for d in project.store.decision_log()] == [("accept", first.id)]
    assert len(list(project.store.checkpoints_dir.glob(f"job-{job.id}-*.pt"))) == 1


def _count_epochs(monkeypatch, crash_after: int | None = None) -> list[int]:
    """Trainer epochs run from now on (the trainer's epoch before each); with ``crash_after``,
    the process "runs out of memory" once that many have run."""
    ran: list[int] = []

    def counted(self: Trainer, *args):
        if len(ran) == crash_after:
            raise MemoryError("out of memory")
        ran.append(self.epoch)
        return TRAINER_EPOCH(self, *args)

    monkeypatch.setattr(Trainer, "_epoch", counted)
    return ran


def test_retry_restarts_the_worker_and_resumes_from_the_epoch_checkpoint(resumable: AnnotationProject,
                                                                          monkeypatch) -> None:
    project = resumable
    starts: list[bool] = []
    monkeypatch.setattr(AnnotationProject, "ensure_worker", lambda self: starts.append(True) or True)
    project.decide("ann", project.next_pair("ann").proposal.id, "accept")
    job = project.close_round()
    base = project.store.latest_checkpoint().metrics["epochs"]
    _count_epochs(monkeypatch, crash_after=3)
    run_jobs(project.folder)
    assert project.store.get_job(job.id).status == "failed" and "out of memory" in project.store.get_job(job.id).error
    assert project.retry(job.id).status == "queued" and len(starts) == 2           # close, then retry
    ran = _count_epochs(monkeypatch)
    run_jobs(project.folder)
    assert project.store.get_job(job.id).status == "done", project.store.get_job(job.id).error
    assert ran == [base + 2, base + 3]                                  # epochs 1-2 came from the checkpoint
    assert project.store.latest_checkpoint().metrics["epochs"] == base + RESUMABLE.round_epochs
    assert not list(project.store.checkpoints_dir.glob("job-*.pt"))


def test_an_unusable_epoch_checkpoint_means_training_the_job_again(resumable: AnnotationProject, monkeypatch,
                                                                    capsys) -> None:
    project = resumable
    monkeypatch.setattr(AnnotationProject, "ensure_worker", lambda self: False)
    job = project.close_round()
    base = project.store.latest_checkpoint()
    (project.store.checkpoints_dir / f"job-{job.id}-from-v{base.model_version}.pt").write_bytes(b"torn")
    ran = _count_epochs(monkeypatch)
    run_jobs(project.folder)
    assert project.store.get_job(job.id).status == "done" and len(ran) == RESUMABLE.round_epochs
    assert "Traceback" in capsys.readouterr().err


def test_a_started_worker_counts_as_running_from_its_first_instant(project: AnnotationProject) -> None:
    assert start_worker(project.folder)              # nothing queued: it starts, finds no job, exits
    assert worker_running(project.folder) and not start_worker(project.folder)
    with open(project.folder / LOCK_FILE, "ab") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)              # returns once the worker process has exited
    assert not worker_running(project.folder)


def test_a_round_whose_pairs_were_all_skipped_closes_and_retrains(project: AnnotationProject, monkeypatch) -> None:
    monkeypatch.setattr(AnnotationProject, "ensure_worker", lambda self: False)
    while (card := project.next_pair("ann")) is not None:
        project.decide("ann", card.proposal.id, "skip")
    assert project.store.get_round(1).status == "closed" and project.store.get_round(2).strategy == "standby"
    assert project.store.get_round(2).status == "closed" and project.store.current_round() is None
    job = project.progress().job
    assert job.status == "queued" and job.params == {"round_id": 1}       # the standby's close adds no job
    skipped = len(project.store.proposals(1)) + len(project.store.proposals(2))
    assert [d.answer for d in project.store.decision_log()] == ["skip"] * skipped


def test_one_worker_per_project(project: AnnotationProject) -> None:
    with worker_lock(project.folder) as mine:
        assert mine and worker_running(project.folder)
        with worker_lock(project.folder) as second:
            assert not second
    assert (project.folder / LOCK_FILE).exists() and not worker_running(project.folder)


def test_exports(project: AnnotationProject, tmp_path: Path) -> None:
    proposal = project.next_pair("ann").proposal
    project.decide("ann", proposal.id, "accept")
    links = project.export_links(tmp_path / "links.tsv")
    rows = [line.split("\t") for line in (tmp_path / "links.tsv").read_text().splitlines()]
    assert len(rows) == links == project.progress().labels
    assert [proposal.source_uri, proposal.target_uri] in rows
    project.export_decisions(tmp_path / "log.csv")
    project.export_decisions(tmp_path / "log.jsonl")
    with open(tmp_path / "log.csv", newline="") as handle:
        assert [r["answer"] for r in csv.DictReader(handle)] == ["accept"]
    assert json.loads((tmp_path / "log.jsonl").read_text().splitlines()[0])["annotator"] == "ann"


def test_create_project_checks_inputs_first(home: Path, tmp_path: Path) -> None:
    folder = next(home.glob("demo-*"))
    bad = tmp_path / "seeds.tsv"
    bad.write_text("not-an-entity\tnor-this\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"seeds.tsv:1: KG1 entity 'not-an-entity'"):
        create_project("new", {"folder": str(folder), "layout": "images"}, TINY, seed_links=bad, home=home, start=False)
    assert "new" not in list_projects(home)
    with pytest.raises(ValueError, match="already exists"):
        create_project("tiny", {"folder": str(folder), "layout": "images"}, TINY, home=home, start=False)
    with pytest.raises(ValueError, match="project name"):
        create_project("../evil", {"folder": str(folder), "layout": "images"}, TINY, home=home, start=False)


def test_seed_tsv_import(home: Path, tmp_path: Path) -> None:
    folder = next(home.glob("demo-*"))
    data = project_data({"folder": str(folder.resolve()), "layout": "images"})
    gold_test = data.held_out(TINY.eval_ratio, TINY.seed)
    entities = data.pair.entities
    lines = [f"{entities[s]}\t{entities[t]}" for s, t in gold_test[:5].tolist()]    # seeds that are held-out links
    seeds = tmp_path / "seeds.tsv"
    seeds.write_text("\n".join(lines) + "\n", encoding="utf-8")
    project = create_project("seeded", {"folder": str(folder), "layout": "images"}, TINY, seed_links=seeds,
                             home=home, start=False)
    assert sorted((p.source_uri, p.target_uri) for p in project.store.seed_labels()) == sorted(
        tuple(line.split("\t")) for line in lines
    )
    assert {p.origin for p in project.store.seed_labels()} == {"seeds.tsv"}
    assert list_projects(home) == ["tiny", "seeded"]
    assert project.held_out().tolist() == gold_test[5:].tolist()     # never scored on what it trains on
