"""Fixtures for the store: a project on disk, a clock the test moves, proposal dicts."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import ProjectStore, Round

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
