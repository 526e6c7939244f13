"""Shared pieces of the benchmarks that compare model variants by ``python -m almea train``
runs over seeds (``bench.fusion``, ``bench.missing``): one process per run, so peak memory is
per run, and a run whose JSON exists is reused, so a killed benchmark resumes."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path


def train_run(out: Path, data: list[str], ratio: float, seed: int, epochs: int, device: str, extra: list[str]) -> dict:
    """The result JSON of one ``almea train`` run, trained now unless ``out`` already exists."""
    if not out.exists():
        command = [
            sys.executable, "-m", "almea", "train", *data, "--seed-ratio", str(ratio), "--seed", str(seed),
            "--epochs", str(epochs), "--eval-every", "0", "--device", device, "--quiet", "--out", str(out), *extra,
        ]
        subprocess.run(command, check=True)
    return json.loads(out.read_text())


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(runs: list[dict]) -> dict:
    """Mean and std over seeds of the l2r metrics, median s/epoch, max peak memory."""
    row = {k: mean_std([r["final"]["l2r"][k] for r in runs]) for k in ("hits@1", "hits@10", "mrr")}
    row["seconds_per_epoch"] = statistics.median(r["seconds_per_epoch"] for r in runs)
    row["peak_memory_mb"] = max(r["peak_memory_mb"] for r in runs)
    row["seeds"] = len(runs)
    return row


def metric_cells(row: dict) -> str:
    """'H@1 | H@10 | MRR' as mean +- std, for a markdown table row."""
    return " | ".join(f"{row[k][0]:.4f} ± {row[k][1]:.4f}" for k in ("hits@1", "hits@10", "mrr"))
