"""Crash safety and concurrent writers in separate processes, on each database."""
from __future__ import annotations

import multiprocessing
import multiprocessing.pool
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace

import pytest

from storage import ProjectStore, StoreBusyError, base
from storage.backends import interface
from tests.storage import workers
from tests.storage.conftest import open_round
from tests.storage.databases import Database

ROOT = Path(__file__).resolve().parents[2]


def integrity(database: Database, project_dir: Path) -> tuple[str, list]:
    """SQLite's own checks of the file; PostgreSQL checks foreign keys on every write and
    keeps no file of ours to damage."""
    if database.name != "sqlite":
        return "ok", []
    with database.raw(project_dir) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0], conn.execute("PRAGMA foreign_key_check").fetchall()


def no_wait(seconds: float) -> None:
    raise AssertionError(f"the store backed off for {seconds:.2f} s: someone still holds the write lock")


@pytest.fixture(scope="module")
def pool() -> Iterator[multiprocessing.pool.Pool]:
    # spawn, not fork: a forked child must not inherit the parent's database connections.
    with multiprocessing.get_context("spawn").Pool(4) as processes:
        yield processes


@pytest.mark.timeout(120)
def test_killed_annotator_loses_nothing_it_reported(store: ProjectStore, project_dir: Path, database: Database,
                                                    monkeypatch) -> None:
    """SIGKILL at arbitrary points; every decision printed as committed is in the database,
    and the killed process holds no lock: the next write goes through without backing off."""
    round_ = open_round(store, 1000)
    reported: list[int] = []
    for kill_after in (10, 25, 40):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.storage.workers", str(project_dir), str(round_.id), "alice"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True,
        )
        for _ in range(kill_after):
            line = child.stdout.readline()
            assert line, "the worker stopped before it was killed"
            reported.append(int(line))
        child.send_signal(signal.SIGKILL)
        child.wait()
        reported += [int(line) for line in child.stdout.read().split()]
        child.stdout.close()
    stored = {d.id for d in store.decision_log()}
    assert set(reported) <= stored
    assert len(stored) - len(reported) <= 3  # at most one committed-but-unprinted per kill
    assert store.round_counts(round_.id).remaining > 0, "the worker finished before it was killed"
    assert integrity(database, project_dir) == ("ok", [])
    monkeypatch.setattr(base, "time", SimpleNamespace(sleep=no_wait, time=time.time))
    assert store.create_job("after-the-kills").status == "queued"


@pytest.mark.timeout(60)
def test_a_client_killed_inside_a_write_leaves_nothing_behind(store: ProjectStore, project_dir: Path,
                                                             monkeypatch) -> None:
    """Its transaction is rolled back and its write lock freed, on the file and on the server."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.storage.workers", "--hold-lock", str(project_dir)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout.readline() == "holding\n"
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    monkeypatch.setattr(base, "time", SimpleNamespace(sleep=no_wait, time=time.time))
    store.create_job("train")
    assert [job.kind for job in store.jobs()] == ["train"]


@pytest.mark.timeout(120)
def test_concurrent_annotators_answer_each_pair_once(store: ProjectStore, project_dir: Path, database: Database,
                                                     pool) -> None:
    round_ = open_round(store, 200)
    names = [f"p{i}" for i in range(4)]
    given = pool.starmap(workers.answer_pairs, [(str(project_dir), database.url, round_.id, name, 50) for name in names])
    assert [len(ids) for ids in given] == [50] * 4
    log = store.decision_log()
    assert len(log) == 200
    assert sorted(d.proposal_id for d in log) == [p.id for p in store.proposals(round_.id)]
    for name, ids in zip(names, given):
        assert sorted(d.proposal_id for d in log if d.annotator == name) == sorted(ids)
    assert store.next_pair(round_.id, "late") is None
    assert integrity(database, project_dir) == ("ok", [])


@pytest.mark.timeout(120)
def test_concurrent_leases_are_exclusive(store: ProjectStore, project_dir: Path, database: Database, pool) -> None:
    round_ = open_round(store, 200)
    leased = pool.starmap(workers.lease_pairs, [(str(project_dir), database.url, round_.id, f"p{i}", 50) for i in range(4)])
    every = [pid for ids in leased for pid in ids]
    assert sorted(every) == [p.id for p in store.proposals(round_.id)]
    assert store.next_pair(round_.id, "late") is None


@pytest.mark.timeout(120)
def test_each_job_is_claimed_by_one_worker(store: ProjectStore, project_dir: Path, database: Database, pool) -> None:
    created = [store.create_job("train", {"n": n}).id for n in range(40)]
    ran = pool.starmap(workers.run_jobs, [(str(project_dir), database.url)] * 4)
    assert sorted(job for jobs in ran for job in jobs) == created
    assert {(job.status, job.attempts) for job in store.jobs()} == {("done", 1)}


def test_writer_waits_for_a_lock_held_briefly(project_dir: Path, store: ProjectStore, monkeypatch) -> None:
    """The other writer commits during the waiting writer's first back-off (an event, not a
    timer racing the back-off), so the second attempt must find the lock free."""
    monkeypatch.setattr(interface, "BUSY_TIMEOUT_MS", 20)
    waits: list[float] = []
    with ProjectStore.open(project_dir) as waiting, ProjectStore.open(project_dir) as other, ExitStack() as held:

        def back_off(seconds: float) -> None:
            waits.append(seconds)
            held.close()  # the other writer commits

        held.enter_context(other._write())
        monkeypatch.setattr(base, "time", SimpleNamespace(sleep=back_off, time=time.time))
        assert waiting.start_round("ds3").id == 1
    assert len(waits) == 1


def test_writer_gives_up_on_a_lock_held_for_long(project_dir: Path, store: ProjectStore, monkeypatch) -> None:
    monkeypatch.setattr(interface, "BUSY_TIMEOUT_MS", 20)
    with ProjectStore.open(project_dir) as waiting, ProjectStore.open(project_dir) as other:
        with other._write():
            with pytest.raises(StoreBusyError, match="another process held the database lock through 3 waits of 20 ms"):
                waiting.start_round("ds3")
        assert waiting.rounds() == []
