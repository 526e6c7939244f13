"""Errors raised at the data boundary.

Every problem with a dataset names the file, the line (when there is one) and what was
expected, so a user can fix the input without reading our code.
"""
from __future__ import annotations

from pathlib import Path

#: Most characters of offending content a message quotes: a 1 MB field must not become a
#: 1 MB error line in a terminal or on the Projects page.
EXCERPT_CHARS = 200


class DataFormatError(ValueError):
    """A dataset file is missing, malformed or inconsistent."""

    def __init__(self, path: Path | str, problem: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {problem}")


def excerpt(content: object, limit: int = EXCERPT_CHARS) -> str:
    """``repr`` of at most ``limit`` characters of ``content``, saying how long it really is.

    Every message that quotes input goes through here, so none echoes a whole field.
    """
    text = str(content)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"
