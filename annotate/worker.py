"""The background worker of a project: retrain from the current weights (with verified
pseudo-labels under self-training), write the new model's full alignment, propose the next
batch and draw its selection map.

Runs as its own process (``python -m annotate.worker PROJECT_DIR``) so the page never waits
for training and a crash cannot take labels with it: every label is already in SQLite, and
a failed job is marked failed with its traceback, ready to retry. The worker lock
(``annotate.jobs``) keeps one worker per project; the worker exits when no job is left.
Training saves an epoch checkpoint every ``checkpoint_every`` epochs, so a retried job
resumes where the killed one stopped instead of at its first epoch.
"""
from __future__ import annotations

import argparse
import fcntl
import os
import sys
import traceback
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from almea.active import ActiveLearner
from almea.active.self_training import PseudoLabels, answer_calibrator, trainable_negatives, without_entities
from almea.data.kg_pair import KGPair
from almea.training.trainer import EpochCheckpoint
from annotate.alignment_output import (
    AlignmentInputs,
    deliver_alignment,
    load_carried,
    load_pseudo_labels,
    save_carried,
    save_pseudo_labels,
)
from annotate.answers import answers_frame
from annotate.entity_weights import record_entity_weights
from annotate.jobs import TRAIN, fail_abandoned_jobs, worker_lock
from annotate.project_data import project_data
from annotate.proposals import Batch, BatchInputs, propose
from annotate.model_files import prune_model_files
from annotate.selection_map import map_path, selection_map
from annotate.settings import ProjectSettings
from annotate.standby import save_standby
from storage import Checkpoint, ConflictError, Job, ProjectStore
from storage.labels import ANNOTATION


class JobLost(Exception):
    """The job was taken away (marked failed) while this worker ran it."""


def _progress(store: ProjectStore, job: Job, low: float, high: float, what: str, done_before: int, total: int):
    """``on_epoch`` of a fit that continues a job after ``done_before`` of its ``total`` epochs."""
    def report(done: int, _: int) -> None:
        done += done_before
        try:
            store.update_job(job.id, progress=low + (high - low) * done / total, message=f"{what}: epoch {done}/{total}")
        except ConflictError as err:
            raise JobLost(str(err)) from err

    return report


def epoch_checkpoint_path(store: ProjectStore, job: Job, base: Checkpoint | None) -> Path:
    """The job's own mid-training checkpoint, named after the model it started from."""
    return store.checkpoints_dir / f"job-{job.id}-from-v{0 if base is None else base.model_version}.pt"


def _base_learner(pair: KGPair, settings: ProjectSettings, base: Checkpoint | None) -> ActiveLearner:
    """A learner at the model the job starts from (fresh weights before the first model)."""
    learner = ActiveLearner(pair, settings.learner, progress=False)
    if base is not None:
        learner.load(base.path)
    return learner


def _carried_pseudo_labels(store: ProjectStore, latest: Checkpoint | None) -> PseudoLabels | None:
    """The pseudo-labels ``latest`` chose when it proposed (same model, so no second pass
    over every pair), less those sharing an entity with a pair answered in its rounds, whose
    labels changed since: the simulated rounds' rule (``Simulation._pseudo``, where every
    proposed pair is answered). None when it kept none."""
    carried = load_carried(latest)
    if carried is None:
        return None
    rounds = [r.id for r in store.rounds() if r.model_version == latest.model_version]
    answered = {d.proposal_id for r in rounds for d in store.effective_decisions(r) if d.answer != "skip"}
    pairs = [(p.source_id, p.target_id) for r in rounds for p in store.proposals(r) if p.id in answered]
    return without_entities(carried, np.array(pairs, np.int64).reshape(-1, 2))


def _resume(learner: ActiveLearner, path: Path, epochs: int) -> int | None:
    """Epochs of this job that an earlier attempt trained and saved in ``path``, now loaded
    into ``learner`` (0 without such a file); None when the file is unusable, which may have
    left the learner half loaded."""
    if not path.is_file():
        return 0
    start = learner.trainer.epoch
    try:
        learner.load(path)
    except Exception:                                              # noqa: BLE001 - a cache: train again instead
        traceback.print_exc()
        return None
    done = learner.trainer.epoch - start
    if not 0 <= done <= epochs:
        print(f"{path.name}: epoch {learner.trainer.epoch} is not a point of this job; training it from its start",
              file=sys.stderr)
        return None
    return done


def _draw_selection_map(
    store: ProjectStore, version: int, learner: ActiveLearner, embeddings: torch.Tensor, batch: Batch,
    inputs: BatchInputs,
) -> None:
    """Save the pool in 2-D with the round's selection and, for DS3 with a diversity penalty,
    DS3 again on the same pool with D = 1, so the insights page can show what D changed.

    Called once the round is open, so annotators never wait for it (DS3 without D is often
    slower than with it). A failure only costs the map: it is logged to stderr (worker.log).
    Under self-training the batch came from an uncapped pool; the map shows the capped one.
    """
    try:
        selection, labelled = batch.selection, inputs.labelled
        pool = batch.pool or learner.pool(embeddings, labelled, inputs.answered, inputs.blocked)
        plain = selection.pairs
        if selection.strategy == "ds3" and learner.config.selection.use_diversity:
            rng = np.random.default_rng(version)
            plain = learner.choose(pool, embeddings, len(selection), labelled, rng, use_diversity=False).pairs
        points = embeddings.float().cpu().numpy()
        selection_map(points, pool.pairs, pool.confidence, labelled, selection.pairs, plain).save(
            map_path(store.project_dir, version))
    except Exception:                                              # noqa: BLE001 - the round stands without its map
        traceback.print_exc()


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def train_and_propose(store: ProjectStore, job: Job) -> None:
    """Train (warm from the latest checkpoint) on every accepted pair, rejected pairs as hard
    negatives and, under self-training, the latest model's calibrated pseudo-labels; save and
    score the new model and write its full alignment; open the next round with its
    proposals, then draw the round's selection map.

    A model that was never trained trains the base schedule (``warm_epochs``, base learning
    rate, no pseudo-labels); a project with nothing to train on yet (no seeds, no accepted
    answer: a cold start) trains 0 epochs and proposes the model's most confident pairs.
    """
    project = store.project()
    settings = ProjectSettings.from_dict(project.config)
    self_training = settings.learner.self_training
    data = project_data(project.dataset)
    accepted = store.accepted_pairs()
    labelled = data.pair_ids(accepted)
    seeds = labelled[np.array([p.origin != ANNOTATION for p in accepted], dtype=bool).reshape(-1)]
    rejected = data.pair_ids(store.rejected_pairs())
    held_out = data.held_out(settings.eval_ratio, settings.seed, labelled)
    blocked = data.blocked(settings.eval_ratio, settings.seed, labelled)
    answers = answers_frame(store)
    calibrator = answer_calibrator(answers, self_training)
    store.update_job(job.id, progress=0.02, message="loading the model")
    latest = store.latest_checkpoint()
    learner = _base_learner(data.pair, settings, latest)
    refine = learner.trainer.epoch > 0
    trained = np.zeros((0, 2), np.int64)
    pseudo_threshold = None
    if self_training.enabled and refine:
        store.update_job(job.id, progress=0.03, message="choosing pseudo-labels")
        pseudo = _carried_pseudo_labels(store, latest)
        if pseudo is None:
            table = learner.score_table(learner.embeddings(), labelled, rejected)
            pseudo = learner.pseudo_labels(table, calibrator, blocked, trained=load_pseudo_labels(latest))
        trained, pseudo_threshold = pseudo.pairs, _finite(pseudo.threshold)
    epochs = (settings.round_epochs if refine else settings.warm_epochs) if len(labelled) + len(trained) else 0
    partial = epoch_checkpoint_path(store, job, latest)
    done = _resume(learner, partial, epochs)
    if done is None:
        learner, done = _base_learner(data.pair, settings, latest), 0
    if epochs - done > 0:
        if settings.checkpoint_every:
            learner.trainer.epoch_checkpoint = EpochCheckpoint(partial, settings.checkpoint_every)
        what = f"training on {len(labelled)} labels" + (f" and {len(trained)} pseudo-labels" if len(trained) else "")
        report = _progress(store, job, 0.05, 0.85, what, done, epochs)
        report(0, epochs)                                    # the stage starts now, not at its first epoch's end
        learner.train(labelled, epochs - done, trainable_negatives(rejected, blocked), on_epoch=report, refine=refine,
                      pseudo=trained)
        learner.trainer.epoch_checkpoint = None
    metrics = {"labelled": len(labelled), "rejected": len(rejected), "epochs": learner.trainer.epoch,
               "pseudo_labels": len(trained), "pseudo_threshold": pseudo_threshold}
    if len(held_out):
        store.update_job(job.id, progress=0.86, message="scoring on held-out gold links")
        metrics.update(learner.evaluate(held_out))
    version = store.model_version() + 1
    path = store.checkpoints_dir / f"model-v{version}.pt"
    learner.save(path)
    metrics.update(record_entity_weights(path, learner))
    save_pseudo_labels(path, trained)
    store.update_job(job.id, progress=0.88, message="writing the full alignment")
    embeddings = learner.embeddings()
    table = learner.score_table(embeddings, labelled, rejected)
    alignment = AlignmentInputs(table, seeds, labelled[len(seeds):], calibrator, answers, trained, held_out,
                                self_training.target_precision, self_training.min_answers)
    metrics.update(deliver_alignment(store.project_dir, version, alignment, data.pair.entities))
    checkpoint = store.register_checkpoint(path, round_id=job.params.get("round_id"), job_id=job.id, metrics=metrics)
    partial.unlink(missing_ok=True)
    prune_model_files(store.checkpoints())
    store.update_job(job.id, progress=0.9, message="selecting the next batch")
    inputs = BatchInputs(table, embeddings, calibrator, labelled, data.pair_ids(store.answered_pairs()), blocked,
                         trained)
    rng = np.random.default_rng([settings.seed, checkpoint.model_version])
    cold = learner.trainer.epoch == 0
    batch = propose(learner, inputs, settings.batch_size, rng, data.pair.entities, cold=cold)
    standby = []
    if settings.standby_pairs:
        store.update_job(job.id, progress=0.94, message="selecting the standby pairs")
        after_batch = replace(inputs, answered=np.concatenate([inputs.answered, batch.selection.pairs]))
        standby = propose(learner, after_batch, settings.standby_pairs, rng, data.pair.entities, cold=cold,
                          pseudo=batch.pseudo).proposals
    save_standby(checkpoint.path, standby)
    save_carried(checkpoint.path, batch.pseudo)
    current = store.current_round()
    if current is not None:
        store.close_round(current.id)
    new_round = store.start_round(batch.selection.strategy, model_version=checkpoint.model_version,
                                  budget=settings.batch_size)
    store.add_proposals(new_round.id, batch.proposals)
    store.finish_job(job.id, message=f"round {new_round.id}: {len(batch.proposals)} pairs proposed by model "
                                     f"v{checkpoint.model_version}" + (" (cold start: untrained)" if cold else ""))
    _draw_selection_map(store, checkpoint.model_version, learner, embeddings, batch, inputs)


HANDLERS = {TRAIN: train_and_propose}


def _run_queue(project_dir: Path) -> int:
    """Claim and run queued jobs until none is left; the caller holds the worker lock."""
    ran = 0
    with ProjectStore.open(project_dir) as store:
        fail_abandoned_jobs(store)
        while (job := store.claim_job(kinds=tuple(HANDLERS), pid=os.getpid())) is not None:
            ran += 1
            try:
                HANDLERS[job.kind](store, job)
            except JobLost:
                continue
            except Exception:                                      # noqa: BLE001 - the job records why
                store.fail_job(job.id, traceback.format_exc())
    return ran


def run_jobs(project_dir: Path) -> int:
    """Run the project's queued jobs here as its worker; returns how many ran (0, running
    nothing, when another worker holds the lock)."""
    with worker_lock(project_dir) as mine:
        return _run_queue(Path(project_dir)) if mine else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m annotate.worker", description=__doc__)
    parser.add_argument("project_dir", type=Path)
    parser.add_argument("--lock-fd", type=int, help="descriptor of the worker lock, taken by the launcher")
    args = parser.parse_args(argv)
    if args.lock_fd is not None:
        fcntl.flock(args.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # ours already: fails only if it is not
        _run_queue(args.project_dir)
        return 0
    with worker_lock(args.project_dir) as mine:
        if not mine:
            print(f"a worker already runs for {args.project_dir}", file=sys.stderr)
            return 0
        _run_queue(args.project_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
