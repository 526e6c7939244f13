"""What people read about a training job: status, stage and the time it still needs."""
from __future__ import annotations

from dataclasses import replace

from annotate.jobs import job_text, remaining_seconds
from annotate.service import AnnotationProject


def test_a_running_job_extrapolates_its_remaining_time(project: AnnotationProject) -> None:
    job = project.store.create_job("train", {"round_id": None})
    project.store.claim_job(pid=1)
    running = project.store.update_job(job.id, progress=0.25, message="training: epoch 3/12")
    started = running.started_at
    assert remaining_seconds(running, started + 30) == 90.0
    assert job_text(running, started + 30) == "running: training: epoch 3/12 · about 2 min left"
    assert job_text(replace(running, progress=0.5), started + 30).endswith("· about 30 s left")
    assert remaining_seconds(replace(running, progress=0.03), started + 30) is None     # still loading
    assert job_text(replace(running, status="queued"), started + 30) == "queued: training: epoch 3/12"
    assert job_text(None, started) == "—"
