"""A tiny trained project (synthetic pair, 32-d model) built once and copied per test."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from almea.active import LearnerConfig
from almea.model.config import ModelConfig, TrainConfig
from annotate.datasets import demo_dataset
from annotate.service import AnnotationProject, create_project, projects_dir
from annotate.settings import ProjectSettings
from annotate.worker import run_jobs

TINY = ProjectSettings(
    learner=LearnerConfig(model=ModelConfig(dim=32, latent_batch=64), train=TrainConfig(batch_size=256)),
    batch_size=6, warm_epochs=3, round_epochs=1,
)


@pytest.fixture(scope="session")
def tiny_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home folder with a trained project "tiny" whose first round is open."""
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("ALMEA_CACHE_DIR", str(home / "cache"))
    folder = demo_dataset(home, size=120)
    project = create_project("tiny", {"folder": str(folder), "layout": "images"}, TINY, gold_seed_ratio=0.3,
                             home=home, start=False)
    project.store.create_job("train", {"round_id": None})
    run_jobs(project.folder)
    project.close()
    yield home
    mp.undo()


@pytest.fixture
def home(tiny_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the tiny home (projects and dataset), as $ALMEA_HOME."""
    copy = tmp_path / "home"
    shutil.copytree(tiny_home, copy)
    monkeypatch.setenv("ALMEA_HOME", str(copy))
    monkeypatch.setenv("ALMEA_CACHE_DIR", str(copy / "cache"))
    return copy


@pytest.fixture
def project(home: Path) -> AnnotationProject:
    opened = AnnotationProject(projects_dir(home) / "tiny")
    yield opened
    opened.close()
