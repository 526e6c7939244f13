"""Whole-file writes that a reader or a crash never sees half done.

The one place that writes result files (checkpoints, run states, reports, maps, manifests,
exports): a temporary file beside the target, flushed to disk, renamed over the target, and
the folder flushed so the rename itself survives a power cut. ``almea`` is the lowest layer
that both the ML code and the annotation service import, so the helper lives here.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

Content = bytes | str | Callable[[BinaryIO], None]
"""What to write: bytes, text (UTF-8), or a function that writes to the open binary file."""


def write_atomically(path: Path | str, content: Content, mode: int = 0o644) -> Path:
    """Replace ``path`` by ``content`` all at once (the old file or the new one, never a mix).

    ``mode`` is the new file's permission bits (``mkstemp`` alone would make it private).
    Returns the path written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            if callable(content):
                content(file)
            else:
                file.write(content.encode("utf-8") if isinstance(content, str) else content)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_folder(target.parent)
    return target


def _sync_folder(folder: Path) -> None:
    """Flush the folder entry of the rename (a no-op where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
