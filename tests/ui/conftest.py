"""A tiny trained project named "demo", built once per session and copied per test, a
project "nogold" on the same pair without its gold links (``ent_links``), seeded from a TSV,
and a project "fused" on it with the MPSEA fusion (per-entity modality weights).

Image files stay in the dataset (the pages show them) but are not encoded into features:
EfficientNet on a shared CPU would cost most of the UI tests' time budget.
"""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from almea.active import LearnerConfig
from almea.active.self_training import SelfTrainingConfig
from almea.features import FeatureConfig
from almea.model.config import ModelConfig, TrainConfig
from annotate.accounts import ANNOTATOR, new_team_config, save_team_config, with_account
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
SELF_TRAINING = replace(TINY, learner=replace(TINY.learner, self_training=SelfTrainingConfig(enabled=True,
                                                                                           min_answers=4)))
"""The tiny settings with self-training, calibrated once a batch is answered."""
FUSED = "fused"
MPSEA = replace(TINY, learner=replace(TINY.learner, model=replace(TINY.learner.model, mpsea_heads=4))).with_fusion(
    "mpsea")
"""The tiny settings with MPSEA, whose attention heads must divide the 32 dimensions."""
NO_GOLD = "nogold"
NO_GOLD_SEEDS = 30
"""Links of the no-gold project's seed TSV: its only verified links before anyone answers."""


def build_trained_home(home: Path, name: str = PROJECT, settings: ProjectSettings = TINY) -> Path:
    """``home`` with project ``name`` on a 120-entity demo pair, its first round (6 pairs) open."""
    folder = demo_dataset(home, size=120)
    project = create_project(name, {"folder": str(folder), "layout": "images"}, settings, gold_seed_ratio=0.3,
                             home=home, start=False)
    project.store.create_job("train", {"round_id": None})
    project.close()
    run_jobs(projects_dir(home) / name)
    return home


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A home folder built once per session (``build_trained_home``)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("ALMEA_CACHE_DIR", str(tmp_path_factory.mktemp("ui-cache")))
    yield build_trained_home(tmp_path_factory.mktemp("ui-home"))
    patch.undo()


@pytest.fixture(scope="session")
def fused_trained_home(trained_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home folder with only project "fused" (``MPSEA``), built once per session; after
    ``trained_home``, whose cache holds the pair's features."""
    return build_trained_home(tmp_path_factory.mktemp("ui-fused-home"), FUSED, MPSEA)


@pytest.fixture
def fused_project(fused_trained_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AnnotationProject]:
    """Project "fused" in a private copy of its home (``private_home``)."""
    yield from opened(FUSED, private_home(fused_trained_home, tmp_path / "fused-home", monkeypatch))


def private_home(source: Path, copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of ``source`` as $ALMEA_HOME; workers are not spawned (tests run
    queued jobs themselves when they need them)."""
    shutil.copytree(source, copy)
    monkeypatch.setenv("ALMEA_HOME", str(copy))
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(AnnotationProject, "ensure_worker", lambda self: False)
    return copy


@pytest.fixture
def home(trained_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the trained home (``private_home``)."""
    return private_home(trained_home, tmp_path / "home", monkeypatch)


def opened(name: str, home: Path) -> Iterator[AnnotationProject]:
    """Project ``name`` of ``home``, closed after the test."""
    project = AnnotationProject.open(name, home)
    yield project
    project.close()


@pytest.fixture
def project(home: Path) -> Iterator[AnnotationProject]:
    yield from opened(PROJECT, home)


def no_gold_dataset(dataset: Path, scratch: Path) -> tuple[Path, Path, set[tuple[str, str]]]:
    """A copy of ``dataset`` without its ``ent_links``, a seed TSV of its first links, and all
    its gold links (for tests that answer as a person who knows them)."""
    folder = scratch / "no-gold"
    shutil.copytree(dataset, folder)
    gold = [tuple(line.split("\t")) for line in (folder / "ent_links").read_text(encoding="utf-8").splitlines()]
    (folder / "ent_links").unlink()
    seeds = scratch / "seeds.tsv"
    seeds.write_text("".join(f"{s}\t{t}\n" for s, t in gold[:NO_GOLD_SEEDS]), encoding="utf-8")
    return folder, seeds, set(gold)


@pytest.fixture(scope="session")
def no_gold_trained_home(trained_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home folder with only project "nogold": its first round answered by a person who
    knows the gold links, so model v2 is calibrated on those answers, and v2's round is open."""
    from tests.annotate.test_alignment_product import new_project, next_model

    home = tmp_path_factory.mktemp("ui-no-gold-home")
    folder, seeds, gold = no_gold_dataset(trained_home / "demo-120", home)
    project = new_project(home, NO_GOLD, SELF_TRAINING, folder=folder, seed_links=seeds)
    next_model(project, lambda p: "accept" if (p.source_uri, p.target_uri) in gold else "reject")
    project.close()
    return home


@pytest.fixture
def no_gold_home(no_gold_trained_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the no-gold home (``private_home``)."""
    return private_home(no_gold_trained_home, tmp_path / "no-gold-home", monkeypatch)


@pytest.fixture
def no_gold_project(no_gold_home: Path) -> Iterator[AnnotationProject]:
    yield from opened(NO_GOLD, no_gold_home)


PASSWORDS = {"boss": "boss-password", "alice": "alice-password"}
"""Team mode's accounts: admin boss, annotator alice."""


@pytest.fixture
def team(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An accounts file: admin boss, annotator alice; the data folder holds a copy of the demo pair."""
    path, data = tmp_path / "accounts.yaml", tmp_path / "data"
    shutil.copytree(home / "demo-120", data / "demo-120")
    config = new_team_config(path, data, "boss", "The Boss", PASSWORDS["boss"])
    save_team_config(with_account(config, "alice", "Alice", ANNOTATOR, PASSWORDS["alice"]))
    monkeypatch.setenv("ALMEA_ACCOUNTS", str(path))
    return path
