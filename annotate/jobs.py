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
