"""Fixtures for the store: a project on each database, a clock the test moves, proposal dicts.

Every test here runs once on SQLite and once on PostgreSQL (``database``); a test marked
``@pytest.mark.backends("sqlite")`` runs on the named ones only. The PostgreSQL runs are
skipped, saying why, only where no server is given and none can be started.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import DATABASE_URL, ProjectStore, Round
from tests.storage.databases import TEST_URL, Database, throwaway_cluster

BACKENDS = ("sqlite", "postgres")

DATASET = {"folder": "/data/FB15K237-DB15K", "layout": "openea"}
CONFIG = {"strategy": "ds3", "budget": 50, "alpha": 0.35}


class FakeClock:
    """Unix seconds that only move when the test says so."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def proposal_dicts(n: int, start: int = 0) -> list[dict]:
    """n proposals as selection produces them: pair i is (i, 1000 + i)."""
    return [
        {
            "source_id": i,
            "target_id": 1000 + i,
            "source_uri": f"/m/{i}",
            "target_uri": f"http://dbpedia.org/resource/E{i}",
            "confidence": 0.9 - i / 1000,
            "rank": i,
            "diversity_penalty": 1.0,
            "row_weight": 0.5,
            "evidence": {"top5": [1000 + i, 2000 + i]},
        }
        for i in range(start, start + n)
    ]


def open_round(store: ProjectStore, n: int, model_version: int | None = None) -> Round:
    """A new open round holding n proposals."""
    round_ = store.start_round("ds3", model_version=model_version, budget=n)
    store.add_proposals(round_.id, proposal_dicts(n))
    return round_


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "backends(*names): run the test on these databases only (default: all)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        metafunc.parametrize("database", marker.args if marker else BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The server of the PostgreSQL runs: ``ALMEA_TEST_DATABASE_URL``, or a throw-away cluster."""
    try:
        import psycopg
    except ImportError:
        pytest.skip("PostgreSQL runs skipped: psycopg is not installed (pip install -r requirements.txt)")
    given = os.environ.get(TEST_URL)
    if given:
        psycopg.connect(given).close()  # a server that was named must be there: fail, don't skip
        yield given
        return
    try:
        with throwaway_cluster() as url:
            yield url
    except RuntimeError as exc:
        pytest.skip(f"PostgreSQL runs skipped: no {TEST_URL} and no server could be started here ({exc})")


@pytest.fixture(autouse=True)
def database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Database]:
    """The backend of this run: new projects go where ``ALMEA_DATABASE_URL`` says."""
    if request.param == "postgres":
        found = Database("postgres", request.getfixturevalue("postgres_url"))
        monkeypatch.setenv(DATABASE_URL, found.url)
    else:
        found = Database("sqlite", None)
        monkeypatch.delenv(DATABASE_URL, raising=False)
    yield found
    found.drop_projects(tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    return tmp_path / "project"


@pytest.fixture
def store(project_dir: Path, clock: FakeClock) -> Iterator[ProjectStore]:
    with ProjectStore.create(project_dir, "demo", DATASET, CONFIG, clock=clock) as opened:
        yield opened
