"""Insights: the worker's selection map (and maps that cannot be read), modality weights,
learning curve and selection quality."""
from __future__ import annotations

import re

import numpy as np
import pytest

from annotate.insights import (
    IDLE_SECONDS,
    NOT_PROPOSED,
    UNANSWERED,
    agreement_frame,
    clicked_proposal,
    decision_time_summary,
    decision_times_frame,
    learning_curve_frame,
    modality_weights_frame,
    round_precision_frame,
    selection_map_frame,
)
from annotate.figures import selection_map_figure
from annotate.selection_map import LABELLED_SHOWN, SelectionMap, SelectionMapError, map_path, selection_map
from annotate.service import AnnotationProject
from annotate.worker import run_jobs
from storage import ProjectStore
from tests.annotate.conftest import TINY


def proposal_pairs(project: AnnotationProject, round_id: int) -> set[tuple[int, int]]:
    return {(p.source_id, p.target_id) for p in project.store.proposals(round_id)}


def test_the_worker_stores_a_map_of_the_pool_per_model_version(project: AnnotationProject) -> None:
    shown = SelectionMap.load(map_path(project.folder, 1))
    assert {tuple(p) for p in shown.pairs[shown.chosen].tolist()} == proposal_pairs(project, 1)
    assert shown.chosen_without_diversity.sum() == TINY.batch_size
    assert len(shown.labelled) == len(project.store.accepted_pairs())
    assert shown.xy.shape == (len(shown.pairs), 2) and np.isfinite(shown.xy).all()
    assert shown.labelled_xy.shape == (len(shown.labelled), 2)
    assert (np.diff(shown.confidence) <= 1e-6).all()                       # the pool's confidence order


def test_selection_map_projects_the_pairs_geometry() -> None:
    rng = np.random.default_rng(0)
    embeddings = np.concatenate([rng.normal(size=(20, 8)), rng.normal(size=(20, 8))])
    embeddings[[0, 1, 20, 21]] += 40.0                                    # two pairs far from the rest
    pool = np.array([[0, 20], [1, 21], [2, 22], [3, 23], [4, 24]])
    shown = selection_map(embeddings, pool, np.linspace(1, 0, 5), np.array([[5, 25], [6, 26]]),
                          chosen=pool[[0, 2]], chosen_without_diversity=pool[[2, 3]])
    assert shown.chosen.tolist() == [True, False, True, False, False]
    assert shown.chosen_without_diversity.tolist() == [False, False, True, True, False]
    far = np.linalg.norm(shown.xy[0] - shown.xy[1])
    assert far < 0.1 * np.linalg.norm(shown.xy[0] - shown.xy[2])           # the far pairs sit together
    single = selection_map(embeddings, pool[:1], np.ones(1), np.zeros((0, 2)), pool[:1], pool[:1])
    assert single.xy.tolist() == [[0.0, 0.0]] and single.labelled_xy.shape == (0, 2)


def test_a_map_round_trips_through_its_file(tmp_path) -> None:
    shown = selection_map(np.eye(4), np.array([[0, 2], [1, 3]]), np.ones(2), np.array([[0, 3]]),
                          np.array([[0, 2]]), np.array([[1, 3]]))
    shown.save(map_path(tmp_path, 7))
    loaded = SelectionMap.load(tmp_path / "maps" / "map-v7.npz")
    assert loaded.chosen.tolist() == [True, False] and np.array_equal(loaded.labelled, shown.labelled)
    assert list((tmp_path / "maps").iterdir()) == [tmp_path / "maps" / "map-v7.npz"]


def test_a_map_draws_a_fixed_sample_of_many_labelled_pairs(tmp_path) -> None:
    n = LABELLED_SHOWN + 500
    embeddings = np.random.default_rng(0).normal(size=(2 * n, 4))
    labelled = np.stack([np.arange(n), np.arange(n, 2 * n)], axis=1)
    pool = labelled[:3]
    shown = selection_map(embeddings, pool, np.ones(3), labelled, pool[:1], pool[:1])
    again = selection_map(embeddings, pool, np.ones(3), labelled, pool[:1], pool[:1])
    assert len(shown.labelled) == LABELLED_SHOWN and int(shown.labelled_total) == n
    assert np.array_equal(shown.labelled, again.labelled)                   # the same pairs each time
    assert len({tuple(p) for p in shown.labelled.tolist()}) == LABELLED_SHOWN
    assert {tuple(p) for p in shown.labelled.tolist()} <= {tuple(p) for p in labelled.tolist()}
    few = selection_map(embeddings, pool, np.ones(3), labelled[:10], pool[:1], pool[:1])
    assert np.array_equal(few.labelled, labelled[:10]) and int(few.labelled_total) == 10


def test_the_legend_says_the_labelled_layer_is_a_sample(project: AnnotationProject) -> None:
    path = map_path(project.folder, 1)
    points = selection_map_frame(project, 1)
    drawn = int((points["layer"] == "labelled").sum())
    assert points.attrs["labelled_total"] == drawn
    assert f"labelled ({drawn})" in {t.name for t in selection_map_figure(points).data}
    _rewrite(path, labelled_total=np.asarray(drawn + 1000, np.int64))
    points = selection_map_frame(project, 1)
    names = {t.name for t in selection_map_figure(points).data}
    assert f"labelled (a sample of {drawn} of {drawn + 1000})" in names


def test_a_map_written_before_the_sample_still_loads(project: AnnotationProject) -> None:
    path = map_path(project.folder, 1)
    with np.load(path) as stored:
        older = {name: stored[name] for name in stored.files if name != "labelled_total"}
    np.savez(path, **older)
    assert selection_map_frame(project, 1).attrs["labelled_total"] == len(older["labelled"])


@pytest.mark.parametrize("tamper, problem", [
    (lambda path: path.write_bytes(b"not a zip file"), "not a readable map"),
    (lambda path: path.write_bytes(path.read_bytes()[:200]), "not a readable map"),
    (lambda path: np.savez(path, pairs=np.zeros((3, 2), np.int64)), "are missing"),
    (lambda path: _rewrite(path, xy=np.zeros((1, 2), np.float32)), "xy has shape (1, 2)"),
    (lambda path: _rewrite(path, pairs=np.full((len(np.load(path)["pairs"]), 2), 10**9)), "not entities"),
    (lambda path: _rewrite(path, chosen=np.zeros(len(np.load(path)["pairs"]), np.float32)), "expected bool"),
    (lambda path: _rewrite(path, labelled_total=np.asarray(0, np.int64)), "not a count of at least"),
    (lambda path: _rewrite(path, pairs=np.array([{"x": 1}], dtype=object)), "not a readable map"),   # a pickle
])
def test_an_unreadable_map_is_refused_with_its_problem(project: AnnotationProject, tamper, problem: str) -> None:
    path = map_path(project.folder, 1)
    tamper(path)
    with pytest.raises(SelectionMapError, match=re.escape(problem)) as refused:
        selection_map_frame(project, 1)
    assert refused.value.path == path and len(str(refused.value)) < 400


def _rewrite(path, **arrays: np.ndarray) -> None:
    """The map in ``path`` with some arrays replaced (a tampered file)."""
    with np.load(path) as stored:
        kept = {name: stored[name] for name in stored.files}
    np.savez(path, **{**kept, **arrays})


def test_map_frame_colours_the_selection_by_answer(project: AnnotationProject) -> None:
    trained_on = len(project.store.accepted_pairs())
    first, second, third = project.store.proposals(1)[:3]
    project.store.decide(first.id, "ann", "accept")
    project.store.decide(second.id, "ann", "reject")
    project.store.decide(third.id, "ann", "skip")
    points = selection_map_frame(project, 1)
    pool = points[points["layer"] == "pool"]
    picked = pool[pool["chosen"]].set_index("proposal_id")
    assert picked.loc[first.id, "answer"] == "accept" and picked.loc[second.id, "answer"] == "reject"
    assert picked.loc[third.id, "answer"] == UNANSWERED                     # a skip is no answer
    assert set(pool.loc[~pool["chosen"], "answer"]) == {NOT_PROPOSED}
    assert pool.loc[~pool["chosen"], "proposal_id"].isna().all()
    assert picked.loc[first.id, "source_label"] == project.entity_label(first.source_id)
    assert (points["layer"] == "labelled").sum() == trained_on


def test_map_frame_is_none_without_a_map(project: AnnotationProject) -> None:
    map_path(project.folder, 1).unlink()
    assert selection_map_frame(project, 1) is None


@pytest.mark.parametrize("points, expected", [
    ([], None),
    ([{"curve_number": 0, "point_index": 3}], None),                      # the grey pool: no proposal
    ([{"customdata": None}, {"customdata": 12}], 12),
    ([{"customdata": [7]}], 7),
])
def test_clicked_proposal(points: list[dict], expected: int | None) -> None:
    assert clicked_proposal(points) == expected


def test_modality_weights_and_learning_curve_per_model_version(project: AnnotationProject) -> None:
    weights = modality_weights_frame(project)
    assert set(weights["modality"]) == set(project.store.latest_checkpoint().metrics["modality_weights"])
    assert weights["weight"].sum() == pytest.approx(1.0)
    curve = learning_curve_frame(project)
    assert curve["model_version"].tolist() == [1]
    assert curve["labelled"].tolist() == [len(project.store.accepted_pairs())]
    assert curve[["l2r_hits@1", "l2r_mrr", "r2l_hits@1", "r2l_mrr"]].stack().between(0, 1).all()


def test_a_second_round_adds_a_model_version_and_its_map(project: AnnotationProject) -> None:
    proposals = project.store.proposals(1)
    project.store.decide(proposals[0].id, "ann", "accept")
    project.store.decide(proposals[1].id, "ann", "reject")
    project.store.decide(proposals[2].id, "ann", "unsure")
    project.store.close_round(1)
    project.store.create_job("train", {"round_id": 1})
    run_jobs(project.folder)
    assert map_path(project.folder, 2).is_file()
    weights = modality_weights_frame(project)
    assert weights.groupby("model_version")["weight"].sum().round(6).tolist() == [1.0, 1.0]
    assert learning_curve_frame(project)["labelled"].diff().iloc[1] == 1    # the accepted pair
    rounds = round_precision_frame(project)
    assert rounds["round"].tolist() == [1, 2]
    first = rounds.iloc[0]
    assert (first["answered"], first["accepted"], first["rejected"], first["unsure"]) == (3, 1, 1, 1)
    assert first["precision"] == pytest.approx(1 / 3) and rounds["precision"].isna().tolist() == [False, True]
    points = selection_map_frame(project, 2)
    assert set(points.loc[points["layer"] == "pool"].query("chosen")["answer"]) == {UNANSWERED}


def test_agreement_of_pairs_answered_by_two_annotators(project: AnnotationProject) -> None:
    same, differ, alone = project.store.proposals(1)[:3]
    for annotator in ("ann", "bob"):
        project.store.decide(same.id, annotator, "accept")
    project.store.decide(differ.id, "ann", "accept")
    project.store.decide(differ.id, "bob", "reject")
    project.store.decide(alone.id, "ann", "reject")
    agreement = agreement_frame(project).set_index("source")
    assert len(agreement) == 2
    assert agreement.loc[same.source_uri, "agreed"] and agreement.loc[same.source_uri, "verdict"] == "accept"
    assert not agreement.loc[differ.source_uri, "agreed"] and agreement.loc[differ.source_uri, "verdict"] == "conflict"
    assert agreement.loc[differ.source_uri, "answers"] == "ann: accept, bob: reject"


def test_time_per_answer_skips_long_pauses(project: AnnotationProject) -> None:
    now = [0.0]
    project.store.close()
    project.store = ProjectStore.open(project.folder, clock=lambda: now[0])
    p = project.store.proposals(1)

    def at(seconds: float, annotator: str, proposal: int | None, answer: str = "accept") -> None:
        now[0] = seconds
        if proposal is None:
            project.store.undo_last(annotator)
        else:
            project.store.decide(p[proposal].id, annotator, answer)

    at(100, "ann", 0)
    at(105, "ann", 1)
    at(110, "ann", None)                                                   # undo: an action, not an answer
    at(112, "ann", 1, "reject")
    at(112 + IDLE_SECONDS + 1, "ann", 2)                                   # back from a break
    at(50, "bob", 3)
    at(80, "bob", 4, "skip")
    times = decision_times_frame(project)
    assert sorted(zip(times["annotator"], times["seconds"], times["answer"])) == [
        ("ann", 2.0, "reject"), ("ann", 5.0, "accept"), ("bob", 30.0, "skip")]
    summary = decision_time_summary(times).set_index("annotator")
    assert summary.loc["ann", "answers"] == 2 and summary.loc["ann", "median_seconds"] == 3.5


def test_a_failed_map_leaves_the_round_open(
    project: AnnotationProject, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
) -> None:
    def broken(*args, **kwargs):
        raise MemoryError("no room for the map")

    monkeypatch.setattr("annotate.worker.selection_map", broken)
    project.store.close_round(1)
    project.store.create_job("train", {"round_id": 1})
    run_jobs(project.folder)
    assert project.store.latest_job("train").status == "done" and project.store.current_round().id == 2
    assert not map_path(project.folder, 2).exists() and selection_map_frame(project, 2) is None
    assert "no room for the map" in capsys.readouterr().err
