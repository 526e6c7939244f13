"""Headless Chromium, team mode: sign in, label by keyboard as the signed-in account, stay
signed in across a reload (the session cookie), see no admin page, and sign out for good."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from annotate.service import AnnotationProject
from tests.ui.test_browser import CHROMIUM, CHROMIUM_ARGS, FIRST_RENDER_MS, STEP_MS, pytestmark, serving  # noqa: F401
from tests.ui.conftest import PASSWORDS


@pytest.fixture
def team_server(home: Path, team: Path, tmp_path: Path) -> Iterator[str]:
    with serving(home, tmp_path / "streamlit.log", {"ALMEA_ACCOUNTS": str(team)}) as url:
        yield url


def test_an_annotator_signs_in_labels_as_herself_and_signs_out(team_server: str, project: AnnotationProject) -> None:
    from playwright.sync_api import expect, sync_playwright

    round_id = project.store.current_round().id
    first = project.card(project.store.proposals(round_id)[0]).view.source.label

    def settled() -> None:
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=STEP_MS)

    def sign_in_form() -> None:
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=FIRST_RENDER_MS)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{team_server}/label?annotator=boss")
            sign_in_form()
            page.get_by_role("textbox", name="Username").fill("alice")
            page.get_by_role("textbox", name="Password").fill(PASSWORDS["alice"])
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_test_id("stText").first).to_have_text(first, timeout=FIRST_RENDER_MS)
            expect(page.get_by_text("Signed in as Alice")).to_be_visible()
            page.wait_for_function("() => document.cookie.includes('almea_session=')", timeout=FIRST_RENDER_MS)
            assert page.get_by_role("link", name="Experiments").count() == 0
            assert page.get_by_role("link", name="Accounts").count() == 0
            settled()
            expect(page.get_by_role("button", name="Accept")).to_be_enabled(timeout=STEP_MS)
            page.keyboard.press("a")
            expect(page.get_by_text("1/6", exact=True)).to_be_visible(timeout=STEP_MS)
            page.reload()                                          # the cookie keeps her signed in
            expect(page.get_by_text("Signed in as Alice")).to_be_visible(timeout=FIRST_RENDER_MS)
            settled()
            page.get_by_role("button", name="Sign out").click()
            sign_in_form()
            # The deletion runs in a cookie-manager iframe that this run mounts afresh: like the
            # cookie's first write, it may take a first render's time on a loaded machine.
            page.wait_for_function("() => !document.cookie.includes('almea_session=')", timeout=FIRST_RENDER_MS)
            page.reload()                                          # and signing out ends the session
            sign_in_form()
            settled()
            assert page.get_by_text("Signed in as").count() == 0
        finally:
            browser.close()
    decisions = project.store.effective_decisions(round_id)
    assert [(d.annotator, d.answer) for d in decisions] == [("alice", "accept")]
