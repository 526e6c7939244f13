"""The standby queue: pairs that keep annotators busy while the next model trains.

With each batch the worker also proposes ``ProjectSettings.standby_pairs`` more pairs, the
next ones of the same pool under the same strategy, and keeps them beside the model
(``model-v<N>.standby.json``). When a round closes, the service opens them as a standby
round of the same model, minus whatever was answered meanwhile; its answers are decisions
like any other and train the model after next. When the new model's round opens, the
worker closes the standby round: its unanswered pairs are dropped, its answers stay.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from almea.atomic_write import write_atomically
from storage import Checkpoint

STANDBY = "standby"
"""The ``strategy`` of a standby round (its proposals keep their own strategy in evidence)."""


def standby_file(checkpoint_path: Path) -> Path:
    """``model-v3.pt`` -> ``model-v3.standby.json``."""
    path = Path(checkpoint_path)
    return path.with_name(f"{path.stem}.standby.json")


def _plain(value: object) -> object:
    """numpy scalars as Python numbers (proposals come from numpy arrays)."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def save_standby(checkpoint_path: Path, proposals: list[dict]) -> None:
    """Keep a model's standby proposals (rows for ``ProjectStore.add_proposals``)."""
    write_atomically(standby_file(checkpoint_path), json.dumps(proposals, default=_plain))


def load_standby(checkpoint: Checkpoint) -> list[dict]:
    """The checkpoint's standby proposals; none when it has no file or the file is unreadable
    (reported on stderr: annotators then wait for the next model, as without a standby)."""
    path = standby_file(checkpoint.path)
    if not path.is_file():
        return []
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        print(f"{path}: unreadable standby queue ({err}); serving none", file=sys.stderr)
        return []
    return rows if isinstance(rows, list) else []
