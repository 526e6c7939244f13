"""Errors raised at the data boundary.

Every problem with a dataset names the file, the line (when there is one) and what was
expected, so a user can fix the input without reading our code.
"""
from __future__ import annotations

from pathlib import Path


class DataFormatError(ValueError):
    """A dataset file is missing, malformed or inconsistent."""

    def __init__(self, path: Path | str, problem: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {problem}")
