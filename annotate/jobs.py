"""Job control: whether a project's worker runs, starting it, and failing the jobs of a dead one.

One worker process per project holds ``worker.lock`` for as long as it claims and runs jobs
(``annotate.worker``). So while anyone else can take that lock, no worker is alive, and a job
still marked running was left by a worker that died (SIGKILL, the OOM killer): the service
marks it failed at once, without waiting for a heartbeat to age or for another worker to
start. Heartbeats (``store.update_job``) remain progress reports only.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from annotate.processes import holding, launch_detached, lock_held, try_lock
from storage import Job, ProjectStore

LOCK_FILE = "worker.lock"
LOG_FILE = "worker.log"
TRAIN = "train"


def worker_lock(project_dir: Path) -> AbstractContextManager[bool]:
    """Context manager: hold the project's worker lock if free; yields whether it is ours."""
    return holding(Path(project_dir) / LOCK_FILE)


def worker_running(project_dir: Path) -> bool:
    """Whether some process holds the project's worker lock right now."""
    return lock_held(Path(project_dir) / LOCK_FILE)


def fail_abandoned_jobs(store: ProjectStore) -> list[Job]:
    """Mark failed every job still running; only call it while holding the worker lock (then
    no live worker runs any job)."""
    return [
        store.fail_job(job.id, f"The worker process (pid {job.pid}) stopped during this job: it was killed or ran "
                               f"out of memory (see {LOG_FILE} in the project folder). Retry resumes from the job's "
                               "last epoch checkpoint.")
        for job in store.jobs(status="running")
    ]


def detect_dead_worker(store: ProjectStore) -> list[Job]:
    """The running jobs whose worker is gone, now marked failed (none while a worker lives)."""
    if not store.jobs(status="running"):
        return []
    with worker_lock(store.project_dir) as mine:
        return fail_abandoned_jobs(store) if mine else []


def start_worker(project_dir: Path) -> bool:
    """Start ``python -m annotate.worker`` for the project unless a worker runs; True if started.

    The new process inherits the lock taken here, so from its first instant it counts as
    running: a second call cannot start another, and a check cannot take it for dead.
    """
    folder = Path(project_dir)
    lock = try_lock(folder / LOCK_FILE)
    if lock is None:
        return False
    with lock:
        launch_detached(["-m", "annotate.worker", str(folder), "--lock-fd", str(lock.fileno())],
                        folder / LOG_FILE, hold=lock)
    return True


MIN_PROGRESS_FOR_ESTIMATE = 0.06
"""Below this the job is still loading (a few percent of its time), too early to extrapolate."""


def remaining_seconds(job: Job, now: float) -> float | None:
    """Seconds a running job still needs, extrapolated from its elapsed time and reported
    progress (the worker reports every epoch between 5% and 85%); None before it is far
    enough along, or when it is not running."""
    if job.status != "running" or job.started_at is None or job.progress < MIN_PROGRESS_FOR_ESTIMATE:
        return None
    return max(0.0, (now - job.started_at) * (1.0 - job.progress) / job.progress)


def job_text(job: Job | None, now: float) -> str:
    """One line on a training job for people: status, what it does, and about how long it
    still needs ("—" when there is none)."""
    if job is None:
        return "—"
    left = remaining_seconds(job, now)
    eta = "" if left is None else f" · about {left / 60:.0f} min left" if left >= 90 else f" · about {left:.0f} s left"
    return job.status + (f": {job.message}" if job.message else "") + eta
