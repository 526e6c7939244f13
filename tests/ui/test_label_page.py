"""AppTest: the label page shows a pair, records answers in the store, undoes, skips,
shares one queue between annotators and follows the background worker."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from annotate.entity_weights import proposal_weights
from annotate.insights import stopping_text
from annotate.pair_view import PairView
from annotate.service import AnnotationProject, StoppingSignal
from annotate.worker import run_jobs

ROOT = Path(__file__).resolve().parents[2]


def open_label_page(annotator: str | None = None, project: str | None = None) -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    if annotator is not None:
        app.query_params["annotator"] = annotator
    if project is not None:
        app.query_params["project"] = project
    app.run()
    assert not app.exception, app.exception
    return app


def press(app: AppTest, key: str) -> AppTest:
    app.button(key=key).click().run()
    assert not app.exception, app.exception
    return app


def shown(app: AppTest) -> tuple[str, str]:
    """(source label, target label) of the pair on screen."""
    return app.text[0].value, app.text[1].value


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def labels_at(project: AnnotationProject, position: int) -> tuple[str, str]:
    proposal = project.store.proposals(project.store.current_round().id)[position]
    view = project.card(proposal).view
    return view.source.label, view.target.label


def answers(project: AnnotationProject) -> list[tuple[int, str]]:
    """(queue position, answer) of the effective decisions, oldest first."""
    round_id = project.store.current_round().id
    positions = {p.id: p.position for p in project.store.proposals(round_id)}
    return [(positions[d.proposal_id], d.answer) for d in project.store.effective_decisions(round_id)]


def test_shows_the_first_pair_with_its_evidence(project: AnnotationProject) -> None:
    app = open_label_page()
    assert app.title[0].value == "Label"
    assert shown(app) == labels_at(project, 0)
    assert {k: metrics(app)[k] for k in ("Round", "Answered", "Remaining", "Model")} == {
        "Round": "1", "Answered": "0/6", "Remaining": "6", "Model": "v1"}
    tables = {tuple(d.value.columns): d.value for d in app.dataframe}
    assert ("KG1 attribute", "KG1 value", "match", "KG2 value", "KG2 attribute") in tables
    alternatives = tables[("KG2 entity", "CSLS", "proposed")]
    assert len(alternatives) == 5 and alternatives["proposed"].sum() <= 1
    proposal = project.store.proposals(1)[0]
    listed = {a["target"]: a["csls"] for a in proposal.evidence["alternatives"]}
    assert metrics(app)["CSLS"] == f"{proposal.evidence['csls']:.3f}"      # one similarity on the card
    if proposal.target_id in listed:
        assert listed[proposal.target_id] == pytest.approx(proposal.evidence["csls"], abs=1e-6)
    assert any("Why selected" in m.value and "ds3" in m.value for m in app.markdown)


def pair_weights(app: AppTest, project: AnnotationProject) -> None:
    """The card's weights table is the weights file's row of each side of the first pair."""
    proposal = project.store.proposals(project.store.current_round().id)[0]
    expected = proposal_weights(project.store, proposal, project.data.pair.n_entities).pair(
        proposal.source_id, proposal.target_id)
    tables = {tuple(d.value.columns): d.value for d in app.dataframe}
    pd.testing.assert_frame_equal(tables[("modality", "KG1 source", "KG2 target")], expected)


def test_the_card_shows_the_pairs_fusion_weights_and_exact_shares(project: AnnotationProject) -> None:
    app = open_label_page()
    pair_weights(app, project)
    captions = [c.value for c in app.caption]
    assert "Fusion weight of each modality (the same for every entity)" in captions
    assert "Contribution of each modality to the similarity" in captions
    assert not any("pproximate" in c for c in captions)


def test_with_mpsea_the_card_shows_each_sides_weights_and_exact_shares(fused_project: AnnotationProject) -> None:
    app = open_label_page(project="fused")
    pair_weights(app, fused_project)
    captions = [c.value for c in app.caption]
    assert "Fusion weight of each modality" in captions
    assert "Contribution of each modality to the similarity" in captions
    assert not any("pproximate" in c for c in captions)


def test_shares_recorded_as_inexact_are_marked_approximate(fused_project: AnnotationProject, monkeypatch) -> None:
    """Proposals of MPSEA models that ranked the late joint (before it ranked the early one)."""
    monkeypatch.setattr(PairView, "shares_exact", property(lambda view: False))
    captions = [c.value for c in open_label_page(project="fused").caption]
    assert "Approximate contribution of each modality to the similarity" in captions
    assert any(c.startswith("Approximate: this fusion mixes the modalities") for c in captions)


def test_accept_records_the_decision_and_shows_the_next_pair(project: AnnotationProject) -> None:
    app = press(open_label_page(), "accept")
    assert answers(project) == [(0, "accept")]
    assert shown(app) == labels_at(project, 1)
    assert metrics(app)["Answered"] == "1/6" and metrics(app)["Accepted"] == "1"


def test_undo_restores_the_previous_pairs_in_turn(project: AnnotationProject) -> None:
    app = press(press(open_label_page(), "reject"), "unsure")
    assert answers(project) == [(0, "reject"), (1, "unsure")]
    assert metrics(app)["Rejected"] == "1" and metrics(app)["Unsure"] == "1"
    press(app, "undo")
    assert answers(project) == [(0, "reject")] and shown(app) == labels_at(project, 1)
    press(app, "undo_backspace")
    assert answers(project) == [] and shown(app) == labels_at(project, 0)
    assert [d.answer for d in project.store.decision_log()] == ["reject", "unsure", "undo", "undo"]
    press(app, "accept")
    assert shown(app) == labels_at(project, 1), "after undoing, the queue resumes where it was"


def test_skip_defers_the_pair_without_answering_it(project: AnnotationProject) -> None:
    app = press(open_label_page(), "skip")
    assert answers(project) == [(0, "skip")]
    assert shown(app) == labels_at(project, 1)
    assert metrics(app)["Answered"] == "0/6" and metrics(app)["Remaining"] == "6"


def test_annotators_work_from_one_queue(project: AnnotationProject) -> None:
    alice, bob = open_label_page("alice"), open_label_page("bob")
    assert shown(alice) == labels_at(project, 0) and shown(bob) == labels_at(project, 1)
    press(bob, "accept")
    assert shown(bob) == labels_at(project, 2)
    assert [d.annotator for d in project.store.effective_decisions()] == ["bob"]


def test_closing_the_round_shows_training_then_the_next_round(project: AnnotationProject) -> None:
    app = press(press(open_label_page(), "accept"), "close_round")
    standby = project.store.current_round()
    assert standby.strategy == "standby" and metrics(app)["Round"] == str(standby.id)   # labelling goes on
    assert any("Standby pairs from model v1 while the next model trains" in c.value for c in app.caption)
    assert app.sidebar.get("progress")[0].proto.text.startswith("Retraining (queued)")
    press(app, "accept")
    assert answers_of_round(project, standby.id) == [(0, "accept")]
    run_jobs(project.folder)
    app.run()
    assert metrics(app)["Round"] == str(standby.id + 1) and metrics(app)["Model"] == "v2"
    assert metrics(app)["Answered"] == "0/6" and app.button(key="accept")
    assert project.store.get_round(standby.id).status == "closed"


def test_without_a_standby_the_page_waits_for_the_model(project: AnnotationProject) -> None:
    (project.store.checkpoints_dir / "model-v1.standby.json").unlink()
    app = press(press(open_label_page(), "accept"), "close_round")
    assert project.store.current_round() is None and metrics(app)["Round"] == "—"
    assert "retraining" in app.info[0].value
    assert app.get("progress")[0].proto.text.startswith("Retraining (queued)")


def test_a_failed_job_offers_a_retry(project: AnnotationProject) -> None:
    job = project.store.create_job("train", {"round_id": None})
    project.store.claim_job(pid=1)
    project.store.fail_job(job.id, "Traceback: out of memory")
    app = open_label_page()
    assert "failed" in app.sidebar.error[0].value
    assert "out of memory" in app.sidebar.code[0].value
    press(app, "retry")
    assert project.store.get_job(job.id).status == "queued"


def test_a_worker_that_died_mid_job_shows_as_failed_with_a_retry(project: AnnotationProject) -> None:
    job = project.store.create_job("train", {"round_id": None})
    project.store.claim_job(pid=4242)                          # claimed, then the worker vanished
    app = open_label_page()
    assert "failed" in app.sidebar.error[0].value
    assert "pid 4242" in app.sidebar.code[0].value and "stopped during this job" in app.sidebar.code[0].value
    press(app, "retry")
    assert project.store.get_job(job.id).status == "queued"


def test_an_answer_refused_because_the_round_closed_says_nothing_was_lost(project: AnnotationProject) -> None:
    app = press(open_label_page(), "accept")
    project.close_round()                                      # e.g. another annotator closed it early
    press(app, "reject")
    assert "closed before your answer arrived" in app.warning[0].value
    assert "Nothing else was lost" in app.warning[0].value
    assert answers_of_round(project, 1) == [(0, "accept")]


def test_skipping_every_pair_left_closes_the_round_by_itself(project: AnnotationProject) -> None:
    app = open_label_page()
    for _ in range(6):
        press(app, "skip")
    assert project.store.get_round(1).status == "closed"
    assert project.progress().job.status == "queued"
    assert project.store.current_round().strategy == "standby" and app.button(key="accept")   # standby pairs next
    for _ in range(len(project.store.proposals(2))):
        press(app, "skip")
    assert project.store.current_round() is None
    assert "Round 2 closed: every pair left in it was skipped" in app.warning[0].value


def answers_of_round(project: AnnotationProject, round_id: int) -> list[tuple[int, str]]:
    positions = {p.id: p.position for p in project.store.proposals(round_id)}
    return [(positions[d.proposal_id], d.answer) for d in project.store.effective_decisions(round_id)]


def test_without_projects_points_to_the_projects_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALMEA_HOME", str(tmp_path))
    monkeypatch.chdir(ROOT)
    app = open_label_page()
    assert "No project yet" in app.info[0].value


def test_undo_without_a_decision_says_so(project: AnnotationProject) -> None:
    app = press(open_label_page(), "undo")
    assert app.warning[0].value == "Nothing to undo in this round."
    assert shown(app) == labels_at(project, 0)


def test_a_pair_picked_on_the_selection_map_opens_first(project: AnnotationProject) -> None:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    chosen = project.store.proposals(project.store.current_round().id)[4]
    app.session_state["open_proposal"] = chosen.id
    app.run()
    assert not app.exception, app.exception
    assert shown(app) == labels_at(project, 4)
    press(app, "accept")
    assert answers(project) == [(4, "accept")]


def test_the_stopping_signal_and_the_selection_reason(project: AnnotationProject) -> None:
    app = open_label_page()
    assert any(c.value == "Model v1: first model · not calibrated yet (0 answers)" for c in app.caption)
    first = project.store.proposals(1)[0]
    why = next(m.value for m in app.markdown if "Why selected" in m.value)
    assert ("filled from the pool" in why) == (not first.row_weight)
    imputed = first.evidence["imputed"]
    assert any(c.value.startswith(r"\* Imputed: ") and all(m in c.value for m in imputed) and "missing" in c.value
               for c in app.caption) == bool(imputed)


def test_without_gold_the_stopping_signal_counts_the_changed_links(no_gold_project: AnnotationProject) -> None:
    signal = no_gold_project.stopping_signal()
    assert (signal.model_version, signal.previous_version, signal.answers) == (2, 1, 6)
    app = open_label_page(project="nogold")
    [line] = [c.value for c in app.main.caption if c.value.startswith("Model v2:")]
    assert line == stopping_text(signal, no_gold_project.settings.learner.self_training.target_precision)
    assert line.startswith(f"Model v2: {signal.changed_links:,} links changed since v1 · ")
    assert shown(app) == labels_at(no_gold_project, 0)


def test_the_stopping_text_tells_uncalibrated_from_unreached() -> None:
    first = StoppingSignal(1, None, None, None, None, None, 0)
    assert stopping_text(first, 0.95) == "Model v1: first model · not calibrated yet (0 answers)"
    unreached = StoppingSignal(2, 1, 15, None, None, 0, 6)
    assert stopping_text(unreached, 0.95) == ("Model v2: 15 links changed since v1 · no set of predicted links "
                                              "reaches the 95% precision target yet (calibrated on 6 answers)")
    reached = StoppingSignal(3, 2, 1234, 0.8123, 0.9612, 40, 12)
    assert stopping_text(reached, 0.95) == ("Model v3: 1,234 links changed since v2 · estimated precision 0.961 "
                                            "for the 40 predicted links at probability ≥ 0.81 (calibrated on 12 "
                                            "answers)")


def test_a_skipped_pair_comes_back_on_request(project: AnnotationProject) -> None:
    app = press(open_label_page(), "skip")
    assert shown(app) == labels_at(project, 1)
    press(app, "show_skipped")
    assert shown(app) == labels_at(project, 0)
    press(app, "accept")
    assert answers(project) == [(0, "accept")]
    assert all(b.key != "show_skipped" for b in app.button) and project.skipped_pairs("annotator-1") == []
