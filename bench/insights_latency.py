"""Insights page render time on the synthetic scale preset (issue 14: the app at 100k).

For each ``--scales`` size, creates a project on ``almea.data.synthetic_scale`` at that many
entities per side (gold seeds, ``--warm-epochs`` epochs trained in this process: the first
round, its selection map and full alignment), then renders pages/insights.py through
Streamlit's AppTest ``--renders`` times. Every tab runs on each render (the alignment
quality, the modality weights, the learning curve, the selection map and the selection
quality), so a render is the whole page's server time. Prints median and p95 per size;
asserts nothing. ``--home DIR`` keeps the projects and reuses them on the next run (a 100k
project takes about 5.5 minutes to create).

    OMP_NUM_THREADS=2 .venv/bin/python -m bench.insights_latency --scales 15000 100000
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from streamlit.runtime.scriptrunner.script_cache import ScriptCache
from streamlit.testing.v1 import AppTest, app_test

from almea.data.synthetic import write_openea
from almea.data.synthetic_scale import scale_pair
from annotate.service import create_project, project_settings, projects_dir
from annotate.worker import TRAIN, run_jobs

ROOT = Path(__file__).resolve().parents[1]


def render_times(name: str, renders: int) -> list[float]:
    """Seconds of each of ``renders`` runs of the Insights page of project ``name``, after one
    warm-up run."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.query_params["project"] = name
    app.switch_page("pages/insights.py").run()
    if app.exception:
        raise RuntimeError(app.exception[0].value)
    times = []
    for _ in range(renders):
        started = time.perf_counter()
        app.run()
        times.append(time.perf_counter() - started)
        if app.exception:
            raise RuntimeError(app.exception[0].value)
    return times


def ensure_project(home: Path, per_side: int, warm_epochs: int) -> str:
    """The name of the ``per_side`` project under ``home``, created (and its first round trained)
    unless a previous run left it there."""
    folder, name = home / f"scale-{per_side}", f"insights-{per_side}"
    if (projects_dir(home) / name).exists():
        return name
    write_openea(scale_pair(per_side), folder)
    started = time.perf_counter()
    project = create_project(name, {"folder": str(folder), "layout": "openea"},
                             project_settings("ds3", 250, warm_epochs, 10),
                             gold_seed_ratio=0.2, home=home, start=False)
    project.store.create_job(TRAIN, {"round_id": None})
    project.close()
    run_jobs(projects_dir(home) / name)
    print(f"{per_side} per side: project ready in {time.perf_counter() - started:.0f} s", flush=True)
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=int, nargs="+", default=[15_000, 100_000])
    parser.add_argument("--warm-epochs", type=int, default=1)
    parser.add_argument("--renders", type=int, default=20)
    parser.add_argument("--home", type=Path, help="keep the projects here and reuse them")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="almea-insights-"))
    home.mkdir(parents=True, exist_ok=True)
    os.environ["ALMEA_HOME"] = str(home)
    shared_cache = ScriptCache()
    app_test.ScriptCache = lambda: shared_cache
    rows = []
    try:
        for per_side in args.scales:
            name = ensure_project(home, per_side, args.warm_epochs)
            times = np.array(render_times(name, args.renders)) * 1000
            rows.append(f"| {per_side:>7} | {len(times):>3} | {statistics.median(times):>7.0f} "
                        f"| {np.percentile(times, 95):>7.0f} |")
    finally:
        if args.home is None:
            shutil.rmtree(home, ignore_errors=True)
    print("\nInsights page, whole render (ms)\n")
    print("| per side |   n |  median |     p95 |")
    print("|---------|-----|---------|---------|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
