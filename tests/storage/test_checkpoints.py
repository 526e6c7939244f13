"""Checkpoints: files inside the project, numbered by the model version counter."""
from __future__ import annotations

from pathlib import Path

import pytest

from storage import InvalidRequestError, NotFoundError, ProjectStore


def save(store: ProjectStore, name: str) -> Path:
    path = store.checkpoints_dir / name
    path.write_bytes(b"weights")
    return path


def test_versions_count_up(store: ProjectStore, clock) -> None:
    assert (store.model_version(), store.latest_checkpoint(), store.checkpoints()) == (0, None, [])
    round_ = store.start_round("ds3")
    job = store.create_job("train")
    first = store.register_checkpoint(save(store, "a.pt"), metrics={"hits@1": 0.5})
    second = store.register_checkpoint(save(store, "b.pt"), round_id=round_.id, job_id=job.id, metrics={"hits@1": 0.6})
    assert (first.model_version, second.model_version, store.model_version()) == (1, 2, 2)
    assert (second.round_id, second.job_id, second.metrics, second.created_at) == (round_.id, job.id, {"hits@1": 0.6}, clock.now)
    assert store.latest_checkpoint() == second
    assert store.checkpoints() == [first, second]
    assert second.path == store.project_dir / "checkpoints" / "b.pt"


def test_paths_are_stored_relative_so_the_project_can_move(store: ProjectStore, project_dir: Path, tmp_path: Path) -> None:
    store.register_checkpoint(save(store, "a.pt"))
    store.close()
    moved = project_dir.rename(tmp_path / "moved")
    with ProjectStore.open(moved) as reopened:
        checkpoint = reopened.latest_checkpoint()
        assert checkpoint.path == moved.resolve() / "checkpoints" / "a.pt"
        assert checkpoint.path.read_bytes() == b"weights"


def test_bad_checkpoints_are_refused(store: ProjectStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside.pt"
    outside.write_bytes(b"")
    with pytest.raises(InvalidRequestError, match="is outside the project folder"):
        store.register_checkpoint(outside)
    with pytest.raises(InvalidRequestError, match="does not exist: save the model before registering it"):
        store.register_checkpoint(store.checkpoints_dir / "missing.pt")
    with pytest.raises(NotFoundError, match="no round with id 3"):
        store.register_checkpoint(save(store, "a.pt"), round_id=3)
    assert store.model_version() == 0
