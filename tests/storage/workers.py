"""Work done in other processes by the durability and concurrency tests.

Run as ``python -m tests.storage.workers PROJECT_DIR ROUND_ID ANNOTATOR`` it answers pairs
until the queue is empty, printing each decision id once ``decide`` has returned; with
``--hold-lock PROJECT_DIR`` it queues a job inside a write transaction it never ends. The pool
functions take the test's ``ALMEA_DATABASE_URL`` (None on SQLite): a pool's processes
outlive the test that started them.
"""
from __future__ import annotations

import os
import sys
import time

from storage import DATABASE_URL, ProjectStore

ANSWER_CYCLE = ("accept", "reject", "unsure")


def use_database(database_url: str | None) -> None:
    """Open projects in this process as the test's backend serves them."""
    if database_url is None:
        os.environ.pop(DATABASE_URL, None)
    else:
        os.environ[DATABASE_URL] = database_url


def open_store(project_dir: str, database_url: str | None) -> ProjectStore:
    use_database(database_url)
    return ProjectStore.open(project_dir)


def answer_pairs(project_dir: str, database_url: str | None, round_id: int, annotator: str, limit: int) -> list[int]:
    """Lease and answer up to ``limit`` pairs; the ids of the proposals it was given."""
    got: list[int] = []
    with open_store(project_dir, database_url) as store:
        while len(got) < limit and (pair := store.next_pair(round_id, annotator, lease_seconds=60)) is not None:
            got.append(pair.id)
            store.decide(pair.id, annotator, ANSWER_CYCLE[len(got) % 3])
    return got


def lease_pairs(project_dir: str, database_url: str | None, round_id: int, prefix: str, n: int) -> list[int]:
    """Lease one pair for each of n annotators named ``prefix-k``, answering none."""
    with open_store(project_dir, database_url) as store:
        return [store.next_pair(round_id, f"{prefix}-{k}", lease_seconds=60).id for k in range(n)]


def run_jobs(project_dir: str, database_url: str | None) -> list[int]:
    """Claim and finish jobs until none is queued; the ids of the jobs it ran."""
    ran: list[int] = []
    with open_store(project_dir, database_url) as store:
        while (job := store.claim_job()) is not None:
            store.update_job(job.id, progress=0.5)
            store.finish_job(job.id)
            ran.append(job.id)
    return ran


def main(project_dir: str, round_id: str, annotator: str) -> None:
    with ProjectStore.open(project_dir) as store:
        while (pair := store.next_pair(int(round_id), annotator)) is not None:
            decision = store.decide(pair.id, annotator, "accept")
            print(decision.id, flush=True)


def hold_lock(project_dir: str) -> None:
    """Write inside a transaction, say so, and wait to be killed before committing."""
    with ProjectStore.open(project_dir) as store, store._write() as conn:
        conn.execute(
            """INSERT INTO jobs (kind, params, status, progress, message, attempts, created_at)
               VALUES ('uncommitted', '{}', 'queued', 0, '', 0, 0)"""
        )
        print("holding", flush=True)
        time.sleep(600)


if __name__ == "__main__":
    if sys.argv[1] == "--hold-lock":
        hold_lock(sys.argv[2])
    else:
        main(*sys.argv[1:])
