"""AppTest: the projects page lists and creates projects, reports bad seed files, runs the
simulated oracle and serves the exports."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from annotate.service import AnnotationProject, list_projects
from annotate.settings import ProjectSettings
from tests.ui.apptest import open_page, widget

def submit(app: AppTest, name: str, folder: Path, gold_ratio: float = 0.0, seeds: bytes | None = None) -> AppTest:
    widget(app.text_input, "Project name").input(name)
    widget(app.radio, "Dataset").set_value("folder")
    widget(app.text_input, "Dataset folder").input(str(folder))
    widget(app.selectbox, "Layout").set_value("images")
    widget(app.slider, "Share of the gold links").set_value(gold_ratio)
    if seeds is not None:
        app.get("file_uploader")[0].set_value(("seeds.tsv", seeds, "text/tab-separated-values"))
    widget(app.button, "Create project").click().run()
    assert not app.exception, app.exception
    return app


def test_lists_projects_and_creates_one(home: Path) -> None:
    app = open_page("projects")
    assert app.title[0].value == "Projects"
    assert list(app.dataframe[0].value["project"]) == ["demo"]
    submit(app, "second", home / "demo-120", gold_ratio=0.2)
    assert "second created" in app.success[0].value
    assert list(app.dataframe[0].value["project"]) == ["demo", "second"]
    created = AnnotationProject.open("second")
    assert len(created.store.seed_labels()) > 0
    assert [j.status for j in created.store.jobs()] == ["queued"]
    created.close()


def test_a_bad_seed_file_is_reported_and_creates_nothing(home: Path) -> None:
    app = submit(open_page("projects"), "bad", home / "demo-120", seeds=b"/m/nowhere\thttp://dbpedia.org/resource/X\n")
    assert "not created" in app.error[0].value
    assert app.code[0].value.startswith("seeds.tsv, line 1:")
    assert "not in the project's dataset" in app.code[0].value
    assert "bad" not in list_projects()


def test_a_project_needs_seed_links(home: Path) -> None:
    app = submit(open_page("projects"), "unseeded", home / "demo-120")
    assert "needs seed links" in app.error[0].value
    assert "unseeded" not in list_projects()


def test_the_simulated_oracle_answers_the_open_round(project: AnnotationProject) -> None:
    app = open_page("projects")
    widget(app.button, "Answer this round").click().run()
    assert "answered 6 pairs" in app.success[0].value
    assert project.store.current_round() is None
    assert {d.annotator for d in project.store.decision_log()} == {"oracle"}


def test_exports_serve_the_links_and_the_decision_log(
    project: AnnotationProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    proposal = project.next_pair("alice").proposal
    project.decide("alice", proposal.id, "accept")
    served: dict[str, bytes] = {}
    load = MemoryMediaFileStorage.load_and_get_id

    def record(self, data, mimetype, kind, filename=None):
        served[filename] = data
        return load(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    open_page("projects")
    links = served["demo-ent_links.tsv"].decode().splitlines()
    assert f"{proposal.source_uri}\t{proposal.target_uri}" in links
    assert len(links) == len(project.store.accepted_pairs())
    csv_rows = served["demo-decisions.csv"].decode().splitlines()
    assert len(csv_rows) == 2 and "accept" in csv_rows[1] and "alice" in csv_rows[1]
    entry = json.loads(served["demo-decisions.jsonl"].decode())
    assert (entry["annotator"], entry["answer"]) == ("alice", "accept")


def test_the_form_starts_from_the_service_defaults(home: Path) -> None:
    app = open_page("projects")
    defaults = ProjectSettings()
    assert widget(app.number_input, "Pairs per round").value == defaults.batch_size
    assert widget(app.number_input, "Warm-up epochs").value == defaults.warm_epochs
    assert widget(app.number_input, "Epochs per round").value == defaults.round_epochs
    assert widget(app.selectbox, "Strategy").value == defaults.learner.selection.strategy
