"""The one way dataset files are opened and decoded.

Every loader (TSV, JSON, feature arrays, images) opens files through :func:`open_regular`,
so a FIFO or a device named like a data file is refused instead of blocking a read forever,
and reads text through :func:`read_lines`, so a BOM, a NUL byte or invalid UTF-8 is treated
the same in every file and reported with its line.
"""
from __future__ import annotations

import io
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from almea.data.errors import DataFormatError

#: Bytes that are not UTF-8 decode to these lone surrogates under ``surrogateescape``.
_UNDECODABLE = re.compile("[\udc80-\udcff]")
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def is_present(path: Path) -> bool:
    """Whether an optional file was supplied: anything under that name counts, even a FIFO
    or a broken symlink, so that it is reported rather than silently ignored."""
    return os.path.lexists(path)


def require_file(path: Path) -> Path:
    """Return ``path`` if it is a regular file (symlinks followed), else a DataFormatError."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise DataFormatError(path, "required file is missing") from None
    except OSError as err:
        raise DataFormatError(path, f"cannot read the file: {err.strerror}") from None
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a file")
        raise DataFormatError(path, f"expected a regular file, found {kind}")
    return path


def open_regular(path: Path) -> BinaryIO:
    """Open a regular file for binary reading; anything else is refused before it can block."""
    require_file(path)
    try:
        return open(path, "rb")
    except OSError as err:
        raise DataFormatError(path, f"cannot open the file: {err.strerror}") from None


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for every line, line break removed, blank lines included.

    A leading UTF-8 BOM is dropped (editors add it). Invalid UTF-8 and NUL bytes are errors
    naming the line: decoding with ``surrogateescape`` lets us find the bad line instead of
    a byte offset inside a decoder chunk.
    """
    with open_regular(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
        for number, line in enumerate(text, start=1):
            line = line.rstrip("\r\n")
            bad = _UNDECODABLE.search(line)
            if bad is not None:
                byte = ord(bad.group()) - 0xDC00
                raise DataFormatError(path, f"not valid UTF-8 (byte 0x{byte:02x} at column {bad.start() + 1})", line=number)
            if "\x00" in line:
                raise DataFormatError(path, f"NUL byte at column {line.index(chr(0)) + 1}", line=number)
            yield number, line


def read_json(path: Path) -> object:
    """Parse a JSON file read through :func:`read_lines`; syntax errors name line and column."""
    text = "\n".join(line for _, line in read_lines(path))
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DataFormatError(path, f"invalid JSON: {err.msg} (column {err.colno})", line=err.lineno) from None
    except RecursionError:
        raise DataFormatError(path, "invalid JSON: nested too deeply") from None


def list_folder(folder: Path) -> list[Path]:
    """The entries of ``folder``, sorted; an unreadable folder is a DataFormatError."""
    try:
        return sorted(Path(folder).iterdir())
    except OSError as err:
        raise DataFormatError(folder, f"cannot list the folder: {err.strerror}") from None

