"""What only PostgreSQL projects have: a pointer file, a schema each in a shared database,
a server that may be elsewhere, restarted, or not there."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg", reason="PostgreSQL runs need psycopg (pip install -r requirements.txt)")

from storage import DATABASE_URL, DB_NAME, ProjectFileError, ProjectStore, is_project  # noqa: E402
from storage.backends import POINTER_NAME, postgres  # noqa: E402
from storage.backends.postgres_connection import pyformat  # noqa: E402
from tests.storage.conftest import CONFIG, DATASET, open_round  # noqa: E402
from tests.storage.databases import Database, schema_of  # noqa: E402

pytestmark = pytest.mark.backends("postgres")


def schemas(database: Database) -> set[str]:
    with psycopg.connect(database.url) as conn:
        return {row[0] for row in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'almea_%'")}


def test_projects_share_one_database_in_schemas_of_their_own(tmp_path: Path, database: Database) -> None:
    with ProjectStore.create(tmp_path / "Team A", "a", DATASET, CONFIG) as a, \
            ProjectStore.create(tmp_path / "team-b", "b", DATASET, CONFIG) as b:
        open_round(a, 3)
        assert (len(a.proposals(1)), b.rounds()) == (3, [])
        assert a.next_pair(1, "alice").id == 1
    names = schema_of(tmp_path / "Team A"), schema_of(tmp_path / "team-b")
    assert names[0].startswith("almea_team_a_") and names[1].startswith("almea_team_b_")
    assert set(names) <= schemas(database)
    assert is_project(tmp_path / "Team A") and not is_project(tmp_path)


def test_the_folder_keeps_its_files_and_only_a_pointer(store: ProjectStore, project_dir: Path) -> None:
    (store.checkpoints_dir / "a.pt").write_bytes(b"weights")
    store.register_checkpoint(store.checkpoints_dir / "a.pt")
    assert sorted(path.name for path in project_dir.iterdir()) == ["checkpoints", POINTER_NAME]
    assert json.loads((project_dir / POINTER_NAME).read_text()) == {"schema": schema_of(project_dir)}


def test_a_sqlite_project_still_opens_in_a_home_on_postgres(tmp_path: Path, monkeypatch, database: Database) -> None:
    monkeypatch.delenv(DATABASE_URL)
    ProjectStore.create(tmp_path / "old", "old", DATASET, CONFIG).close()
    monkeypatch.setenv(DATABASE_URL, database.url)
    with ProjectStore.open(tmp_path / "old") as old:
        assert (old.path.name, old.project().name) == (DB_NAME, "old")


def test_opening_without_the_url_says_what_to_set(store: ProjectStore, project_dir: Path, monkeypatch) -> None:
    store.close()
    monkeypatch.delenv(DATABASE_URL)
    with pytest.raises(ProjectFileError, match="keeps its tables in PostgreSQL .*: set ALMEA_DATABASE_URL") as error:
        ProjectStore.open(project_dir)
    assert error.value.path == project_dir.resolve() / POINTER_NAME


def test_an_unreachable_server_is_named_without_its_password(store: ProjectStore, project_dir: Path,
                                                            monkeypatch) -> None:
    store.close()
    monkeypatch.setenv(DATABASE_URL, "postgresql://almea:s3cret@127.0.0.1:1/almea")
    with pytest.raises(ProjectFileError, match="cannot connect to PostgreSQL at almea@127.0.0.1:1/almea") as error:
        ProjectStore.open(project_dir)
    assert "s3cret" not in str(error.value)


@pytest.mark.parametrize("content", ["not json", "[1]", '{"schema": "x; DROP TABLE decisions"}', "{}"])
def test_a_broken_pointer_is_refused(tmp_path: Path, content: str) -> None:
    (tmp_path / POINTER_NAME).write_text(content)
    with pytest.raises(ProjectFileError, match="is not a project's PostgreSQL pointer"):
        ProjectStore.open(tmp_path)


def test_a_pointer_to_a_dropped_schema_is_refused(store: ProjectStore, project_dir: Path, database: Database) -> None:
    store.close()
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema_of(project_dir)}" CASCADE')
    with pytest.raises(ProjectFileError, match="holds no ALMEA annotation project"):
        ProjectStore.open(project_dir)


def test_the_loser_of_a_create_race_leaves_no_schema(tmp_path: Path, database: Database, monkeypatch) -> None:
    folder = tmp_path / "raced"
    folder.mkdir()
    before = schemas(database)
    write_new = postgres.write_new

    def lose(path: Path, text: str) -> None:
        path.write_text('{"schema": "almea_winner"}')  # the other creator linked its pointer first
        write_new(path, text)

    monkeypatch.setattr(postgres, "write_new", lose)
    with pytest.raises(ProjectFileError, match="already holds a project"):
        ProjectStore.create(folder, "late", DATASET, CONFIG)
    assert schemas(database) == before


def test_a_dropped_connection_is_replaced(store: ProjectStore, database: Database) -> None:
    """A server restart or failover ends idle sessions; the next call opens a new one."""
    old = store._connection()
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (old.raw.info.backend_pid,))
    assert store.start_round("ds3").id == 1
    assert store._connection() is not old
    assert len(store._connections) == 1


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
        ("WHERE p.round_id = :round AND l.x > :now", "WHERE p.round_id = %(round)s AND l.x > %(now)s"),
        ("SELECT '?', ':x', 'it''s ?', \"odd?\" WHERE x LIKE 'a%' AND y = ?",
         "SELECT '?', ':x', 'it''s ?', \"odd?\" WHERE x LIKE 'a%%' AND y = %s"),
        ("SELECT 5 % 2, x::text FROM t WHERE y = :y", "SELECT 5 %% 2, x::text FROM t WHERE y = %(y)s"),
    ],
)
def test_placeholders_become_psycopg_ones(sql: str, expected: str) -> None:
    assert pyformat(sql) == expected
