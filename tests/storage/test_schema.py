"""Creating, opening and migrating projects on each database; refusing files that are not ours."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage import DB_NAME, ProjectFileError, ProjectStore
from storage import schema
from storage.backends import POINTER_NAME
from storage.backends.interface import BUSY_TIMEOUT_MS
from tests.storage.conftest import CONFIG, DATASET
from tests.storage.databases import Database, schema_of


def versions(database: Database, project_dir: Path) -> list[int]:
    with database.raw(project_dir) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]


def test_create_writes_project_and_current_schema(store: ProjectStore, project_dir: Path, clock, database) -> None:
    project = store.project()
    assert (project.name, project.dataset, project.config) == ("demo", DATASET, CONFIG)
    assert project.created_at == clock.now
    assert versions(database, project_dir) == list(range(1, schema.code_version() + 1))
    assert database.project_file(project_dir).is_file()
    assert not list(project_dir.glob(".project-*")), "the temporary build file was left behind"


@pytest.mark.backends("sqlite")
def test_sqlite_connection_settings(store: ProjectStore) -> None:
    conn = store._connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


@pytest.mark.backends("postgres")
def test_postgres_connection_settings(store: ProjectStore, project_dir: Path) -> None:
    conn = store._connection()
    assert schema_of(project_dir).startswith("almea_project_")
    assert conn.execute("SELECT current_schema()").fetchone()[0] == schema_of(project_dir)
    settings = dict(conn.execute(
        """SELECT name, setting FROM pg_settings WHERE name IN
           ('lock_timeout', 'idle_in_transaction_session_timeout', 'synchronous_commit', 'application_name')"""
    ).fetchall())
    assert settings == {"lock_timeout": str(BUSY_TIMEOUT_MS), "idle_in_transaction_session_timeout": "60000",
                        "synchronous_commit": "on", "application_name": "almea"}


def test_reopen_keeps_everything(store: ProjectStore, project_dir: Path) -> None:
    store.start_round("random")
    store.close()
    with ProjectStore.open(project_dir) as again:
        assert again.project().name == "demo"
        assert [r.strategy for r in again.rounds()] == ["random"]


def test_create_refuses_existing_project(store: ProjectStore, project_dir: Path) -> None:
    with pytest.raises(ProjectFileError, match="already holds a project"):
        ProjectStore.create(project_dir, "other", DATASET, CONFIG)
    assert store.project().name == "demo"


def test_create_validates_before_touching_disk(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="config cannot be stored as JSON"):
        ProjectStore.create(tmp_path / "p", "demo", DATASET, {"bad": object()})
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        ProjectStore.create(tmp_path / "p", " ", DATASET, CONFIG)
    assert not (tmp_path / "p").exists()


def test_open_missing_project_names_the_file(tmp_path: Path, database: Database) -> None:
    with pytest.raises(ProjectFileError, match="create the project first") as error:
        ProjectStore.open(tmp_path)
    assert error.value.path == database.project_file(tmp_path.resolve())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.backends("sqlite")
def test_open_refuses_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_text("source\ttarget\n" * 200)
    with pytest.raises(ProjectFileError, match="is not a SQLite database") as error:
        ProjectStore.open(tmp_path)
    assert str(tmp_path / DB_NAME) in str(error.value)
    assert (tmp_path / DB_NAME).read_text() == "source\ttarget\n" * 200


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize("content", ["CREATE TABLE links (a, b)", None])
def test_open_refuses_a_sqlite_file_that_is_not_a_project(tmp_path: Path, content: str | None) -> None:
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        if content:
            conn.execute(content)
    with pytest.raises(ProjectFileError, match="not an ALMEA annotation project"):
        ProjectStore.open(tmp_path)


def test_open_refuses_a_newer_schema(store: ProjectStore, project_dir: Path, database: Database) -> None:
    store.close()
    newer = schema.code_version() + 1
    with database.raw(project_dir) as conn:
        conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, 0)", (newer,))
    with pytest.raises(ProjectFileError, match=f"newer version of the app \\(schema version {newer}"):
        ProjectStore.open(project_dir)


def test_open_migrates_an_older_project(store: ProjectStore, project_dir: Path, database: Database, monkeypatch) -> None:
    round_ = store.start_round("ds3")
    store.close()
    step = ("ALTER TABLE rounds ADD COLUMN note TEXT", "CREATE TABLE annotators (name TEXT PRIMARY KEY)")
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, step])
    with ProjectStore.open(project_dir) as migrated:
        assert migrated.get_round(round_.id).strategy == "ds3"
        conn = migrated._connection()
        assert conn.execute("SELECT note FROM rounds").fetchall()[0][0] is None
        conn.execute("INSERT INTO annotators VALUES ('alice')")
    assert versions(database, project_dir) == list(range(1, schema.code_version() + 1))
    with ProjectStore.open(project_dir):  # already current: nothing applied twice
        assert versions(database, project_dir)[-1] == schema.code_version()


def test_failed_migration_leaves_the_project_as_it_was(store: ProjectStore, project_dir: Path, database: Database,
                                                       monkeypatch) -> None:
    store.close()
    before, released = versions(database, project_dir), schema.MIGRATIONS
    step = ("CREATE TABLE annotators (name TEXT)", "THIS IS NOT SQL")
    monkeypatch.setattr(schema, "MIGRATIONS", [*released, step])
    with pytest.raises(database.error, match="syntax error"):
        ProjectStore.open(project_dir)
    monkeypatch.setattr(schema, "MIGRATIONS", released)
    assert versions(database, project_dir) == before
    with ProjectStore.open(project_dir) as reopened:
        assert "annotators" not in database.tables(reopened._connection())


def test_decision_log_is_append_only_in_the_database(store: ProjectStore, database: Database) -> None:
    round_ = store.start_round("ds3")
    proposal = store.add_proposals(round_.id, [
        {"source_id": 0, "target_id": 9, "source_uri": "a", "target_uri": "b"}
    ])[0]
    store.decide(proposal.id, "alice", "accept")
    conn = store._connection()
    edits = ["UPDATE decisions SET answer = 'reject'", "DELETE FROM decisions"]
    for statement in edits + (["TRUNCATE decisions CASCADE"] if database.name == "postgres" else []):
        with pytest.raises(database.integrity_error, match="append-only"):
            conn.execute(statement)
    assert [d.answer for d in store.decision_log()] == ["accept"]


@pytest.mark.backends("sqlite")
def test_a_folder_with_both_project_files_is_refused(store: ProjectStore, project_dir: Path) -> None:
    store.close()
    (project_dir / POINTER_NAME).write_text('{"schema": "almea_other_00000000"}')
    with pytest.raises(ProjectFileError, match="holds both project.sqlite and project.postgres"):
        ProjectStore.open(project_dir)
