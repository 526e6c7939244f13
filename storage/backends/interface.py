"""What the store needs from a database, so that its queries are written once for both.

The store's code talks to a ``Connection`` shaped like ``sqlite3.Connection`` (``execute``
with ``?`` or ``:name`` parameters, rows read by name or position); a ``Backend`` opens such
connections to one project's tables and knows how that database starts a transaction and
recognises a project.
"""
from __future__ import annotations

import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from storage.errors import ProjectFileError

APPLICATION_ID = 0x414C4D45
""""ALME": SQLite's ``application_id`` of project files, PostgreSQL's advisory lock class."""
BUSY_TIMEOUT_MS = 10_000
"""How long one wait for another process's write lock lasts before the store backs off."""


class Row(Protocol):
    def __getitem__(self, key: int | str) -> Any: ...


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The part of ``sqlite3.Connection`` the store uses; psycopg ones are adapted to it."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Sequence | Mapping = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Sequence[Sequence | Mapping], /) -> Cursor: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...


class Backend(ABC):
    """One project's tables in one database: connections, transactions, identity."""

    dialect: str
    """Which statements of a migration step this database runs (``schema.MIGRATIONS``)."""
    path: Path
    """The project's file in its folder that says where the tables are; errors name it."""

    @abstractmethod
    def connect(self) -> Connection:
        """A new connection in autocommit mode: the store opens its transactions itself."""

    @abstractmethod
    def begin(self, conn: Connection, write: bool) -> bool:
        """Start a transaction; False when the project's write lock stayed busy (nothing started).

        A write transaction holds the project's write lock until it ends, so writers of one
        project take turns, as SQLite's ``BEGIN IMMEDIATE`` makes them; a read transaction
        sees one snapshot and waits for nobody.
        """

    @abstractmethod
    def stored_version(self, conn: Connection) -> int:
        """The schema version of the tables; ``ProjectFileError`` when they are not a project."""

    @abstractmethod
    def create(self, build: Callable[[Connection], None]) -> None:
        """Make the project's tables with ``build`` (inside one transaction) and then ``path``.

        ``ProjectFileError`` when another creator won the race for ``path``.
        """

    @abstractmethod
    def busy_timeout_ms(self, conn: Connection) -> int:
        """How long ``begin`` waits for the write lock, for the error that says it gave up."""

    def prepare(self, conn: Connection) -> None:
        """Settings kept by the database itself, applied once when a project is opened."""

    def usable(self, conn: Connection) -> bool:
        """Whether a cached connection still works (a server restart breaks PostgreSQL ones)."""
        return True


def link_new(temporary: Path, path: Path) -> None:
    """Put the finished ``temporary`` file at ``path`` unless a project file is already there.

    A hard link fails when the name exists, so of two creators exactly one succeeds and
    nobody ever sees a half-written file.
    """
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise ProjectFileError(path, "already holds a project: open it instead") from None


def write_new(path: Path, text: str) -> None:
    """Write ``text`` durably to ``path``, which must not exist yet (see ``link_new``)."""
    handle, temporary = tempfile.mkstemp(prefix=".project-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        link_new(Path(temporary), path)
    finally:
        os.unlink(temporary)
