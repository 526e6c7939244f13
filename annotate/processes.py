"""Background processes the app starts, and the file locks that say whether they still run.

A process is alive while it holds its lock file (``flock``): the kernel releases the lock
when the process dies, however it dies (SIGKILL, the OOM killer), so liveness never rests
on a PID that the system may already have given to another process. A process started by
``launch_detached`` with ``hold`` inherits a lock its parent took, so it is seen alive from
its first instant, before its own code runs.
"""
from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

ROOT = Path(__file__).resolve().parents[1]
"""The repository root: background commands run from it, as ``python -m`` needs."""


def try_lock(path: Path) -> BinaryIO | None:
    """``path`` opened and exclusively locked (non-blocking); None when another holds it.

    Closing the returned file (every copy of it, inherited ones included) releases the lock.
    """
    handle = open(path, "ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


@contextmanager
def holding(path: Path) -> Iterator[bool]:
    """Hold the lock for the block if it is free; yields whether this process holds it."""
    handle = try_lock(path)
    if handle is None:
        yield False
        return
    try:
        yield True
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def lock_held(path: Path) -> bool:
    """Whether some process (this one included, through another open file) holds ``path``."""
    with holding(path) as mine:
        return not mine


def launch_detached(arguments: list[str], log: Path, hold: BinaryIO | None = None) -> subprocess.Popen:
    """Start ``python arguments...`` in its own session, so it outlives the page, the tab and the
    app server; stdout and stderr are appended to ``log``.

    ``hold``: a file from ``try_lock``; the child inherits it (same descriptor number) and
    so holds the lock until it exits. The caller then closes its own copy, without unlocking.
    """
    passed = () if hold is None else (hold.fileno(),)
    with open(log, "ab") as output:
        return subprocess.Popen(
            [sys.executable, *arguments], stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=ROOT, env=os.environ.copy(), pass_fds=passed,
        )
