"""Connections and transactions: what every part of ``ProjectStore`` builds on.

sqlite3 connections are not thread-safe and Streamlit runs each session in its own thread,
so every thread gets its own connection to the project file. Writes take the database's
write lock up front (``BEGIN IMMEDIATE``), keep it for one short transaction and commit
before the call returns; concurrent writers in other processes wait (busy timeout, then a
few retries) instead of failing.
"""
from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from storage.errors import InvalidRequestError, ProjectFileError, StorageError, StoreBusyError
from storage.schema import DB_NAME, check_project, code_version, connect, migrate

BEGIN_ATTEMPTS = 3
"""Tries to take the write lock, each waiting up to the busy timeout, before giving up."""


class StoreBase:
    """An open project database: per-thread connections and transaction helpers."""

    def __init__(self, project_dir: Path | str, *, clock: Callable[[], float] = time.time) -> None:
        """Open the project in ``project_dir``, upgrading its schema if it is older than the code.

        ``clock`` returns Unix seconds; tests inject a fake one to expire leases and heartbeats.
        """
        self.project_dir = Path(project_dir).resolve()
        self.path = self.project_dir / DB_NAME
        self._clock = clock
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []
        self._closed = False
        if not self.path.is_file():
            raise ProjectFileError(self.path, "no project database here: create the project first")
        try:
            if check_project(self._connection(), self.path) < code_version():
                with self._write() as conn:
                    migrate(conn, self.path, self._now())
            self._connection().execute("PRAGMA journal_mode = WAL")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close every connection; call it once no other thread uses the store."""
        with self._lock:
            self._closed = True
            for _, conn in self._connections:
                conn.close()
            self._connections.clear()

    def _now(self) -> float:
        return float(self._clock())

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StorageError(f"{self.path}: the store is closed")
        conn = getattr(self._local, "conn", None)
        # A forked child must not touch its parent's connection: SQLite forbids it.
        if conn is not None and self._local.pid == os.getpid():
            return conn
        conn = connect(self.path)
        with self._lock:
            self._close_connections_of_ended_threads()
            self._connections.append((weakref.ref(threading.current_thread()), conn))
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _close_connections_of_ended_threads(self) -> None:
        """Streamlit starts a thread per script run: without this, connections pile up."""
        alive = []
        for thread, conn in self._connections:
            owner = thread()
            if owner is not None and owner.is_alive():
                alive.append((thread, conn))
            else:
                conn.close()
        self._connections = alive

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, committed when the block ends, rolled back if it raises."""
        with self._transaction("BEGIN IMMEDIATE") as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query in the block sees the same snapshot."""
        with self._transaction("BEGIN") as conn:
            yield conn

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        self._begin(conn, begin)
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise

    def _begin(self, conn: sqlite3.Connection, begin: str) -> None:
        for attempt in range(BEGIN_ATTEMPTS):
            try:
                conn.execute(begin)
                return
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    raise
                time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))
        raise StoreBusyError(
            f"{self.path}: another process held the database lock through {BEGIN_ATTEMPTS} waits "
            f"of {conn.execute('PRAGMA busy_timeout').fetchone()[0]} ms; try again"
        )


def to_json(value: object, what: str) -> str:
    """``value`` as JSON text; numpy scalars and arrays become plain numbers and lists."""
    try:
        return json.dumps(value, default=_plain, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"{what} cannot be stored as JSON: {exc}") from exc


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
