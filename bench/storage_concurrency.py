"""Concurrent annotators on one project, on SQLite and on PostgreSQL: throughput, latency and
the two guarantees (no pair handed to two annotators, no committed answer lost).

``--annotators`` processes (default 10) each open the project and, for ``--seconds``
(default 120), lease the next pair and answer it as fast as they can; the latency of an
answer is ``next_pair`` plus ``decide``. This process plays the app's worker: when every
pair of the open round is answered it closes the round and opens the next one of
``--round-size`` pairs (the app's batch plus standby is 100), so the queue stays as short as
in the app. Afterwards every decision an annotator was told was committed is looked up in
the log (lost: missing or different), and every pair is checked to have gone to one
annotator only (double: handed out to two, or answered twice). Prints a table; asserts
nothing.

PostgreSQL is ``--database-url`` or ``ALMEA_DATABASE_URL``; without either a throw-away
cluster is started with ``.ci/postgres.sh`` (default settings: fsync on, as SQLite's
``synchronous = FULL``).

    .venv/bin/python -m bench.storage_concurrency --seconds 120
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from storage import DATABASE_URL, ProjectStore, RoundClosedError
from tests.storage.databases import Database, throwaway_cluster
from tests.storage.workers import use_database

ANSWERS = ("accept", "reject", "unsure")
POLL_SECONDS = 0.01


@dataclass(frozen=True)
class Outcome:
    """One annotator's run: pairs handed to it, decisions it was told were committed, latencies."""

    annotator: str
    given: list[int]
    decided: list[tuple[int, int]]
    """(decision id, proposal id) of every ``decide`` that returned."""
    seconds: list[float]


def annotate(project_dir: str, database_url: str | None, annotator: str, seconds: float,
             ready: Barrier, results: Queue) -> None:
    """One annotator process: answer pairs for ``seconds`` after every process is ready."""
    use_database(database_url)
    given, decided, latencies = [], [], []
    with ProjectStore.open(project_dir) as store:
        round_id = store.current_round().id
        ready.wait()
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                pair = store.next_pair(round_id, annotator)
                if pair is not None:
                    given.append(pair.id)
                    decision = store.decide(pair.id, annotator, ANSWERS[len(decided) % len(ANSWERS)])
                    decided.append((decision.id, pair.id))
                    latencies.append(time.perf_counter() - started)
                    continue
            except RoundClosedError:
                pass
            time.sleep(POLL_SECONDS)  # the round is answered or closed: wait for the next one
            current = store.current_round()
            round_id = current.id if current is not None else round_id
    results.put(Outcome(annotator, given, decided, latencies))


def open_next_round(store: ProjectStore, size: int, first_entity: int) -> int:
    round_ = store.start_round("random", budget=size)
    store.add_proposals(round_.id, [
        {"source_id": k, "target_id": k, "source_uri": f"s{k}", "target_uri": f"t{k}"}
        for k in range(first_entity, first_entity + size)
    ])
    return round_.id


def run(backend: str, database_url: str | None, annotators: int, seconds: float, round_size: int) -> dict:
    """One backend's figures (see the module docstring)."""
    use_database(database_url)
    folder = Path(tempfile.mkdtemp(prefix=f"almea-bench-{backend}-"))
    context = multiprocessing.get_context("spawn")
    try:
        store = ProjectStore.create(folder / "project", "bench", {"layout": "none"}, {"strategy": "random"})
        rounds, round_id = 1, open_next_round(store, round_size, 0)
        ready, results = context.Barrier(annotators + 1), context.Queue()
        processes = [
            context.Process(target=annotate, args=(str(folder / "project"), database_url, f"a{k}", seconds, ready, results))
            for k in range(annotators)
        ]
        for process in processes:
            process.start()
        ready.wait()
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            if store.round_counts(round_id).remaining == 0:
                store.close_round(round_id)
                round_id = open_next_round(store, round_size, rounds * round_size)
                rounds += 1
            time.sleep(POLL_SECONDS)
        outcomes = [results.get() for _ in processes]
        elapsed = time.monotonic() - started
        for process in processes:
            process.join()
        log = store.decision_log()
        store.close()
    finally:
        if backend == "postgres":
            Database("postgres", database_url).drop_projects(folder)
        shutil.rmtree(folder, ignore_errors=True)
    stored = {decision.id: (decision.proposal_id, decision.annotator) for decision in log}
    lost = sum(stored.get(decision) != (proposal, outcome.annotator)
               for outcome in outcomes for decision, proposal in outcome.decided)
    handed_out = Counter(pair for outcome in outcomes for pair in outcome.given)
    answered = Counter(decision.proposal_id for decision in log)
    double = {pair for counts in (handed_out, answered) for pair, n in counts.items() if n > 1}
    latencies = sorted(s for outcome in outcomes for s in outcome.seconds)
    return {
        "backend": backend, "annotators": annotators, "seconds": elapsed, "rounds": rounds,
        "answers": len(latencies), "per_second": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p95_ms": 1000 * statistics.quantiles(latencies, n=20)[-1] if len(latencies) > 1 else float("nan"),
        "double": len(double), "lost": lost,
    }


def print_table(rows: list[dict]) -> None:
    print(f"{'backend':<9} {'annotators':>10} {'seconds':>8} {'rounds':>7} {'answers':>8} {'answers/s':>10} "
          f"{'p50 ms':>7} {'p95 ms':>7} {'double':>7} {'lost':>5}")
    for row in rows:
        print(f"{row['backend']:<9} {row['annotators']:>10} {row['seconds']:>8.1f} {row['rounds']:>7} "
              f"{row['answers']:>8} {row['per_second']:>10.1f} {row['p50_ms']:>7.1f} {row['p95_ms']:>7.1f} "
              f"{row['double']:>7} {row['lost']:>5}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=120.0, help="how long the annotators answer, per backend")
    parser.add_argument("--annotators", type=int, default=10, help="concurrent annotator processes")
    parser.add_argument("--round-size", type=int, default=200, help="pairs per round")
    parser.add_argument("--backends", nargs="+", choices=("sqlite", "postgres"), default=["sqlite", "postgres"])
    parser.add_argument("--database-url", default=os.environ.get(DATABASE_URL),
                        help="PostgreSQL server (default: ALMEA_DATABASE_URL, else a throw-away cluster)")
    args = parser.parse_args()
    rows = []
    with ExitStack() as cluster:
        for backend in args.backends:
            url = None
            if backend == "postgres":
                url = args.database_url or cluster.enter_context(throwaway_cluster())
            rows.append(run(backend, url, args.annotators, args.seconds, args.round_size))
    print_table(rows)


if __name__ == "__main__":
    main()
