"""The background worker of a project: retrain from the current weights, propose the next batch
and draw its selection map.

Runs as its own process (``python -m annotate.worker PROJECT_DIR``) so the page never waits
for training and a crash cannot take labels with it: every label is already in SQLite, and
a failed job is marked failed with its traceback, ready to retry. A file lock keeps one
worker per project; the worker exits when no job is left.
"""
from __future__ import annotations

import argparse
import fcntl
import os
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from almea.active import ActiveLearner
from almea.selection import CandidatePool, Selection
from annotate.insights import map_path, selection_map
from annotate.project_data import project_data
from annotate.settings import ProjectSettings
from storage import ConflictError, Job, ProjectStore

LOCK_FILE = "worker.lock"
TRAIN = "train"
STALE_SECONDS = 120.0
"""A running job silent this long belongs to a dead worker (heartbeats come every epoch)."""


class JobLost(Exception):
    """The job was taken away (marked stale) while this worker ran it."""


@contextmanager
def worker_lock(project_dir: Path) -> Iterator[bool]:
    """Yields whether this process is the project's only worker (non-blocking flock)."""
    with open(project_dir / LOCK_FILE, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def worker_running(project_dir: Path) -> bool:
    """Whether some process holds the project's worker lock right now."""
    with worker_lock(project_dir) as mine:
        return not mine


def _progress(store: ProjectStore, job: Job, low: float, high: float, what: str):
    def report(done: int, total: int) -> None:
        try:
            store.update_job(job.id, progress=low + (high - low) * done / total, message=f"{what}: epoch {done}/{total}")
        except ConflictError as err:
            raise JobLost(str(err)) from err

    return report


def _draw_selection_map(
    store: ProjectStore, version: int, learner: ActiveLearner, embeddings: torch.Tensor, pool: CandidatePool,
    labelled: np.ndarray, selection: Selection,
) -> None:
    """Save the pool in 2-D with the round's selection and, for DS3 with a diversity penalty,
    DS3 again on the same pool with D = 1, so the insights page can show what D changed.

    Called once the round is open, so annotators never wait for it (DS3 without D is often
    slower than with it). A failure only costs the map: it is logged to stderr (worker.log).
    """
    try:
        plain = selection.pairs
        if selection.strategy == "ds3" and learner.config.selection.use_diversity:
            rng = np.random.default_rng(version)
            plain = learner.choose(pool, embeddings, len(selection), labelled, rng, use_diversity=False).pairs
        points = embeddings.float().cpu().numpy()
        selection_map(points, pool.pairs, pool.confidence, labelled, selection.pairs, plain).save(
            map_path(store.project_dir, version))
    except Exception:                                              # noqa: BLE001 - the round stands without its map
        traceback.print_exc()


def train_and_propose(store: ProjectStore, job: Job) -> None:
    """Train (warm from the latest checkpoint) on every accepted pair, rejected pairs as hard
    negatives; save and score the new model; open the next round with its proposals, then
    draw the round's selection map."""
    project = store.project()
    settings = ProjectSettings.from_dict(project.config)
    data = project_data(project.dataset)
    held_out = data.held_out(settings.eval_ratio, settings.seed, data.pair_ids(store.seed_labels()))
    store.update_job(job.id, progress=0.02, message="loading the model")
    learner = ActiveLearner(data.pair, settings.learner, progress=False)
    latest = store.latest_checkpoint()
    if latest is not None:
        learner.load(latest.path)
    labelled = data.pair_ids(store.accepted_pairs())
    rejected = data.pair_ids(store.rejected_pairs())
    if len(labelled) == 0:
        raise ValueError("no accepted or seed labels to train on: import seed links first")
    epochs = settings.round_epochs if latest is not None else settings.warm_epochs
    learner.train(labelled, epochs, rejected, on_epoch=_progress(store, job, 0.05, 0.85, f"training on {len(labelled)} labels"),
                  refine=latest is not None)
    metrics = {"labelled": len(labelled), "rejected": len(rejected), "epochs": learner.trainer.epoch,
               "modality_weights": learner.modality_weights()}
    if len(held_out):
        store.update_job(job.id, progress=0.87, message="scoring on held-out gold links")
        metrics.update(learner.evaluate(held_out))
    version = store.model_version() + 1
    path = store.checkpoints_dir / f"model-v{version}.pt"
    learner.save(path)
    checkpoint = store.register_checkpoint(path, round_id=job.params.get("round_id"), job_id=job.id, metrics=metrics)
    store.update_job(job.id, progress=0.9, message="selecting the next batch")
    answered = data.pair_ids(store.answered_pairs())
    rng = np.random.default_rng([settings.seed, checkpoint.model_version])
    embeddings = learner.embeddings()
    pool = learner.pool(embeddings, labelled, answered, held_out)
    selection = learner.choose(pool, embeddings, settings.batch_size, labelled, rng)
    evidence = learner.evidence(selection.pairs)
    entities = data.pair.entities
    proposals = [
        {
            "source_id": r["source"], "target_id": r["target"],
            "source_uri": entities[r["source"]], "target_uri": entities[r["target"]],
            "confidence": r["confidence"], "rank": r["rank"],
            "diversity_penalty": r["diversity_penalty"], "row_weight": r["row_weight"],
            "evidence": {**e, "strategy": selection.strategy, "pool_seconds": selection.seconds},
        }
        for r, e in zip(selection.to_records(), evidence)
    ]
    current = store.current_round()
    if current is not None:
        store.close_round(current.id)
    new_round = store.start_round(selection.strategy, model_version=checkpoint.model_version, budget=settings.batch_size)
    store.add_proposals(new_round.id, proposals)
    store.finish_job(job.id, message=f"round {new_round.id}: {len(proposals)} pairs proposed by model v{checkpoint.model_version}")
    _draw_selection_map(store, checkpoint.model_version, learner, embeddings, pool, labelled, selection)


HANDLERS = {TRAIN: train_and_propose}


def run_jobs(project_dir: Path) -> int:
    """Claim and run queued jobs until none is left; returns how many ran."""
    ran = 0
    with ProjectStore.open(project_dir) as store:
        store.fail_stale_jobs(STALE_SECONDS)
        while (job := store.claim_job(kinds=tuple(HANDLERS), pid=os.getpid())) is not None:
            ran += 1
            try:
                HANDLERS[job.kind](store, job)
            except JobLost:
                continue
            except Exception:                                      # noqa: BLE001 - the job records why
                store.fail_job(job.id, traceback.format_exc())
    return ran


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m annotate.worker", description=__doc__)
    parser.add_argument("project_dir", type=Path)
    args = parser.parse_args(argv)
    with worker_lock(args.project_dir) as mine:
        if not mine:
            print(f"a worker already runs for {args.project_dir}", file=sys.stderr)
            return 0
        run_jobs(args.project_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
