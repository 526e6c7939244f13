"""The ready-to-label demo project that ``make run`` opens (issue: first launch).

``python -m annotate.demo`` creates it once: the synthetic pair with images, 30% of its gold
links as seeds, a base model trained and a first batch proposed, so a new user labels
within a minute of the app opening. Running it again does nothing.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from almea.model.config import TrainConfig
from annotate.datasets import DEMO_SIZE, demo_dataset
from annotate.service import AnnotationProject, create_project, list_projects, projects_dir
from annotate.settings import ProjectSettings
from annotate import worker

DEMO_PROJECT = "demo"
DEMO_SETTINGS = ProjectSettings(
    learner=replace(ProjectSettings().learner, train=TrainConfig(batch_size=512)), batch_size=20, warm_epochs=40, round_epochs=10
)


def ensure_demo_project(home: Path | None = None, settings: ProjectSettings = DEMO_SETTINGS) -> AnnotationProject:
    """The demo project, created and trained in this process if it does not exist yet."""
    if DEMO_PROJECT not in list_projects(home):
        folder = demo_dataset(home)
        create_project(DEMO_PROJECT, {"folder": str(folder), "layout": "images"}, settings,
                       gold_seed_ratio=0.3, home=home, start=False).store.create_job("train", {"round_id": None})
    project = AnnotationProject(projects_dir(home) / DEMO_PROJECT)
    if project.store.current_round() is None:
        worker.main([str(project.folder)])
    return project


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m annotate.demo", description=__doc__).parse_args(argv)
    started = time.perf_counter()
    project = ensure_demo_project()
    progress = project.progress()
    if progress.round is None:
        job = progress.job
        print(f"demo project not ready: {job.error if job else 'no training job'}", file=sys.stderr)
        return 1
    print(f"demo project ready in {time.perf_counter() - started:.0f} s: round {progress.round.id}, "
          f"{progress.counts.remaining} pairs to label (DEMO_SIZE={DEMO_SIZE})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
