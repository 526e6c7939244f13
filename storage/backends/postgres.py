"""PostgreSQL for teams: the tables of every project in one database, a schema per project.

The project folder keeps its files (checkpoints, maps, alignments) and ``project.postgres``,
which names the project's schema; the server comes from ``ALMEA_DATABASE_URL``, so the
same folder opens from any machine that reaches the database, and moving or renaming the
folder keeps its tables. Schemas are named after the folder plus a random suffix
(``almea_demo_1f2e3d4c``): readable in ``psql``, unique however many homes share a database.

Writers of one project take turns, as with SQLite: a write transaction first takes the
project's advisory lock (``pg_advisory_xact_lock``), released by its commit or rollback,
or by the server when the client dies. Under it every check-then-write of the store
(the next free pair and its lease, one answer per annotator, the next model version) stays
the atomic step it is on SQLite, with no per-query locking to get right; reads run on a
REPEATABLE READ snapshot and wait for nobody. Projects never wait for each other.
"""
from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from storage.backends import POINTER_NAME, interface
from storage.backends.interface import APPLICATION_ID, Backend, Connection, write_new
from storage.backends.postgres_connection import PostgresConnection, rows
from storage.errors import ProjectFileError

IDLE_IN_TRANSACTION_MS = 60_000
"""A client stopped inside a transaction (suspended, cut off) loses it, and with it the
project's write lock, after this long instead of blocking every annotator."""
CONNECT_TIMEOUT_S = 10
"""Unless the URL says otherwise: an unreachable server fails the open instead of hanging it."""
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_WRITE_LOCK = f"SELECT pg_advisory_xact_lock({APPLICATION_ID}, hashtext(current_schema()))"


class PostgresBackend(Backend):
    dialect = "postgres"

    def __init__(self, project_dir: Path, url: str | None) -> None:
        self.path = project_dir / POINTER_NAME
        self.url = url
        self._schema: str | None = None

    @property
    def schema(self) -> str:
        """The project's schema, as its pointer file names it."""
        if self._schema is None:
            self._schema = read_pointer(self.path)
        return self._schema

    def connect(self) -> PostgresConnection:
        return self._connect(self.schema)

    def begin(self, conn: Connection, write: bool) -> bool:
        if not write:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return True
        # READ COMMITTED: each statement after the lock sees what the previous holder committed.
        # One round trip for both, since every other writer of the project queues behind us.
        try:
            conn.execute(f"BEGIN; {_WRITE_LOCK}")
        except psycopg.errors.LockNotAvailable:
            conn.rollback()
            return False
        return True

    def stored_version(self, conn: Connection) -> int:
        exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()[0]
        version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] if exists else None
        if not version:
            raise ProjectFileError(
                self.path, f"names the PostgreSQL schema {self.schema} on {where(self.url)}, which holds "
                "no ALMEA annotation project (dropped, or another database?)"
            )
        return version

    def create(self, build: Callable[[Connection], None]) -> None:
        """Make the schema and its tables in one transaction, then the pointer to them.

        A crash in between leaves an unused schema, never a folder pointing at nothing; the
        loser of a race for the pointer drops its schema again.
        """
        schema = schema_name(self.path.parent)
        conn = self._connect(schema)
        try:
            conn.execute("BEGIN")
            conn.execute(f'CREATE SCHEMA "{schema}"')
            build(conn)
            conn.execute("COMMIT")
            try:
                write_new(self.path, json.dumps({"schema": schema}) + "\n")
            except ProjectFileError:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
                raise
        finally:
            conn.close()
        self._schema = schema

    def busy_timeout_ms(self, conn: Connection) -> int:
        return int(conn.execute("SELECT setting FROM pg_settings WHERE name = 'lock_timeout'").fetchone()[0])

    def usable(self, conn: Connection) -> bool:
        return not conn.broken

    def _connect(self, schema: str) -> PostgresConnection:
        if not self.url:
            raise ProjectFileError(
                self.path, f"keeps its tables in PostgreSQL (schema {schema}): set ALMEA_DATABASE_URL "
                "to the database's URL, e.g. postgresql://user@host:5432/almea"
            )
        try:
            params = conninfo_to_dict(self.url)
            params.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
            params.setdefault("application_name", "almea")
            raw = psycopg.connect(**params, autocommit=True, row_factory=rows)
        except psycopg.Error as exc:
            raise ProjectFileError(self.path, f"cannot connect to PostgreSQL at {where(self.url)}: {exc}") from exc
        conn = PostgresConnection(raw)
        try:
            use_schema(conn, schema)
        except BaseException:
            conn.close()
            raise
        return conn


def use_schema(conn: PostgresConnection, schema: str) -> None:
    """Search only the project's schema (the shared SQL names its tables bare) and wait for
    locks as long as SQLite's busy timeout."""
    conn.execute(
        "SELECT set_config('search_path', ?, false), set_config('lock_timeout', ?, false),"
        " set_config('idle_in_transaction_session_timeout', ?, false)",
        (f'"{schema}"', f"{interface.BUSY_TIMEOUT_MS}ms", f"{IDLE_IN_TRANSACTION_MS}ms"),
    )


def schema_name(folder: Path) -> str:
    """A new schema's name: the folder's name, made an identifier, and a random suffix."""
    slug = re.sub(r"[^a-z0-9]+", "_", folder.name.lower()).strip("_")[:40] or "project"
    return f"almea_{slug}_{secrets.token_hex(4)}"


def read_pointer(path: Path) -> str:
    """The schema named by a project's ``project.postgres``."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8")).get("schema")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError) as exc:
        raise ProjectFileError(path, f"is not a project's PostgreSQL pointer ({exc})") from exc
    if not isinstance(schema, str) or not _SCHEMA.fullmatch(schema):
        raise ProjectFileError(path, f"is not a project's PostgreSQL pointer: no valid schema name in it ({schema!r})")
    return schema


def where(url: str | None) -> str:
    """The server and database of ``url`` without its password, for messages."""
    try:
        params = conninfo_to_dict(url or "")
    except psycopg.Error:
        return "the server of ALMEA_DATABASE_URL"
    user = f"{params['user']}@" if params.get("user") else ""
    return f"{user}{params.get('host', 'localhost')}:{params.get('port', 5432)}/{params.get('dbname', '')}"
