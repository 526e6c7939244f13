"""Validation of gold links shared by every loader."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from almea.data.errors import DataFormatError, excerpt


def check_one_to_one(
    path: Path, rows: list[tuple[int, int, int]], entities: list[str], n1: int
) -> np.ndarray:
    """Check ``(line, kg1_id, kg2_id)`` rows (global ids) are 1-to-1 links KG1 -> KG2.

    Returns the (L, 2) int64 link array. A duplicate link, an entity linked twice or a
    link in the wrong direction is an error: the evaluation assumes a bijection.
    """
    n = len(entities)
    seen1: dict[int, int] = {}
    seen2: dict[int, int] = {}
    for line, a, b in rows:
        if not (0 <= a < n1):
            raise DataFormatError(path, f"link source is not a KG1 entity (id {a})", line=line)
        if not (n1 <= b < n):
            raise DataFormatError(path, f"link target is not a KG2 entity (id {b})", line=line)
        if a in seen1 and seen1[a] == b:
            raise DataFormatError(path, f"duplicate link {excerpt(entities[a])} -> {excerpt(entities[b])}", line=line)
        for entity, seen, other in ((a, seen1, b), (b, seen2, a)):
            if entity in seen:
                raise DataFormatError(
                    path,
                    f"link is not 1-to-1: {excerpt(entities[entity])} is already linked to "
                    f"{excerpt(entities[seen[entity]])} and linked again here to {excerpt(entities[other])}",
                    line=line,
                )
        seen1[a] = b
        seen2[b] = a
    return np.array([(a, b) for _, a, b in rows], dtype=np.int64).reshape(-1, 2)
