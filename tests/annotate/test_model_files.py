"""Model files (weights, per-entity fusion weights, pseudo-labels): the base and the newest two
versions stay on disk, every version's record stays."""
from __future__ import annotations

from pathlib import Path

import pytest

from annotate.alignment_output import pseudo_file
from annotate.entity_weights import entity_weights_file, version_weights
from annotate.model_files import prunable
from tests.annotate.test_alignment_product import SELF_TRAINING, new_project, next_model


def test_old_model_files_go_while_their_versions_stay_on_record(home: Path) -> None:
    project = new_project(home, "pruned", SELF_TRAINING, gold_seed_ratio=0.3)
    for _ in range(3):
        next_model(project)
    checkpoints = project.store.checkpoints()
    assert [c.model_version for c in checkpoints] == [1, 2, 3, 4]
    assert [c.path.is_file() for c in checkpoints] == [True, False, True, True]
    assert checkpoints[1].metrics["pseudo_labels"] > 0 and not pseudo_file(checkpoints[1].path).exists()
    assert [pseudo_file(c.path).is_file() for c in checkpoints[2:]] == [c.metrics["pseudo_labels"] > 0 for c in checkpoints[2:]]
    assert [entity_weights_file(c.path).is_file() for c in checkpoints] == [True, False, True, True]
    assert version_weights(project.store, 2) is None and version_weights(project.store, 4) is not None
    assert all("l2r" in c.metrics for c in checkpoints)                   # the learning curve keeps every point
    assert sorted(p.name for p in project.store.checkpoints_dir.glob("*.pt")) == [
        "model-v1.pt", "model-v3.pt", "model-v4.pt"]
    next_model(project)                                                    # trains on from the newest model
    assert project.store.model_version() == 5 and not checkpoints[2].path.exists()


def test_the_current_model_is_always_kept() -> None:
    assert prunable(list(range(5)), keep_recent=1) == [1, 2, 3]
    assert prunable(list(range(2))) == []
    with pytest.raises(ValueError, match="at least 1"):
        prunable(list(range(3)), keep_recent=0)
