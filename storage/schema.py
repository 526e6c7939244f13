"""The project database: connection settings, schema and its migrations.

One SQLite file per project. The schema is created and upgraded by ``MIGRATIONS``, an
ordered list whose i-th entry (a tuple of SQL statements) takes the file from version i to
version i + 1; each applied step is recorded in ``schema_version``. Steps are never edited
once released: a change to the schema is a new step appended to the list.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.errors import ProjectFileError

DB_NAME = "project.sqlite"
APPLICATION_ID = 0x414C4D45
"""``PRAGMA application_id`` of project files ("ALME"): tells our files from other SQLite files."""
BUSY_TIMEOUT_MS = 10_000
"""How long a connection waits for another process's write lock before SQLITE_BUSY."""

_V1 = (
    """CREATE TABLE schema_version (
        version INTEGER PRIMARY KEY,
        applied_at REAL NOT NULL
    )""",
    """CREATE TABLE project (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL CHECK (name != ''),
        dataset TEXT NOT NULL,
        config TEXT NOT NULL,
        created_at REAL NOT NULL
    )""",
    """CREATE TABLE rounds (
        id INTEGER PRIMARY KEY,
        strategy TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
        model_version INTEGER,
        budget INTEGER CHECK (budget IS NULL OR budget >= 0),
        created_at REAL NOT NULL,
        closed_at REAL,
        CHECK ((status = 'closed') = (closed_at IS NOT NULL))
    )""",
    "CREATE UNIQUE INDEX rounds_one_open ON rounds (status) WHERE status = 'open'",
    """CREATE TABLE proposals (
        id INTEGER PRIMARY KEY,
        round_id INTEGER NOT NULL REFERENCES rounds (id),
        position INTEGER NOT NULL,
        source_id INTEGER NOT NULL,
        target_id INTEGER NOT NULL,
        source_uri TEXT NOT NULL,
        target_uri TEXT NOT NULL,
        confidence REAL,
        rank INTEGER,
        diversity_penalty REAL,
        row_weight REAL,
        evidence TEXT NOT NULL,
        UNIQUE (round_id, position),
        UNIQUE (round_id, source_id, target_id)
    )""",
    "CREATE INDEX proposals_pair ON proposals (source_uri, target_uri)",
    """CREATE TABLE seed_labels (
        id INTEGER PRIMARY KEY,
        source_uri TEXT NOT NULL,
        target_uri TEXT NOT NULL,
        origin TEXT NOT NULL,
        imported_at REAL NOT NULL,
        UNIQUE (source_uri, target_uri)
    )""",
    """CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        proposal_id INTEGER NOT NULL REFERENCES proposals (id),
        round_id INTEGER NOT NULL REFERENCES rounds (id),
        annotator TEXT NOT NULL,
        answer TEXT NOT NULL CHECK (answer IN ('accept', 'reject', 'unsure', 'skip', 'undo')),
        model_version INTEGER,
        decided_at REAL NOT NULL,
        supersedes INTEGER UNIQUE REFERENCES decisions (id),
        CHECK ((answer = 'undo') = (supersedes IS NOT NULL))
    )""",
    "CREATE INDEX decisions_proposal ON decisions (proposal_id)",
    "CREATE INDEX decisions_annotator ON decisions (annotator, id)",
    # The log is the record of what people answered: the database itself refuses edits.
    """CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are append-only: record an undo instead'); END""",
    """CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are append-only: record an undo instead'); END""",
    """CREATE VIEW effective_decisions AS
        SELECT d.* FROM decisions AS d
        WHERE d.answer != 'undo'
          AND NOT EXISTS (SELECT 1 FROM decisions AS u WHERE u.supersedes = d.id)""",
    """CREATE TABLE leases (
        proposal_id INTEGER PRIMARY KEY REFERENCES proposals (id),
        annotator TEXT NOT NULL,
        expires_at REAL NOT NULL
    )""",
    """CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        params TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
        progress REAL NOT NULL CHECK (progress BETWEEN 0 AND 1),
        message TEXT NOT NULL,
        error TEXT,
        attempts INTEGER NOT NULL,
        pid INTEGER,
        created_at REAL NOT NULL,
        started_at REAL,
        heartbeat_at REAL,
        finished_at REAL
    )""",
    "CREATE INDEX jobs_status ON jobs (status, id)",
    """CREATE TABLE checkpoints (
        id INTEGER PRIMARY KEY,
        model_version INTEGER NOT NULL UNIQUE CHECK (model_version > 0),
        path TEXT NOT NULL,
        round_id INTEGER REFERENCES rounds (id),
        job_id INTEGER REFERENCES jobs (id),
        metrics TEXT NOT NULL,
        created_at REAL NOT NULL
    )""",
)

MIGRATIONS: list[tuple[str, ...]] = [_V1]
"""Step i takes a file from schema version i to i + 1."""


def code_version() -> int:
    """The schema version this code writes: the number of migration steps."""
    return len(MIGRATIONS)


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
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
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


def initialise(conn: sqlite3.Connection, now: float) -> None:
    """Stamp a new, empty file as a project and create the current schema.

    Runs inside the caller's transaction, so a crash leaves either nothing or a whole schema.
    """
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    _apply(conn, 0, now)


def check_project(conn: sqlite3.Connection, path: Path) -> int:
    """The file's schema version, after checking that it is a project this code can read."""
    try:
        application_id = conn.execute("PRAGMA application_id").fetchone()[0]
        has_versions = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] if has_versions else None
    except sqlite3.DatabaseError as exc:
        raise file_error(path, exc) from exc
    if application_id != APPLICATION_ID or not version:
        raise ProjectFileError(path, "is a SQLite database but not an ALMEA annotation project")
    if version > code_version():
        raise ProjectFileError(
            path,
            f"was written by a newer version of the app (schema version {version}; this code "
            f"reads up to {code_version()}): update the app to open it",
        )
    return version


def migrate(conn: sqlite3.Connection, path: Path, now: float) -> None:
    """Bring the file up to the code's schema version; a no-op when it already is.

    The caller holds a write transaction, so two processes opening an old file at once
    migrate it once: the second re-reads the version after the first committed.
    """
    _apply(conn, check_project(conn, path), now)


def _apply(conn: sqlite3.Connection, version: int, now: float) -> None:
    for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
        for statement in statements:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (number, now))
