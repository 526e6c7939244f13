"""Line-numbered reading of tab-separated dataset files.

Loaders read every TSV file through here (and so through :func:`almea.data.files.read_lines`)
so that any malformed line is reported with its file and line number instead of surfacing
later as an index error.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from almea.data.errors import DataFormatError, excerpt
from almea.data.files import read_lines

_INTEGER = re.compile(r"-?[0-9]+")


def read_rows(path: Path, n_fields: int, what: str, *, allow_empty: bool = False) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, fields)`` for each non-blank line of a TSV file.

    ``what`` describes the expected columns (e.g. ``"head<TAB>relation<TAB>tail"``) and
    is quoted in the error so the user knows the format we expect. A file without a single
    row is an error unless ``allow_empty`` (optional attribute files): an empty triples or
    link file is almost always a failed export, not an empty graph.
    """
    rows = 0
    for number, line in read_lines(path):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != n_fields or any(f == "" for f in fields):
            raise DataFormatError(
                path,
                f"expected {n_fields} non-empty tab-separated fields ({what}), got {len(fields)}: {excerpt(line)}",
                line=number,
            )
        rows += 1
        yield number, fields
    if not rows and not allow_empty:
        raise DataFormatError(path, f"no rows: the file is empty or blank (expected lines of {what})")


def parse_int(path: Path, line: int, text: str, what: str) -> int:
    """Parse a plain decimal integer id (no spaces, underscores or non-ASCII digits)."""
    if _INTEGER.fullmatch(text) is None or len(text) > 18:
        raise DataFormatError(path, f"expected an integer {what}, got {excerpt(text)}", line=line)
    return int(text)
