"""Work done in other processes by the durability and concurrency tests.

Run as ``python -m tests.storage.workers PROJECT_DIR ROUND_ID ANNOTATOR`` it answers pairs
until the queue is empty, printing each decision id once ``decide`` has returned.
"""
from __future__ import annotations

import sys

from storage import ProjectStore

ANSWER_CYCLE = ("accept", "reject", "unsure")


def answer_pairs(project_dir: str, round_id: int, annotator: str, limit: int) -> list[int]:
    """Lease and answer up to ``limit`` pairs; the ids of the proposals it was given."""
    got: list[int] = []
    with ProjectStore.open(project_dir) as store:
        while len(got) < limit and (pair := store.next_pair(round_id, annotator, lease_seconds=60)) is not None:
            got.append(pair.id)
            store.decide(pair.id, annotator, ANSWER_CYCLE[len(got) % 3])
    return got


def lease_pairs(project_dir: str, round_id: int, prefix: str, n: int) -> list[int]:
    """Lease one pair for each of n annotators named ``prefix-k``, answering none."""
    with ProjectStore.open(project_dir) as store:
        return [store.next_pair(round_id, f"{prefix}-{k}", lease_seconds=60).id for k in range(n)]


def run_jobs(project_dir: str) -> list[int]:
    """Claim and finish jobs until none is queued; the ids of the jobs it ran."""
    ran: list[int] = []
    with ProjectStore.open(project_dir) as store:
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


if __name__ == "__main__":
    main(*sys.argv[1:])
