"""Background jobs: claim, progress as heartbeat, stale workers, retry."""
from __future__ import annotations

import os

import pytest

from storage import ConflictError, InvalidRequestError, NotFoundError, ProjectStore


def test_job_lifecycle(store: ProjectStore, clock) -> None:
    job = store.create_job("train", {"epochs": 60, "round": 1})
    assert (job.status, job.progress, job.attempts, job.params, job.created_at) == ("queued", 0.0, 0, {"epochs": 60, "round": 1}, clock.now)
    clock.advance(1)
    claimed = store.claim_job()
    assert (claimed.id, claimed.status, claimed.attempts, claimed.pid) == (job.id, "running", 1, os.getpid())
    assert claimed.started_at == claimed.heartbeat_at == clock.now
    assert store.claim_job() is None
    clock.advance(5)
    updated = store.update_job(job.id, progress=0.5, message="epoch 30/60")
    assert (updated.progress, updated.message, updated.heartbeat_at) == (0.5, "epoch 30/60", clock.now)
    clock.advance(5)
    beat = store.update_job(job.id)
    assert (beat.progress, beat.message, beat.heartbeat_at) == (0.5, "epoch 30/60", clock.now)
    done = store.finish_job(job.id, "Hits@1 0.57")
    assert (done.status, done.progress, done.message, done.finished_at) == ("done", 1.0, "Hits@1 0.57", clock.now)
    with pytest.raises(ConflictError, match="cannot update job 1: it is done, not running"):
        store.update_job(job.id, progress=0.9)


def test_claim_takes_the_oldest_of_the_wanted_kinds(store: ProjectStore) -> None:
    train = store.create_job("train")
    select = store.create_job("select")
    assert store.claim_job(kinds=["select"], pid=7).id == select.id
    assert store.claim_job(kinds=["select"]) is None
    assert store.claim_job(kinds=["select", "train"]).id == train.id


def test_failure_and_retry(store: ProjectStore) -> None:
    job = store.create_job("train")
    store.claim_job(pid=11)
    failed = store.fail_job(job.id, "Traceback ...\nRuntimeError: CUDA out of memory")
    assert (failed.status, failed.error) == ("failed", "Traceback ...\nRuntimeError: CUDA out of memory")
    queued = store.retry_job(job.id)
    assert (queued.status, queued.error, queued.pid, queued.attempts) == ("queued", None, None, 1)
    with pytest.raises(ConflictError, match="cannot retry job 1: it is queued, not failed"):
        store.retry_job(job.id)
    assert store.claim_job(pid=12).attempts == 2


def test_a_running_job_failed_by_the_service_stops_its_lost_worker(store: ProjectStore) -> None:
    lost = store.create_job("train")
    busy = store.create_job("select")
    store.claim_job(kinds=["train"], pid=41)
    store.claim_job(kinds=["select"], pid=42)
    store.fail_job(lost.id, "the worker process (pid 41) stopped during this job")
    assert store.get_job(lost.id).status == "failed" and store.get_job(busy.id).status == "running"
    with pytest.raises(ConflictError, match="it is failed, not running"):  # the lost worker learns it
        store.update_job(lost.id, progress=0.9)


def test_listing_jobs(store: ProjectStore) -> None:
    assert store.latest_job() is None
    first = store.create_job("train")
    second = store.create_job("select")
    store.claim_job(kinds=["train"])
    assert [job.id for job in store.jobs()] == [first.id, second.id]
    assert [job.id for job in store.jobs(status="running")] == [first.id]
    assert [job.id for job in store.jobs(kind="select")] == [second.id]
    assert store.latest_job().id == second.id
    assert store.latest_job("train").id == first.id


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda s: s.create_job("train", {"x": object()}), InvalidRequestError, "params cannot be stored as JSON"),
        (lambda s: s.update_job(1, progress=1.5), InvalidRequestError, "progress must be within 0..1"),
        (lambda s: s.get_job(9), NotFoundError, "no job with id 9"),
        (lambda s: s.jobs(status="paused"), InvalidRequestError, "status must be one of queued, running, done, failed"),
        (lambda s: s.fail_job(1, ""), InvalidRequestError, "error must be a non-empty string"),
    ],
)
def test_bad_job_requests(store: ProjectStore, call, error, message) -> None:
    store.create_job("train")
    store.claim_job()
    with pytest.raises(error, match=message):
        call(store)
    assert store.get_job(1).status == "running"
