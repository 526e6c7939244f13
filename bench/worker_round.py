"""Where an app round's time goes: the worker's job after a batch, stage by stage.

Creates a project on a dataset (15% of the gold links as seeds, the app's default settings
apart from ``--warm-epochs``, which only shortens the setup), trains its first model, then
``--rounds`` times answers the open round with the simulated oracle and runs the worker's
job in this process. The stages are the job's own progress messages (loading, pseudo-labels,
training, scoring, alignment, selection, standby, map), timed from one message to the next.

    .venv/bin/python -m bench.worker_round --data ../shared/data/FB15K237-DB15K --rounds 2
"""
from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from annotate.service import create_project
from annotate.settings import ProjectSettings
from annotate.worker import run_jobs
from storage import ProjectStore

_COUNTS = re.compile(r"\d+")


class StageClock:
    """Timestamps of every job message (``ProjectStore.update_job``) and of the job's end
    (``finish_job``: the round is open, the selection map is drawn after it)."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, str]] = []
        self._update = ProjectStore.update_job

        def update(store: ProjectStore, job_id: int, **kwargs):
            if kwargs.get("message"):
                self.marks.append((time.perf_counter(), _COUNTS.sub("#", kwargs["message"])))
            return self._update(store, job_id, **kwargs)

        ProjectStore.update_job = update
        finish = ProjectStore.finish_job

        def finished(store: ProjectStore, job_id: int, *args, **kwargs):
            self.marks.append((time.perf_counter(), "round open; drawing the selection map"))
            return finish(store, job_id, *args, **kwargs)

        ProjectStore.finish_job = finished

    def run(self, folder: Path) -> dict[str, float]:
        """Seconds per stage of the queued job(s) of ``folder``."""
        self.marks.clear()
        started = time.perf_counter()
        run_jobs(folder)
        ended = time.perf_counter()
        stages: dict[str, float] = defaultdict(float)
        marks = self.marks + [(ended, "")]
        stages["start"] = marks[0][0] - started if self.marks else ended - started
        for (at, stage), (until, _) in zip(marks, marks[1:]):
            stages[stage] += until - at
        stages["total"] = ended - started
        return dict(stages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--layout", default="openea")
    parser.add_argument("--warm-epochs", type=int, default=10)
    parser.add_argument("--round-epochs", type=int, help="default: the app's")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    settings = replace(ProjectSettings(), warm_epochs=args.warm_epochs)
    if args.round_epochs is not None:
        settings = replace(settings, round_epochs=args.round_epochs)
    clock = StageClock()
    with tempfile.TemporaryDirectory() as home:
        project = create_project("bench", {"folder": str(args.data), "layout": args.layout}, settings,
                                 gold_seed_ratio=0.15, home=Path(home), start=False)
        project.ensure_worker = lambda: False
        project.store.create_job("train", {"round_id": None})
        first = clock.run(project.folder)
        print(f"first model ({args.warm_epochs} warm epochs): {first['total']:.1f} s")
        rounds = []
        for _ in range(args.rounds):
            project.answer_with_oracle()
            rounds.append(clock.run(project.folder))
        project.close()
    print(f"\nround ({settings.round_epochs} epochs, batch {settings.batch_size}, standby {settings.standby_pairs}): "
          f"median seconds per stage over {len(rounds)} rounds")
    for stage in rounds[0]:
        print(f"  {statistics.median(r.get(stage, 0.0) for r in rounds):7.1f}  {stage or '(end)'}")


if __name__ == "__main__":
    main()
