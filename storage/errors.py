"""Errors raised at the storage boundary.

A problem with the project file names the file; a bad request (unknown answer, unknown id,
a closed round) names the value and what was expected, so the caller can show it as is.
"""
from __future__ import annotations

from pathlib import Path


class StorageError(Exception):
    """Base class of every error raised by ``storage``."""


class ProjectFileError(StorageError):
    """The project database is missing, unreachable, not a SQLite file, not a project, or too new."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class StoreBusyError(StorageError):
    """Another process kept the database locked for longer than we are willing to wait."""


class InvalidRequestError(StorageError, ValueError):
    """A call's arguments are invalid; nothing was written."""


class NotFoundError(InvalidRequestError):
    """An id (round, proposal, job) names no stored row."""


class RoundClosedError(InvalidRequestError):
    """The round is closed: it takes no more proposals, leases or decisions."""


class ConflictError(InvalidRequestError):
    """The request contradicts the stored state (a second open round, a job not running, ...)."""
