"""Creating, opening and migrating project files; refusing files that are not ours."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage import DB_NAME, ProjectFileError, ProjectStore
from storage import schema
from tests.storage.conftest import CONFIG, DATASET


def versions(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]


def test_create_writes_project_and_current_schema(store: ProjectStore, project_dir: Path, clock) -> None:
    project = store.project()
    assert (project.name, project.dataset, project.config) == ("demo", DATASET, CONFIG)
    assert project.created_at == clock.now
    assert versions(project_dir / DB_NAME) == list(range(1, schema.code_version() + 1))
    assert not list(project_dir.glob(".project-*")), "the temporary build file was left behind"


def test_connection_settings(store: ProjectStore) -> None:
    conn = store._connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == schema.BUSY_TIMEOUT_MS
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


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


def test_open_missing_project_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ProjectFileError, match="create the project first") as error:
        ProjectStore.open(tmp_path)
    assert error.value.path == tmp_path.resolve() / DB_NAME
    assert not (tmp_path / DB_NAME).exists()


def test_open_refuses_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_text("source\ttarget\n" * 200)
    with pytest.raises(ProjectFileError, match="is not a SQLite database") as error:
        ProjectStore.open(tmp_path)
    assert str(tmp_path / DB_NAME) in str(error.value)
    assert (tmp_path / DB_NAME).read_text() == "source\ttarget\n" * 200


@pytest.mark.parametrize("content", ["CREATE TABLE links (a, b)", None])
def test_open_refuses_a_sqlite_file_that_is_not_a_project(tmp_path: Path, content: str | None) -> None:
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        if content:
            conn.execute(content)
    with pytest.raises(ProjectFileError, match="not an ALMEA annotation project"):
        ProjectStore.open(tmp_path)


def test_open_refuses_a_newer_schema(store: ProjectStore, project_dir: Path) -> None:
    store.close()
    newer = schema.code_version() + 1
    with sqlite3.connect(project_dir / DB_NAME) as conn:
        conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, 0)", (newer,))
    with pytest.raises(ProjectFileError, match=f"newer version of the app \\(schema version {newer}"):
        ProjectStore.open(project_dir)


def test_open_migrates_an_older_file(store: ProjectStore, project_dir: Path, monkeypatch) -> None:
    round_ = store.start_round("ds3")
    store.close()
    step = ("ALTER TABLE rounds ADD COLUMN note TEXT", "CREATE TABLE annotators (name TEXT PRIMARY KEY)")
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, step])
    with ProjectStore.open(project_dir) as migrated:
        assert migrated.get_round(round_.id).strategy == "ds3"
        conn = migrated._connection()
        assert "note" in [row["name"] for row in conn.execute("PRAGMA table_info(rounds)")]
        conn.execute("INSERT INTO annotators VALUES ('alice')")
    assert versions(project_dir / DB_NAME) == list(range(1, schema.code_version() + 1))
    with ProjectStore.open(project_dir):  # already current: nothing applied twice
        assert versions(project_dir / DB_NAME)[-1] == schema.code_version()


def test_failed_migration_leaves_the_file_as_it_was(store: ProjectStore, project_dir: Path, monkeypatch) -> None:
    store.close()
    before = versions(project_dir / DB_NAME)
    step = ("CREATE TABLE annotators (name TEXT)", "THIS IS NOT SQL")
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, step])
    with pytest.raises(sqlite3.OperationalError):
        ProjectStore.open(project_dir)
    monkeypatch.undo()
    assert versions(project_dir / DB_NAME) == before
    with ProjectStore.open(project_dir) as reopened:
        tables = {row[0] for row in reopened._connection().execute("SELECT name FROM sqlite_master")}
        assert "annotators" not in tables


def test_decision_log_is_append_only_in_the_database(store: ProjectStore) -> None:
    round_ = store.start_round("ds3")
    proposal = store.add_proposals(round_.id, [
        {"source_id": 0, "target_id": 9, "source_uri": "a", "target_uri": "b"}
    ])[0]
    store.decide(proposal.id, "alice", "accept")
    conn = store._connection()
    for statement in ("UPDATE decisions SET answer = 'reject'", "DELETE FROM decisions"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(statement)
    assert [d.answer for d in store.decision_log()] == ["accept"]
