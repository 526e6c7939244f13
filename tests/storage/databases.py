"""The databases the storage tests run on, and a look underneath the store for each.

PostgreSQL comes from ``ALMEA_TEST_DATABASE_URL`` (``.ci/run`` starts a throw-away cluster
and sets it); without it a throw-away cluster is started here with ``.ci/postgres.sh``.
Each test's projects get their own schemas, dropped when the test ends, so a server shared
with other work is left as it was.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from storage import DB_NAME
from storage.backends import POINTER_NAME
from storage.backends.interface import Connection

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = ROOT / ".ci" / "postgres.sh"
TEST_URL = "ALMEA_TEST_DATABASE_URL"


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a PostgreSQL cluster in a temporary folder, yield its URL, stop and remove it.

    ``RuntimeError`` (with the script's explanation) where no server can be started here.
    """
    # Not under pytest's tmp folders: as root the server runs as another user, who must be
    # able to enter every parent folder.
    folder = Path(tempfile.mkdtemp(prefix="almea-pg-"))
    try:
        done = subprocess.run(["bash", str(CLUSTER_SCRIPT), "start", str(folder)], capture_output=True, text=True,
                              timeout=300)
        if done.returncode:
            raise RuntimeError(done.stderr.strip()[-1500:] or f"{CLUSTER_SCRIPT} failed with code {done.returncode}")
        try:
            yield done.stdout.split()[-1]
        finally:
            subprocess.run(["bash", str(CLUSTER_SCRIPT), "stop", str(folder)], capture_output=True, timeout=120)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Database:
    """The backend a test runs on."""

    name: str
    """"sqlite" or "postgres"."""
    url: str | None
    """The PostgreSQL server (what ``ALMEA_DATABASE_URL`` is set to); None on SQLite."""

    @property
    def error(self) -> type[Exception]:
        """The driver's base error class."""
        return sqlite3.Error if self.name == "sqlite" else _psycopg().Error

    @property
    def integrity_error(self) -> type[Exception]:
        return sqlite3.IntegrityError if self.name == "sqlite" else _psycopg().IntegrityError

    def project_file(self, project_dir: Path) -> Path:
        """The file a new project in ``project_dir`` gets on this backend."""
        return project_dir / (DB_NAME if self.name == "sqlite" else POINTER_NAME)

    @contextmanager
    def raw(self, project_dir: Path) -> Iterator[Connection]:
        """A connection to the project's tables that bypasses the store (autocommit)."""
        if self.name == "sqlite":
            conn = sqlite3.connect(project_dir / DB_NAME, isolation_level=None)
        else:
            from storage.backends.postgres_connection import PostgresConnection, rows

            conn = PostgresConnection(_psycopg().connect(self.url, autocommit=True, row_factory=rows))
            conn.execute("SELECT set_config('search_path', ?, false)", (f'"{schema_of(project_dir)}"',))
        try:
            yield conn
        finally:
            conn.close()

    def tables(self, conn: Connection) -> set[str]:
        """Names of the tables and views of the project."""
        if self.name == "sqlite":
            return {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        query = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        return {row[0] for row in conn.execute(query)}

    def drop_projects(self, root: Path) -> None:
        """Drop the schema of every PostgreSQL project under ``root``."""
        pointers = list(root.rglob(POINTER_NAME)) if self.name == "postgres" else []
        if not pointers:
            return
        psycopg = _psycopg()
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '5s'")
            for pointer in pointers:
                try:
                    schema = psycopg.sql.Identifier(schema_of(pointer.parent))
                except (ValueError, KeyError, TypeError):
                    continue  # a test wrote a broken pointer on purpose
                conn.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))


def schema_of(project_dir: Path) -> str:
    return json.loads((project_dir / POINTER_NAME).read_text())["schema"]


def _psycopg():
    """psycopg, imported only where a test runs on PostgreSQL."""
    import psycopg
    import psycopg.sql

    return psycopg
