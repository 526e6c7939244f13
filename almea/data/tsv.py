"""Line-numbered reading of tab-separated dataset files.

Loaders read every file through here so that any malformed line is reported with its
file and line number instead of surfacing later as an index error.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from almea.data.errors import DataFormatError


def require_file(path: Path) -> Path:
    """Return ``path`` if it is a readable file, else raise a DataFormatError naming it."""
    if not path.is_file():
        raise DataFormatError(path, "required file is missing")
    return path


def read_rows(path: Path, n_fields: int, what: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, fields)`` for each non-empty line of a TSV file.

    ``what`` describes the expected columns (e.g. ``"head<TAB>relation<TAB>tail"``) and
    is quoted in the error so the user knows the format we expect.
    """
    require_file(path)
    with path.open("r", encoding="utf-8", newline="") as handle:
        try:
            for number, raw in enumerate(handle, start=1):
                line = raw.rstrip("\r\n")
                if not line.strip():
                    continue
                fields = line.split("\t")
                if len(fields) != n_fields or any(f == "" for f in fields):
                    raise DataFormatError(
                        path,
                        f"expected {n_fields} non-empty tab-separated fields ({what}), "
                        f"got {len(fields)}: {line[:120]!r}",
                        line=number,
                    )
                yield number, fields
        except UnicodeDecodeError as err:
            raise DataFormatError(path, f"not valid UTF-8 ({err.reason} at byte {err.start})") from err


def parse_int(path: Path, line: int, text: str, what: str) -> int:
    """Parse an integer id, naming the file and line when it is not one."""
    try:
        return int(text)
    except ValueError:
        raise DataFormatError(path, f"expected an integer {what}, got {text!r}", line=line) from None
