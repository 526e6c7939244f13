"""The project schema and its migrations, for SQLite and PostgreSQL alike.

The schema is created and upgraded by ``MIGRATIONS``, an ordered list whose i-th entry takes
a project from version i to version i + 1; each applied step is recorded in
``schema_version``. A step is a tuple of statements both databases run, or a dict of one
tuple per dialect where their DDL differs. Steps are never edited once released: a change
to the schema is a new step appended to the list. (A step adding a column to ``decisions``
must recreate ``effective_decisions`` on PostgreSQL, whose views fix ``d.*`` when created.)
"""
from __future__ import annotations

from collections.abc import Mapping

from storage.backends.interface import Backend, Connection
from storage.errors import ProjectFileError

_V1_SQLITE = (
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


# The same tables in PostgreSQL's types: REAL is 4 bytes there (DOUBLE PRECISION is SQLite's
# REAL), INTEGER 4 bytes (BIGINT is SQLite's), and ids come from identity columns.
_V1_POSTGRES = (
    """CREATE TABLE schema_version (
        version INTEGER PRIMARY KEY,
        applied_at DOUBLE PRECISION NOT NULL
    )""",
    """CREATE TABLE project (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL CHECK (name != ''),
        dataset TEXT NOT NULL,
        config TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    )""",
    """CREATE TABLE rounds (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        strategy TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
        model_version BIGINT,
        budget BIGINT CHECK (budget IS NULL OR budget >= 0),
        created_at DOUBLE PRECISION NOT NULL,
        closed_at DOUBLE PRECISION,
        CHECK ((status = 'closed') = (closed_at IS NOT NULL))
    )""",
    "CREATE UNIQUE INDEX rounds_one_open ON rounds (status) WHERE status = 'open'",
    """CREATE TABLE proposals (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        round_id BIGINT NOT NULL REFERENCES rounds (id),
        position BIGINT NOT NULL,
        source_id BIGINT NOT NULL,
        target_id BIGINT NOT NULL,
        source_uri TEXT NOT NULL,
        target_uri TEXT NOT NULL,
        confidence DOUBLE PRECISION,
        rank BIGINT,
        diversity_penalty DOUBLE PRECISION,
        row_weight DOUBLE PRECISION,
        evidence TEXT NOT NULL,
        UNIQUE (round_id, position),
        UNIQUE (round_id, source_id, target_id)
    )""",
    "CREATE INDEX proposals_pair ON proposals (source_uri, target_uri)",
    """CREATE TABLE seed_labels (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        source_uri TEXT NOT NULL,
        target_uri TEXT NOT NULL,
        origin TEXT NOT NULL,
        imported_at DOUBLE PRECISION NOT NULL,
        UNIQUE (source_uri, target_uri)
    )""",
    """CREATE TABLE decisions (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        proposal_id BIGINT NOT NULL REFERENCES proposals (id),
        round_id BIGINT NOT NULL REFERENCES rounds (id),
        annotator TEXT NOT NULL,
        answer TEXT NOT NULL CHECK (answer IN ('accept', 'reject', 'unsure', 'skip', 'undo')),
        model_version BIGINT,
        decided_at DOUBLE PRECISION NOT NULL,
        supersedes BIGINT UNIQUE REFERENCES decisions (id),
        CHECK ((answer = 'undo') = (supersedes IS NOT NULL))
    )""",
    "CREATE INDEX decisions_proposal ON decisions (proposal_id)",
    "CREATE INDEX decisions_annotator ON decisions (annotator, id)",
    # As on SQLite the database refuses edits of the log; TRUNCATE too, which skips row triggers.
    """CREATE FUNCTION decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'decisions are append-only: record an undo instead' USING ERRCODE = 'restrict_violation';
    END $$""",
    """CREATE TRIGGER decisions_no_update_or_delete BEFORE UPDATE OR DELETE ON decisions
    FOR EACH ROW EXECUTE FUNCTION decisions_append_only()""",
    """CREATE TRIGGER decisions_no_truncate BEFORE TRUNCATE ON decisions
    FOR EACH STATEMENT EXECUTE FUNCTION decisions_append_only()""",
    """CREATE VIEW effective_decisions AS
        SELECT d.* FROM decisions AS d
        WHERE d.answer != 'undo'
          AND NOT EXISTS (SELECT 1 FROM decisions AS u WHERE u.supersedes = d.id)""",
    """CREATE TABLE leases (
        proposal_id BIGINT PRIMARY KEY REFERENCES proposals (id),
        annotator TEXT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL
    )""",
    """CREATE TABLE jobs (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        kind TEXT NOT NULL,
        params TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
        progress DOUBLE PRECISION NOT NULL CHECK (progress BETWEEN 0 AND 1),
        message TEXT NOT NULL,
        error TEXT,
        attempts BIGINT NOT NULL,
        pid BIGINT,
        created_at DOUBLE PRECISION NOT NULL,
        started_at DOUBLE PRECISION,
        heartbeat_at DOUBLE PRECISION,
        finished_at DOUBLE PRECISION
    )""",
    "CREATE INDEX jobs_status ON jobs (status, id)",
    """CREATE TABLE checkpoints (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        model_version BIGINT NOT NULL UNIQUE CHECK (model_version > 0),
        path TEXT NOT NULL,
        round_id BIGINT REFERENCES rounds (id),
        job_id BIGINT REFERENCES jobs (id),
        metrics TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    )""",
)

Step = tuple[str, ...] | Mapping[str, tuple[str, ...]]
MIGRATIONS: list[Step] = [{"sqlite": _V1_SQLITE, "postgres": _V1_POSTGRES}]
"""Step i takes a project from schema version i to i + 1."""


def code_version() -> int:
    """The schema version this code writes: the number of migration steps."""
    return len(MIGRATIONS)


def initialise(conn: Connection, dialect: str, now: float) -> None:
    """Create the current schema in a new, empty project database.

    Runs inside the caller's transaction, so a crash leaves either nothing or a whole schema.
    """
    _apply(conn, dialect, 0, now)


def check_project(backend: Backend, conn: Connection) -> int:
    """The project's schema version, after checking that it is a project this code can read."""
    version = backend.stored_version(conn)
    if version > code_version():
        raise ProjectFileError(
            backend.path,
            f"was written by a newer version of the app (schema version {version}; this code "
            f"reads up to {code_version()}): update the app to open it",
        )
    return version


def migrate(conn: Connection, backend: Backend, now: float) -> None:
    """Bring the project up to the code's schema version; a no-op when it already is.

    The caller holds a write transaction, so two processes opening an old project at once
    migrate it once: the second re-reads the version after the first committed.
    """
    _apply(conn, backend.dialect, check_project(backend, conn), now)


def _apply(conn: Connection, dialect: str, version: int, now: float) -> None:
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        for statement in step if isinstance(step, tuple) else step[dialect]:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (number, now))
