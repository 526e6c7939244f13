"""Writing the alignment: ``.tsv`` (``ent_links`` compatible), ``.csv`` or ``.jsonl`` by extension."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from almea.alignment.predict import Alignment

FORMATS = (".tsv", ".csv", ".jsonl")
FIELDS = ("source", "target", "csls", "margin", "probability", "mutual", "provenance")
PROJECT_ALIGNMENT = Path("alignment") / "latest.jsonl"
"""Where an annotation project keeps the alignment of its newest model (written by its worker
after every round), relative to the project folder."""


def alignment_records(alignment: Alignment, entities: list[str], min_probability: float | None = None) -> pd.DataFrame:
    """The alignment with entity names (URIs) instead of ids, optionally cut at a probability.

    Verified links (probability 1) always pass the cut; uncalibrated predictions (NaN) never do.
    """
    frame = alignment.frame
    names = np.asarray(entities, dtype=object)
    out = frame.assign(source=names[frame["source"].to_numpy()], target=names[frame["target"].to_numpy()])
    return cut(out[list(FIELDS)].reset_index(drop=True), min_probability)


def alignment_text(records: pd.DataFrame, suffix: str) -> str:
    """The file content for ``suffix`` (one of ``FORMATS``)."""
    if suffix == ".tsv":
        return "".join(f"{s}\t{t}\n" for s, t in zip(records["source"], records["target"]))
    if suffix == ".csv":
        return records.to_csv(index=False)
    if suffix == ".jsonl":
        rows = records.astype(object).where(records.notna(), None).to_dict("records")
        return "".join(json.dumps(_plain(row), ensure_ascii=False) + "\n" for row in rows)
    raise ValueError(f"unknown alignment format {suffix!r}; use one of {', '.join(FORMATS)}")


def _plain(row: dict) -> dict:
    """JSON-safe values: numpy scalars to Python, infinite margins (a single candidate) to null."""
    out = {}
    for key, value in row.items():
        if isinstance(value, (np.floating, float)):
            value = float(value) if np.isfinite(value) else None
        elif isinstance(value, np.bool_):
            value = bool(value)
        out[key] = value
    return out


def format_of(path: Path) -> str:
    """The format of ``path`` from its extension, or a ValueError naming the choices."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: unknown alignment format {suffix or '(no extension)'!r}; use one of {', '.join(FORMATS)}")
    return suffix


def cut(records: pd.DataFrame, min_probability: float | None) -> pd.DataFrame:
    """Records at or above ``min_probability`` (verified links have probability 1)."""
    if min_probability is None:
        return records
    return records[records["probability"].to_numpy(np.float64) >= min_probability].reset_index(drop=True)


def read_alignment(path: Path) -> pd.DataFrame:
    """Records written as ``.jsonl`` by :func:`alignment_text`; a clear error if it is not one."""
    try:
        frame = pd.read_json(path, lines=True, precise_float=True, dtype={"source": str, "target": str})
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not an alignment file ({err})") from err
    missing = [f for f in FIELDS if f not in frame.columns]
    if len(frame) and missing:
        raise ValueError(f"{path}: not an alignment file (missing fields {missing})")
    return frame.reindex(columns=list(FIELDS)).astype({"probability": np.float64, "csls": np.float64, "margin": np.float64})
