"""Connections and transactions: what every part of ``ProjectStore`` builds on.

Database connections are not thread-safe and Streamlit runs each session in its own thread,
so every thread gets its own connection to the project's database (``storage.backends``:
the project's SQLite file, or its schema on PostgreSQL). Writes take the project's write
lock up front, keep it for one short transaction and commit before the call returns;
concurrent writers in other processes wait (busy timeout, then a few retries) instead of
failing.
"""
from __future__ import annotations

import json
import os
import random
import threading
import time
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from storage.backends import open_backend
from storage.backends.interface import Connection
from storage.errors import InvalidRequestError, ProjectFileError, StorageError, StoreBusyError
from storage.schema import check_project, code_version, migrate

BEGIN_ATTEMPTS = 3
"""Tries to take the write lock, each waiting up to the busy timeout, before giving up."""


class StoreBase:
    """An open project database: per-thread connections and transaction helpers."""

    def __init__(self, project_dir: Path | str, *, clock: Callable[[], float] = time.time) -> None:
        """Open the project in ``project_dir``, upgrading its schema if it is older than the code.

        ``clock`` returns Unix seconds; tests inject a fake one to expire leases and heartbeats.
        """
        self.project_dir = Path(project_dir).resolve()
        self._backend = open_backend(self.project_dir)
        self.path = self._backend.path
        self._clock = clock
        self._local = threading.local()
        self._lock = threading.Lock()
        # Every open connection, with its thread and the process that opened it.
        self._connections: list[tuple[weakref.ref[threading.Thread], int, Connection]] = []
        self._closed = False
        if not self.path.is_file():
            raise ProjectFileError(self.path, "no project database here: create the project first")
        try:
            if check_project(self._backend, self._connection()) < code_version():
                with self._write() as conn:
                    migrate(conn, self._backend, self._now())
            self._backend.prepare(self._connection())
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close every connection; call it once no other thread uses the store."""
        with self._lock:
            self._closed = True
            for _, pid, conn in self._connections:
                if pid == os.getpid():
                    conn.close()
            self._connections.clear()

    def _now(self) -> float:
        return float(self._clock())

    def _connection(self) -> Connection:
        if self._closed:
            raise StorageError(f"{self.path}: the store is closed")
        conn = getattr(self._local, "conn", None)
        # A forked child must not use its parent's connection: SQLite and libpq forbid it.
        if conn is not None and self._local.pid == os.getpid() and self._backend.usable(conn):
            return conn
        conn = self._backend.connect()
        with self._lock:
            self._close_unused_connections()
            self._connections.append((weakref.ref(threading.current_thread()), os.getpid(), conn))
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _close_unused_connections(self) -> None:
        """Close the connections of ended threads (Streamlit starts a thread per script run:
        without this, connections pile up) and broken ones. A forked child forgets its
        parent's without closing them: closing would end the parent's database session."""
        kept = []
        for thread, pid, conn in self._connections:
            if pid != os.getpid():
                continue
            owner = thread()
            if owner is not None and owner.is_alive() and self._backend.usable(conn):
                kept.append((thread, pid, conn))
            else:
                conn.close()
        self._connections = kept

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block ends, rolled back if it raises."""
        with self._transaction(write=True) as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A read transaction: every query in the block sees the same snapshot."""
        with self._transaction(write=False) as conn:
            yield conn

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Connection]:
        conn = self._connection()
        try:
            self._begin(conn, write)
        except Exception:
            if self._backend.usable(conn):
                raise
            # The server dropped this idle connection (a restart, a failover); nothing had
            # started yet, so starting over on a new connection is safe.
            conn = self._connection()
            self._begin(conn, write)
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise

    def _begin(self, conn: Connection, write: bool) -> None:
        for attempt in range(BEGIN_ATTEMPTS):
            if self._backend.begin(conn, write):
                return
            time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))
        raise StoreBusyError(
            f"{self.path}: another process held the database lock through {BEGIN_ATTEMPTS} waits "
            f"of {self._backend.busy_timeout_ms(conn)} ms; try again"
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
