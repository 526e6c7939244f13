"""A tiny trained project named "demo", built once per session and copied per test.

Image files stay in the dataset (the pages show them) but are not encoded into features:
EfficientNet on a shared CPU would cost most of the UI tests' time budget.
"""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from almea.active import LearnerConfig
from almea.features import FeatureConfig
from almea.model.config import ModelConfig, TrainConfig
from annotate.datasets import demo_dataset
from annotate.service import AnnotationProject, create_project, projects_dir
from annotate.settings import ProjectSettings
from annotate.worker import run_jobs

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "demo"
TINY = ProjectSettings(
    learner=LearnerConfig(features=FeatureConfig(images=False), model=ModelConfig(dim=32, latent_batch=64),
                          train=TrainConfig(batch_size=256)),
    batch_size=6, warm_epochs=3, round_epochs=1,
)


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A home folder whose project "demo" has its first round (6 pairs) open."""
    home = tmp_path_factory.mktemp("ui-home")
    patch = pytest.MonkeyPatch()
    patch.setenv("ALMEA_CACHE_DIR", str(tmp_path_factory.mktemp("ui-cache")))
    folder = demo_dataset(home, size=120)
    project = create_project(PROJECT, {"folder": str(folder), "layout": "images"}, TINY, gold_seed_ratio=0.3,
                             home=home, start=False)
    project.store.create_job("train", {"round_id": None})
    project.close()
    run_jobs(projects_dir(home) / PROJECT)
    yield home
    patch.undo()


@pytest.fixture
def home(trained_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the trained home as $ALMEA_HOME; workers are not spawned (tests run
    queued jobs themselves when they need them)."""
    copy = tmp_path / "home"
    shutil.copytree(trained_home, copy)
    monkeypatch.setenv("ALMEA_HOME", str(copy))
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(AnnotationProject, "ensure_worker", lambda self: False)
    return copy


@pytest.fixture
def project(home: Path) -> Iterator[AnnotationProject]:
    opened = AnnotationProject.open(PROJECT, home)
    yield opened
    opened.close()
