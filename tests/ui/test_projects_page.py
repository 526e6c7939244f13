"""AppTest: the projects page lists and creates projects, reports bad seed files, runs the
simulated oracle and serves the exports."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from annotate.service import AnnotationProject, create_project, list_projects
from annotate.settings import FUSION_TEXT, FUSIONS, MISSING_STRATEGIES, MISSING_TEXT, ProjectSettings
from tests.ui.apptest import open_page, widget
from tests.ui.conftest import TINY, no_gold_dataset


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


def test_a_project_is_created_with_the_chosen_fusion(home: Path) -> None:
    app = open_page("projects")
    widget(app.selectbox, "Modality fusion").set_value("mpsea")
    submit(app, "fused", home / "demo-120", gold_ratio=0.2)
    created = AnnotationProject.open("fused")
    assert created.settings.fusion == "mpsea" and created.settings.learner.model.mpsea_heads == 5
    created.close()
    table = app.dataframe[0].value.set_index("project")
    assert (table.loc["demo", "fusion"], table.loc["fused", "fusion"]) == ("global", "mpsea")
    widget(app.selectbox, "Manage project").set_value("fused").run()
    assert any(c.value.endswith(f"Fusion: {FUSION_TEXT['mpsea']}") for c in app.caption)


def test_a_project_is_created_with_the_chosen_missing_modality_strategy(home: Path) -> None:
    app = open_page("projects")
    choice = widget(app.selectbox, "Missing modalities")
    assert choice.value == ProjectSettings().missing == "vae"
    assert choice.options == [MISSING_TEXT[m] for m in MISSING_STRATEGIES]
    choice.set_value("maco+vae")
    submit(app, "generated", home / "demo-120", gold_ratio=0.2)
    created = AnnotationProject.open("generated")
    assert created.settings.missing == "maco+vae"
    assert created.settings.fusion == "global"
    created.close()
    table = app.dataframe[0].value.set_index("project")
    assert (table.loc["demo", "missing"], table.loc["generated", "missing"]) == ("vae", "maco+vae")
    widget(app.selectbox, "Manage project").set_value("generated").run()
    assert any(f"Missing modalities: {MISSING_TEXT['maco+vae']}" in c.value for c in app.caption)


def test_a_bad_seed_file_is_reported_and_creates_nothing(home: Path) -> None:
    app = submit(open_page("projects"), "bad", home / "demo-120", seeds=b"/m/nowhere\thttp://dbpedia.org/resource/X\n")
    assert "not created" in app.error[0].value
    assert app.code[0].value.startswith("seeds.tsv, line 1:")
    assert "not in the project's dataset" in app.code[0].value
    assert "bad" not in list_projects()


def test_a_project_without_seed_links_is_a_cold_start(home: Path) -> None:
    app = submit(open_page("projects"), "unseeded", home / "demo-120")
    assert not app.error and "without seed links (a cold start)" in app.success[0].value
    created = AnnotationProject.open("unseeded")
    assert created.store.seed_labels() == [] and [j.status for j in created.store.jobs()] == ["queued"]
    created.close()


def test_a_gold_share_from_a_folder_without_gold_is_refused_with_the_reason(home: Path, tmp_path: Path) -> None:
    folder, _, _ = no_gold_dataset(home / "demo-120", tmp_path)
    app = submit(open_page("projects"), "drawn", folder, gold_ratio=0.2)
    assert "not created" in app.error[0].value and not app.success
    assert "has no gold links" in app.code[0].value and "set the gold seed share to 0" in app.code[0].value
    assert "drawn" not in list_projects()


def served_files(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """What the page's download buttons serve, by file name (filled as the page runs)."""
    served: dict[str, bytes] = {}
    load = MemoryMediaFileStorage.load_and_get_id

    def record(self, data, mimetype, kind, filename=None):
        served[filename] = data
        return load(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return served


def test_the_full_alignment_downloads_in_three_formats_and_at_a_probability(
    project: AnnotationProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = served_files(monkeypatch)
    app = open_page("projects")
    records = project.alignment()
    assert any(f"aligns {len(records):,} KG1 entities" in c.value for c in app.caption)
    for suffix in (".tsv", ".csv", ".jsonl"):
        assert served[f"demo-alignment{suffix}"] == project.alignment_file(suffix)
    rows = served["demo-alignment.tsv"].decode().splitlines()
    assert len(rows) == len(records) and all(len(r.split("\t")) == 2 for r in rows)
    served.clear()
    widget(app.number_input, "Minimum probability").set_value(0.9).run()
    kept = project.alignment(0.9)
    assert 0 < len(kept) < len(records)                          # uncalibrated predictions drop, seeds stay
    assert len(served["demo-alignment.tsv"].decode().splitlines()) == len(kept)
    assert f"{len(kept):,} of {len(records):,} links in the download" in " ".join(c.value for c in app.caption)


def test_before_the_first_model_the_alignment_is_announced(home: Path, tmp_path: Path) -> None:
    folder, seeds, _ = no_gold_dataset(home / "demo-120", tmp_path)
    create_project("nogold", {"folder": str(folder), "layout": "images"}, TINY, seed_links=seeds,
                   start=False).close()
    app = open_page("projects")
    widget(app.selectbox, "Manage project").set_value("nogold").run()
    assert any("comes with the first model" in i.value for i in app.info)
    assert not [b for b in app.get("download_button") if b.label.startswith("Full alignment")]


def test_without_gold_the_oracle_is_disabled_and_the_alignment_downloads(
    no_gold_project: AnnotationProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = served_files(monkeypatch)
    app = open_page("projects")
    assert widget(app.button, "Answer this round").disabled and widget(app.slider, "Oracle error rate").disabled
    _, reason = no_gold_project.oracle_available()
    assert any(c.value == f"No simulated oracle: {reason}." for c in app.caption) and "no gold links" in reason
    records = no_gold_project.alignment()
    counts = records["provenance"].value_counts()
    summary = next(c.value for c in app.caption if "KG1 entities" in c.value)
    assert f"aligns {len(records):,} KG1 entities" in summary
    assert f"{counts['seed']:,} seed" in summary and f"{counts['human-accepted']:,} human-accepted" in summary
    for suffix in (".tsv", ".csv", ".jsonl"):
        assert served[f"nogold-alignment{suffix}"] == no_gold_project.alignment_file(suffix)
    served.clear()
    widget(app.number_input, "Minimum probability").set_value(1.0).run()
    verified = counts["seed"] + counts["human-accepted"]                  # verified links always pass
    assert len(served["nogold-alignment.tsv"].decode().splitlines()) == verified < len(records)
    assert served["nogold-alignment.csv"] == no_gold_project.alignment_file(".csv", 1.0)


def test_the_simulated_oracle_answers_the_open_round(project: AnnotationProject) -> None:
    app = open_page("projects")
    widget(app.button, "Answer this round").click().run()
    assert "answered 6 pairs" in app.success[0].value
    assert project.store.get_round(1).status == "closed" and project.store.current_round().strategy == "standby"
    assert {d.annotator for d in project.store.decision_log()} == {"oracle"}


def test_exports_serve_the_links_and_the_decision_log(
    project: AnnotationProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    proposal = project.next_pair("alice").proposal
    project.decide("alice", proposal.id, "accept")
    served = served_files(monkeypatch)
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
    fusion = widget(app.selectbox, "Modality fusion")
    assert fusion.value == defaults.fusion == "global" and fusion.options == [FUSION_TEXT[f] for f in FUSIONS]
