"""Model checkpoints: files under the project folder, numbered by model version.

The version counter lives in the database, not in file names: registering a checkpoint
assigns the next version (1, 2, ...), which rounds and decisions then refer to.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from storage.base import StoreBase, to_json
from storage.errors import InvalidRequestError
from storage.jobs import fetch_job
from storage.records import Checkpoint
from storage.rounds import fetch_round
from storage.validate import mapping

CHECKPOINTS_DIR = "checkpoints"


class CheckpointsMixin(StoreBase):
    @property
    def checkpoints_dir(self) -> Path:
        """Where checkpoint files go (``<project>/checkpoints``), created on first use."""
        folder = self.project_dir / CHECKPOINTS_DIR
        folder.mkdir(exist_ok=True)
        return folder

    def register_checkpoint(
        self,
        path: Path | str,
        *,
        round_id: int | None = None,
        job_id: int | None = None,
        metrics: Mapping | None = None,
    ) -> Checkpoint:
        """Record a saved model file and give it the next model version.

        The file must exist inside the project folder, so that the project can be moved
        or archived as one folder; it is stored relative to it.
        """
        file = Path(path).resolve()
        if not file.is_relative_to(self.project_dir):
            raise InvalidRequestError(f"checkpoint {file} is outside the project folder {self.project_dir}")
        if not file.is_file():
            raise InvalidRequestError(f"checkpoint {file} does not exist: save the model before registering it")
        metrics_json = to_json(mapping(metrics or {}, "metrics"), "metrics")
        with self._write() as conn:
            if round_id is not None:
                fetch_round(conn, round_id)
            if job_id is not None:
                fetch_job(conn, job_id)
            version = conn.execute("SELECT COALESCE(MAX(model_version), 0) + 1 FROM checkpoints").fetchone()[0]
            row = conn.execute(
                """INSERT INTO checkpoints (model_version, path, round_id, job_id, metrics, created_at)
                   VALUES (?, ?, ?, ?, ?, ?) RETURNING *""",
                (version, file.relative_to(self.project_dir).as_posix(), round_id, job_id, metrics_json, self._now()),
            ).fetchone()
            return Checkpoint.from_row(row, self.project_dir)

    def checkpoints(self) -> list[Checkpoint]:
        """Every registered checkpoint, oldest version first."""
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM checkpoints ORDER BY model_version")
            return [Checkpoint.from_row(row, self.project_dir) for row in rows]

    def latest_checkpoint(self) -> Checkpoint | None:
        """The checkpoint with the highest model version; None before the first training."""
        with self._read() as conn:
            row = conn.execute("SELECT * FROM checkpoints ORDER BY model_version DESC LIMIT 1").fetchone()
            return None if row is None else Checkpoint.from_row(row, self.project_dir)

    def model_version(self) -> int:
        """The current model version: the latest checkpoint's, 0 before any."""
        with self._read() as conn:
            return conn.execute("SELECT COALESCE(MAX(model_version), 0) FROM checkpoints").fetchone()[0]
