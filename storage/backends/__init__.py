"""Where a project's tables live: SQLite in the project folder, or a shared PostgreSQL.

New projects go to PostgreSQL when ``ALMEA_DATABASE_URL`` is set and to ``project.sqlite``
otherwise. An existing project opens wherever its folder says (``project.sqlite`` or
``project.postgres``), so SQLite projects keep working in a home that moved to a server.
psycopg is imported only for PostgreSQL projects.
"""
from __future__ import annotations

import os
from pathlib import Path

from storage.backends.interface import Backend
from storage.backends.sqlite import DB_NAME, SQLiteBackend
from storage.errors import ProjectFileError

DATABASE_URL = "ALMEA_DATABASE_URL"
POINTER_NAME = "project.postgres"
"""A PostgreSQL project's file in its folder; named here so that listing needs no psycopg."""


def project_file(project_dir: Path | str) -> Path | None:
    """The file that makes ``project_dir`` a project (database or pointer); None if neither."""
    folder = Path(project_dir)
    found = [folder / name for name in (DB_NAME, POINTER_NAME) if (folder / name).exists()]
    if len(found) > 1:
        raise ProjectFileError(folder, f"holds both {DB_NAME} and {POINTER_NAME}: keep the one the project uses")
    return found[0] if found else None


def is_project(project_dir: Path | str) -> bool:
    """Whether ``project_dir`` holds a project, on either database (for listing a home)."""
    found = project_file(project_dir)
    return found is not None and found.is_file()


def open_backend(project_dir: Path) -> Backend:
    """The backend of the project in ``project_dir``; where none is, the one ``create`` would use."""
    found = project_file(project_dir)
    if found is None:
        return new_backend(project_dir)
    return _postgres(project_dir) if found.name == POINTER_NAME else SQLiteBackend(project_dir)


def new_backend(project_dir: Path) -> Backend:
    """Where a project created now in ``project_dir`` keeps its tables (``ALMEA_DATABASE_URL``)."""
    return _postgres(project_dir) if os.environ.get(DATABASE_URL) else SQLiteBackend(project_dir)


def _postgres(project_dir: Path) -> Backend:
    from storage.backends.postgres import PostgresBackend

    return PostgresBackend(project_dir, os.environ.get(DATABASE_URL))
