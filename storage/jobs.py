"""Background jobs (training, selection) and their progress.

A job goes queued -> running (a worker claimed it) -> done | failed; a failed job may be
queued again. The worker reports progress (``heartbeat_at`` records when). Whether the
worker still lives is not the store's to judge: the service knows by the worker's lock
(``annotate.jobs``) and fails the jobs of a dead worker with ``fail_job``.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from storage.backends.interface import Connection
from storage.base import StoreBase, to_json
from storage.errors import ConflictError, InvalidRequestError, NotFoundError
from storage.records import JOB_STATUSES, Job
from storage.validate import choice, integer, mapping, optional_real, text


def fetch_job(conn: Connection, job_id: int) -> Job:
    row = conn.execute("SELECT * FROM jobs WHERE id = ?", (integer(job_id, "job id"),)).fetchone()
    if row is None:
        raise NotFoundError(f"no job with id {job_id}")
    return Job.from_row(row)


def _require(conn: Connection, job_id: int, statuses: tuple[str, ...], action: str) -> Job:
    job = fetch_job(conn, job_id)
    if job.status not in statuses:
        raise ConflictError(f"cannot {action} job {job_id}: it is {job.status}, not {' or '.join(statuses)}")
    return job


class JobsMixin(StoreBase):
    def create_job(self, kind: str, params: Mapping | None = None) -> Job:
        """Queue a job for a worker; ``params`` is a JSON-able dict."""
        text(kind, "kind")
        params_json = to_json(mapping(params or {}, "params"), "params")
        with self._write() as conn:
            row = conn.execute(
                """INSERT INTO jobs (kind, params, status, progress, message, attempts, created_at)
                   VALUES (?, ?, 'queued', 0, '', 0, ?) RETURNING *""",
                (kind, params_json, self._now()),
            ).fetchone()
            return Job.from_row(row)

    def claim_job(self, *, kinds: Sequence[str] | None = None, pid: int | None = None) -> Job | None:
        """Take the oldest queued job (of ``kinds``, if given) for this worker; None if none.

        Atomic: of several workers polling at once, exactly one gets each job.
        """
        kinds = [text(kind, "kind") for kind in kinds] if kinds is not None else None
        pid = os.getpid() if pid is None else integer(pid, "pid")
        with self._write() as conn:
            query, args = "SELECT id FROM jobs WHERE status = 'queued'", []
            if kinds is not None:
                query += f" AND kind IN ({', '.join('?' * len(kinds))})"
                args = kinds
            row = conn.execute(query + " ORDER BY id LIMIT 1", args).fetchone()
            if row is None:
                return None
            now = self._now()
            conn.execute(
                """UPDATE jobs SET status = 'running', attempts = attempts + 1, pid = ?, started_at = ?,
                       heartbeat_at = ?, progress = 0, message = '', error = NULL, finished_at = NULL
                   WHERE id = ?""",
                (pid, now, now, row["id"]),
            )
            return fetch_job(conn, row["id"])

    def update_job(self, job_id: int, *, progress: float | None = None, message: str | None = None) -> Job:
        """Report progress (0..1) and/or a message; every call is also a heartbeat.

        Raises ``ConflictError`` when the job is no longer running (e.g. it was marked
        stale): the worker no longer owns it and should stop.
        """
        value = optional_real(progress, "progress")
        if value is not None and not 0 <= value <= 1:
            raise InvalidRequestError(f"progress must be within 0..1, got {value}")
        if message is not None and not isinstance(message, str):
            raise InvalidRequestError(f"message must be a string, got {message!r}")
        with self._write() as conn:
            _require(conn, job_id, ("running",), "update")
            conn.execute(
                """UPDATE jobs SET heartbeat_at = ?, progress = COALESCE(?, progress), message = COALESCE(?, message)
                   WHERE id = ?""",
                (self._now(), value, message, job_id),
            )
            return fetch_job(conn, job_id)

    def finish_job(self, job_id: int, message: str = "done") -> Job:
        """Mark a running job done (progress 1)."""
        with self._write() as conn:
            _require(conn, job_id, ("running",), "finish")
            now = self._now()
            conn.execute(
                """UPDATE jobs SET status = 'done', progress = 1, message = ?, heartbeat_at = ?, finished_at = ?
                   WHERE id = ?""",
                (message, now, now, job_id),
            )
            return fetch_job(conn, job_id)

    def fail_job(self, job_id: int, error: str) -> Job:
        """Mark a queued or running job failed, keeping ``error`` (e.g. the traceback) for people."""
        text(error, "error")
        with self._write() as conn:
            _require(conn, job_id, ("queued", "running"), "fail")
            conn.execute(
                "UPDATE jobs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?",
                (error, self._now(), job_id),
            )
            return fetch_job(conn, job_id)

    def retry_job(self, job_id: int) -> Job:
        """Queue a failed job again; the next claim counts one more attempt."""
        with self._write() as conn:
            _require(conn, job_id, ("failed",), "retry")
            conn.execute(
                """UPDATE jobs SET status = 'queued', progress = 0, message = '', error = NULL, pid = NULL,
                       started_at = NULL, heartbeat_at = NULL, finished_at = NULL
                   WHERE id = ?""",
                (job_id,),
            )
            return fetch_job(conn, job_id)

    def get_job(self, job_id: int) -> Job:
        with self._read() as conn:
            return fetch_job(conn, job_id)

    def jobs(self, status: str | None = None, kind: str | None = None) -> list[Job]:
        """Jobs oldest first, optionally of one status and/or kind."""
        if status is not None:
            choice(status, JOB_STATUSES, "status")
        where, args = _filter(status=status, kind=kind)
        with self._read() as conn:
            return [Job.from_row(row) for row in conn.execute(f"SELECT * FROM jobs{where} ORDER BY id", args)]

    def latest_job(self, kind: str | None = None) -> Job | None:
        """The most recently created job (of ``kind``), whatever its status."""
        where, args = _filter(kind=kind)
        with self._read() as conn:
            row = conn.execute(f"SELECT * FROM jobs{where} ORDER BY id DESC LIMIT 1", args).fetchone()
            return None if row is None else Job.from_row(row)


def _filter(**wanted: str | None) -> tuple[str, list[str]]:
    """A WHERE clause matching the given columns' values (None: any), and its parameters."""
    given = {column: value for column, value in wanted.items() if value is not None}
    where = " AND ".join(f"{column} = ?" for column in given)
    return (f" WHERE {where}" if where else ""), list(given.values())
