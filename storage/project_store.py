"""``ProjectStore``: everything one annotation project keeps, in one database.

The parts live beside each other, one file per concept: rounds and proposals
(``rounds``), the queue and its leases (``queue``), the decision log (``decisions``),
training labels (``labels``), background jobs (``jobs``), checkpoints (``checkpoints``)
and exports (``export``); ``base`` holds connections and transactions, ``backends`` the
two databases (SQLite in the project folder, or PostgreSQL with ``ALMEA_DATABASE_URL``).
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Callable

from storage.backends import new_backend, project_file
from storage.backends.interface import Connection
from storage.base import to_json
from storage.checkpoints import CheckpointsMixin
from storage.errors import ProjectFileError
from storage.export import ExportMixin
from storage.jobs import JobsMixin
from storage.queue import QueueMixin
from storage.records import Project
from storage.rounds import RoundsMixin
from storage.schema import initialise
from storage.validate import mapping, text


class ProjectStore(RoundsMixin, QueueMixin, ExportMixin, JobsMixin, CheckpointsMixin):
    """An open annotation project; safe to share between threads and processes.

    Use ``ProjectStore.create`` for a new project and ``ProjectStore.open`` for an
    existing one, ideally as a context manager. Every method is one short transaction,
    committed before it returns.
    """

    @classmethod
    def create(
        cls,
        project_dir: Path | str,
        name: str,
        dataset: Mapping,
        config: Mapping,
        *,
        clock: Callable[[], float] = time.time,
    ) -> ProjectStore:
        """Create the project database in ``project_dir`` (made if needed) and open it.

        The tables are made in one transaction and the project's file (``project.sqlite``, or
        ``project.postgres`` naming the tables' schema) appears only once they are whole, so
        a crash never leaves a half-made project, and two concurrent creators cannot both
        succeed.
        """
        text(name, "name")
        dataset_json = to_json(mapping(dataset, "dataset"), "dataset")
        config_json = to_json(mapping(config, "config"), "config")
        folder = Path(project_dir)
        existing = project_file(folder)
        if existing is not None:
            raise ProjectFileError(existing, "already holds a project: open it instead")
        folder.mkdir(parents=True, exist_ok=True)
        backend = new_backend(folder.resolve())
        now = float(clock())

        def build(conn: Connection) -> None:
            initialise(conn, backend.dialect, now)
            conn.execute(
                "INSERT INTO project (id, name, dataset, config, created_at) VALUES (1, ?, ?, ?, ?)",
                (name, dataset_json, config_json, now),
            )

        backend.create(build)
        return cls(folder, clock=clock)

    @classmethod
    def open(cls, project_dir: Path | str, *, clock: Callable[[], float] = time.time) -> ProjectStore:
        """Open the project in ``project_dir``; see ``StoreBase.__init__``."""
        return cls(project_dir, clock=clock)

    def project(self) -> Project:
        """Name, dataset description and configuration given at creation."""
        with self._read() as conn:
            return Project.from_row(conn.execute("SELECT * FROM project").fetchone())

    def __enter__(self) -> ProjectStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ProjectStore({str(self.project_dir)!r})"
