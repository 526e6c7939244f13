"""What an idle app server costs: CPU and log lines while one Label tab stays open.

Starts ``streamlit run app.py`` on a tiny trained project (the UI tests' fixture), opens
its Label page in headless Chromium, waits for the first render, then measures the server's
CPU time (process and children) and the lines it logs over ``--seconds`` of nothing
happening. Runs once with Streamlit's own file watcher (``auto``: before the repo's
``.streamlit/config.toml``) and once with the repo's settings, and prints both and the
ratio; medians over ``--repeats``.

    .venv/bin/python -m bench.idle_server --seconds 30 --repeats 3
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import psutil
from playwright.sync_api import sync_playwright

from tests.ui.conftest import PROJECT, build_trained_home
from tests.ui.test_browser import CHROMIUM, CHROMIUM_ARGS, FIRST_RENDER_MS, start_server, stop

WATCHER = "STREAMLIT_SERVER_FILE_WATCHER_TYPE"


def trained_home(root: Path) -> Path:
    """A home with the tiny project "demo" and its first round open (the UI tests' home)."""
    return build_trained_home(root / "home")


def cpu_seconds(process: psutil.Process) -> float:
    times = [process.cpu_times()] + [c.cpu_times() for c in process.children(recursive=True)]
    return sum(t.user + t.system for t in times)


def measure(home: Path, log: Path, seconds: float, watcher: str | None) -> tuple[float, int]:
    """(CPU share of one core, log lines per minute) of an idle server with a Label tab open."""
    if watcher is None:
        os.environ.pop(WATCHER, None)
    else:
        os.environ[WATCHER] = watcher
    server, url = start_server(home, log)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"{url}/label?project={PROJECT}")
            page.get_by_text("Accept").first.wait_for(timeout=FIRST_RENDER_MS)
            process = psutil.Process(server.pid)
            lines, cpu, started = len(log.read_bytes().splitlines()), cpu_seconds(process), time.monotonic()
            time.sleep(seconds)                            # the measured idle period itself
            elapsed = time.monotonic() - started
            share = (cpu_seconds(process) - cpu) / elapsed
            logged = len(log.read_bytes().splitlines()) - lines
            browser.close()
    finally:
        stop(server)
    return share, round(logged * 60 / elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        os.environ["ALMEA_CACHE_DIR"] = str(root / "cache")
        home = trained_home(root)
        results = {}
        for name, watcher in (("streamlit default (watcher auto)", "auto"), ("repo config", None)):
            runs = [measure(home, root / f"{name[:4]}-{i}.log", args.seconds, watcher) for i in range(args.repeats)]
            results[name] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
    for name, (share, lines) in results.items():
        print(f"{name}: CPU {share:.1%} of a core, {lines} log lines/min")
    before, after = results.values()
    print(f"ratio repo/default CPU: {after[0] / before[0]:.3f}" if before[0] else "default used no CPU")


if __name__ == "__main__":
    main()
