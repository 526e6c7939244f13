"""End to end in headless Chromium: label three pairs by keyboard, undo one, reload, then open
every other page; label on while the next model trains; and a project without gold links
shows its pairs and stopping signal and delivers its full alignment as a file.

Runs the real server (``streamlit run app.py``) on a copy of the tiny trained project, so
it covers what AppTest cannot: the keyboard shortcuts, the websocket round trip and that
decisions survive a new browser session.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from annotate.insights import stopping_text
from annotate.service import AnnotationProject

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STARTUP_SECONDS = 60
PORT_ATTEMPTS = 3
"""A free port can be taken by another process before streamlit binds it: then try another."""
FIRST_RENDER_MS = 60_000
"""The server's first run imports torch and loads the dataset."""
STEP_MS = 15_000
PAGES = (("projects", "Projects"), ("dataset", "Dataset"), ("insights", "Insights"), ("experiments", "Experiments"))
"""Every other page, by URL path and title: each must render without an exception."""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found: install it with "
                       "`apt-get update && apt-get install -y chromium` to run the browser test"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(home: Path, log: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """A started ``streamlit run app.py`` (``env`` added to its environment) and its URL, once
    its health check answers; retried on another port when the chosen one was taken meanwhile
    (the server then exits)."""
    for _ in range(PORT_ATTEMPTS):
        port = free_port()
        with open(log, "wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
                 str(port), "--browser.gatherUsageStats", "false"],
                cwd=ROOT, env={**os.environ, "ALMEA_HOME": str(home), **(env or {})}, stdout=output, stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_SECONDS
        while process.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        return process, url
            except OSError:
                time.sleep(0.3)                   # not serving yet: the wait is bounded by the deadline
        stop(process)
        if "already in use" not in log.read_text(errors="replace"):
            break
    pytest.fail(f"streamlit did not start: {log.read_text(errors='replace')[-2000:]}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serving(home: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """URL of ``streamlit run app.py`` serving ``home``, stopped on leaving."""
    process, url = start_server(home, log, env)
    try:
        yield url
    finally:
        stop(process)


@pytest.fixture
def server(home: Path, tmp_path: Path) -> Iterator[str]:
    """A server on the trained home (``serving``)."""
    with serving(home, tmp_path / "streamlit.log") as url:
        yield url


def test_keyboard_labelling_survives_a_reload(server: str, project: AnnotationProject) -> None:
    from playwright.sync_api import expect, sync_playwright

    round_id = project.store.current_round().id
    proposals = project.store.proposals(round_id)
    labels = [project.card(p).view.source.label for p in proposals]

    def pair_on_screen(position: int, timeout: int = STEP_MS) -> None:
        """Waits for the pair, the script run's end and the answer buttons, so the next key is
        not sent mid-run or before the lazily loaded button code has bound its shortcut."""
        expect(page.get_by_test_id("stText").first).to_have_text(labels[position], timeout=timeout)
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)
        expect(page.get_by_role("button", name="Accept")).to_be_enabled(timeout=timeout)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(server)
            pair_on_screen(0, FIRST_RENDER_MS)
            for key, position in (("a", 1), ("x", 2), ("u", 3)):
                page.keyboard.press(key)
                pair_on_screen(position)
            page.keyboard.press("z")
            pair_on_screen(2)
            page.reload()
            pair_on_screen(2, FIRST_RENDER_MS)
            expect(page.get_by_text("2/6", exact=True)).to_be_visible()
            for path, title in PAGES:
                page.goto(f"{server}/{path}")
                expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible(timeout=FIRST_RENDER_MS)
                page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=STEP_MS)
                assert page.get_by_test_id("stException").count() == 0, f"{path}: {page.inner_text('body')[:500]}"
        finally:
            browser.close()
    positions = {p.id: p.position for p in proposals}
    kept = [(positions[d.proposal_id], d.answer) for d in project.store.effective_decisions(round_id)]
    assert kept == [(0, "accept"), (1, "reject")]
    assert [d.answer for d in project.store.decision_log()] == ["accept", "reject", "unsure", "undo"]


@pytest.fixture
def no_gold_server(no_gold_home: Path, tmp_path: Path) -> Iterator[str]:
    """A server on the home whose only project has no gold links (``conftest``)."""
    with serving(no_gold_home, tmp_path / "streamlit.log") as url:
        yield url


def test_a_project_without_gold_labels_and_delivers_its_alignment(
    no_gold_server: str, no_gold_project: AnnotationProject, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    project = no_gold_project
    first = project.store.proposals(project.store.current_round().id)[0]
    signal = stopping_text(project.stopping_signal(), project.settings.learner.self_training.target_precision)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{no_gold_server}/projects?project=nogold")
            button = page.get_by_role("button", name="Full alignment (TSV)")
            expect(button).to_be_visible(timeout=FIRST_RENDER_MS)
            nav = page.get_by_test_id("stSidebarNav")             # a fresh server's first visit, by deep link:
            expect(nav).to_contain_text("Experiments")             # the router's pages, not the pages/ folder's
            assert "project picker" not in nav.inner_text() and "routing" not in nav.inner_text()
            with page.expect_download(timeout=STEP_MS) as download:
                button.click()
            saved = tmp_path / "alignment.tsv"
            download.value.save_as(saved)
            page.get_by_role("link", name="Label", exact=True).click()      # in-app navigation: the project stays
            expect(page.get_by_test_id("stText").first).to_have_text(project.card(first).view.source.label,
                                                                      timeout=FIRST_RENDER_MS)
            expect(page.get_by_text(signal, exact=True)).to_be_visible()
            assert "project=nogold" in page.url and page.get_by_text("Page not found").count() == 0
        finally:
            browser.close()
    rows = saved.read_text(encoding="utf-8").splitlines()
    assert len(rows) == len(project.alignment()) and all(len(r.split("\t")) == 2 for r in rows)


def test_labelling_goes_on_while_the_next_model_trains(server: str, project: AnnotationProject) -> None:
    from playwright.sync_api import expect, sync_playwright

    from annotate.jobs import worker_lock
    from annotate.worker import run_jobs

    first = project.store.current_round().id
    with worker_lock(project.folder) as held, sync_playwright() as playwright:   # the model "trains" meanwhile
        assert held
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{server}/?project={project.folder.name}")          # the Label page is the default
            for count in range(1, len(project.store.proposals(first)) + 2):    # the round, then one standby pair
                expect(page.get_by_role("button", name="Accept")).to_be_enabled(timeout=FIRST_RENDER_MS)
                page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=STEP_MS)
                page.keyboard.press("x")
                deadline = time.monotonic() + STEP_MS / 1000
                while len(project.store.decision_log()) < count and time.monotonic() < deadline:
                    page.wait_for_timeout(50)                              # bounded wait for the answer to land
                assert len(project.store.decision_log()) == count
            expect(page.get_by_text("Standby pairs from model v1 while the next model trains")).to_be_visible(
                timeout=STEP_MS)
        finally:
            browser.close()
    standby = project.store.current_round()
    assert standby.strategy == "standby" and project.store.get_round(first).status == "closed"
    assert [d.answer for d in project.store.effective_decisions(standby.id)] == ["reject"]
    run_jobs(project.folder)
    assert project.store.get_round(standby.id).status == "closed" and project.store.current_round().model_version == 2
    assert len(project.store.rejected_pairs()) == len(project.store.proposals(first)) + 1   # the standby answer kept
