"""AppTest, team mode (ALMEA_ACCOUNTS): every page needs a sign-in, decisions carry the
signed-in account whatever the URL says, undo touches only one's own answers, annotators
never reach an admin action, and datasets come only from the team's data folder. Local mode
keeps serving without a login, on 127.0.0.1 only."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from annotate.accounts import ADMIN, ANNOTATOR, load_team_config
from annotate.service import AnnotationProject
from tests.ui.apptest import ROOT
from tests.ui.conftest import PASSWORDS

PAGES = ("label", "projects", "dataset", "insights", "experiments", "accounts")


def signed_in(username: str, page: str | None = None, password: str | None = None,
              query: dict | None = None) -> AppTest:
    """The app after ``username`` signed in on the form, on ``pages/<page>.py`` if given."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    app.run()
    username_box, password_box = app.text_input
    username_box.input(username)
    password_box.input(password or PASSWORDS[username])
    app.button[0].click().run()
    if page is not None:
        app.switch_page(f"pages/{page}.py").run()
    assert not app.exception, app.exception
    return app


def titles(app: AppTest) -> list[str]:
    return [t.value for t in app.title]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_only_the_sign_in_form(team: Path, page: str) -> None:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    app.switch_page(f"pages/{page}.py").run()
    assert not app.exception, app.exception
    assert titles(app) == ["ALMEA Annotator"]
    assert [w.label for w in app.text_input] == ["Username", "Password"]
    assert [b.label for b in app.button] == ["Sign in"]
    assert not app.dataframe and not app.metric


def test_a_wrong_password_signs_nobody_in(team: Path) -> None:
    app = signed_in("alice", password="not-her-password")
    assert titles(app) == ["ALMEA Annotator"]
    assert [e.value for e in app.error] == ["Wrong username or password."]


def test_answers_and_undo_belong_to_the_signed_in_account(team: Path, project: AnnotationProject) -> None:
    first = project.store.proposals(project.store.current_round().id)[0]
    project.decide("boss", first.id, "reject")
    app = signed_in("alice", query={"annotator": "boss"})         # the URL cannot make her boss
    assert titles(app) == ["Label"]
    assert "Annotator" not in [w.label for w in app.text_input]
    app.button(key="accept").click().run()
    decisions = {(d.annotator, d.answer) for d in project.store.effective_decisions(first.round_id)}
    assert decisions == {("boss", "reject"), ("alice", "accept")}
    app.button(key="undo").click().run()
    app.button(key="undo").click().run()                              # nothing more of hers to undo
    assert not app.exception, app.exception
    assert {(d.annotator, d.answer) for d in project.store.effective_decisions(first.round_id)} == {("boss", "reject")}


def test_an_annotator_reaches_no_admin_action(team: Path, project: AnnotationProject) -> None:
    label = signed_in("alice")
    assert not [b for b in label.button if b.key == "close_round"]
    projects = signed_in("alice", "projects")
    assert titles(projects) == ["Projects"]
    assert projects.dataframe                                        # she sees every project's progress
    assert not [w for w in projects.text_input if w.label == "Project name"]
    assert not projects.get("download_button") and not projects.button
    assert "Creating a project is for admins; you are signed in as an annotator." in [c.value for c in projects.caption]
    for page in ("experiments", "accounts"):                      # not even registered for her
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            signed_in("alice", page)


def test_an_admin_creates_projects_from_the_data_folder_only(team: Path, home: Path, tmp_path: Path) -> None:
    app = signed_in("boss", "projects")
    assert [w.label for w in app.text_input if w.label.startswith("Dataset folder")] == []
    folder = next(s for s in app.selectbox if s.label.startswith("Dataset folder"))
    assert folder.options == ["demo-120", "demo-120/images"]
    assert app.get("download_button")                               # the admin manages projects
    next(w for w in app.text_input if w.label == "Project name").input("team-project")
    app.radio[0].set_value("folder")
    folder.set_value("demo-120")
    next(b for b in app.button if b.label == "Create project").click().run()
    assert not app.exception and not app.error, (app.exception, [e.value for e in app.error])
    created = AnnotationProject.open("team-project", home)
    try:
        assert created.dataset["folder"] == str((tmp_path / "data" / "demo-120").resolve())
    finally:
        created.close()


def test_an_admin_manages_accounts(team: Path) -> None:
    app = signed_in("boss", "accounts")
    assert titles(app) == ["Accounts"]
    assert list(app.dataframe[0].value["username"]) == ["boss", "alice"]
    username, name, password = app.text_input
    username.input("carol")
    name.input("Carol")
    password.input("carol-password")
    next(b for b in app.button if b.label == "Add or update").click().run()
    assert not app.exception, app.exception
    config = load_team_config(team)
    assert (config.account("carol").name, config.account("carol").role) == ("Carol", ANNOTATOR)
    assert config.account("boss").role == ADMIN
    assert signed_in("carol", password="carol-password").title[0].value == "Label"


def test_local_mode_needs_no_login_but_refuses_an_open_address(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALMEA_ACCOUNTS", raising=False)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert titles(app) == ["Label"] and "Annotator" in [w.label for w in app.text_input]
    previous = streamlit_config.get_option("server.address")
    streamlit_config.set_option("server.address", "0.0.0.0")
    try:
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    finally:
        streamlit_config.set_option("server.address", previous)
    assert titles(app) == []
    assert "anyone who reaches it could label as anyone" in app.error[0].value
