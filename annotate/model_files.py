"""Which model files a project keeps: a model with its optimiser state is 48.7 MB on
FB15K237-DB15K (``bench/checkpoint_size.py``), and nothing reads an old version's weights
once a newer one exists.

Kept: the first model (the base every later one grew from, for a fresh look at what the
seeds alone give) and the newest ``KEEP_RECENT`` versions (the current model and the one
before it, which a retried or resumed job may still start from). Every version's metrics,
rounds and answers stay in the database; only the weight files of the others go.
"""
from __future__ import annotations

from pathlib import Path

from annotate.alignment_output import carried_file, pseudo_file
from annotate.entity_weights import entity_weights_file
from annotate.standby import standby_file
from storage import Checkpoint

KEEP_RECENT = 2


def prunable(checkpoints: list[Checkpoint], keep_recent: int = KEEP_RECENT) -> list[Checkpoint]:
    """The checkpoints (oldest version first) whose files are no longer needed."""
    if keep_recent < 1:
        raise ValueError(f"keep_recent must be at least 1 (the current model), got {keep_recent}")
    return checkpoints[1:-keep_recent]


def prune_model_files(checkpoints: list[Checkpoint], keep_recent: int = KEEP_RECENT) -> list[Path]:
    """Delete the weight, per-entity fusion weight, pseudo-label, standby and carried files of
    ``prunable`` checkpoints; the paths removed."""
    removed = []
    for checkpoint in prunable(checkpoints, keep_recent):
        for path in (checkpoint.path, pseudo_file(checkpoint.path), standby_file(checkpoint.path),
                     carried_file(checkpoint.path), entity_weights_file(checkpoint.path)):
            if path.is_file():
                path.unlink()
                removed.append(path)
    return removed
