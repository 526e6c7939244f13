"""The embedded default: one SQLite file per project, ``project.sqlite`` in the project folder.

Writes take the file's write lock up front (``BEGIN IMMEDIATE``) and wait for another
process's lock up to the busy timeout; commits are on disk before they return.
"""
from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

from storage.backends import interface
from storage.backends.interface import APPLICATION_ID, Backend, Connection, link_new
from storage.errors import ProjectFileError

DB_NAME = "project.sqlite"


class SQLiteBackend(Backend):
    dialect = "sqlite"

    def __init__(self, project_dir: Path) -> None:
        self.path = project_dir / DB_NAME

    def connect(self) -> sqlite3.Connection:
        return connect(self.path)

    def begin(self, conn: Connection, write: bool) -> bool:
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            return True
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            return False

    def stored_version(self, conn: Connection) -> int:
        try:
            application_id = conn.execute("PRAGMA application_id").fetchone()[0]
            has_versions = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            ).fetchone()
            version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] if has_versions else None
        except sqlite3.DatabaseError as exc:
            raise file_error(self.path, exc) from exc
        if application_id != APPLICATION_ID or not version:
            raise ProjectFileError(self.path, "is a SQLite database but not an ALMEA annotation project")
        return version

    def create(self, build: Callable[[Connection], None]) -> None:
        """Build the file under a temporary name and link it into place (see ``link_new``)."""
        handle, temporary = tempfile.mkstemp(prefix=".project-", suffix=".sqlite", dir=self.path.parent)
        os.close(handle)
        try:
            conn = connect(Path(temporary), create=True)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                build(conn)
                conn.execute("COMMIT")
            finally:
                conn.close()
            link_new(Path(temporary), self.path)
        finally:
            os.unlink(temporary)

    def busy_timeout_ms(self, conn: Connection) -> int:
        return conn.execute("PRAGMA busy_timeout").fetchone()[0]

    def prepare(self, conn: Connection) -> None:
        conn.execute("PRAGMA journal_mode = WAL")


def connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode: transactions are opened explicitly by the store.

    ``mode=rw`` makes opening a missing file an error instead of silently creating an empty
    database. ``check_same_thread`` is off only so that the store may close the connection
    of a thread that has ended; a live connection is used by its own thread alone.
    """
    uri = f"{path.resolve().as_uri()}?mode={'rwc' if create else 'rw'}"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise file_error(path, exc) from exc
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {interface.BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        # FULL: a commit is on disk before the call returns, even across a power cut.
        conn.execute("PRAGMA synchronous = FULL")
    except sqlite3.Error as exc:
        conn.close()
        raise file_error(path, exc) from exc
    return conn


def file_error(path: Path, exc: sqlite3.Error) -> ProjectFileError:
    """What a low-level SQLite error on opening means for the user."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_NOTADB:
        return ProjectFileError(path, f"is not a SQLite database ({exc})")
    if code == sqlite3.SQLITE_CORRUPT:
        return ProjectFileError(path, f"is damaged ({exc}); restore it from a backup")
    return ProjectFileError(path, f"cannot be opened ({exc})")
