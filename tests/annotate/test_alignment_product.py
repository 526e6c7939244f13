"""The alignment is the product: self-training in the worker, the full alignment after every
model, projects without gold links, cold starts, and the service API over them."""
from __future__ import annotations

import io
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from almea.active import SelectionConfig
from almea.active.self_training import SelfTrainingConfig, audit_size
from almea.alignment.scores import SCORE_COLUMNS
from almea.alignment.export import PROJECT_ALIGNMENT, read_alignment
from annotate.alignment_output import changed_links, load_pseudo_labels, version_file
from annotate.answers import CALIBRATION, answers_frame
from annotate.project_data import project_data
from annotate.service import AnnotationProject, StoppingSignal, create_project
from annotate.settings import ProjectSettings
from annotate.worker import run_jobs
from storage import ProjectStore
from tests.annotate.conftest import TINY

SELF_TRAINING = replace(TINY, learner=replace(
    TINY.learner, selection=SelectionConfig(strategy="uncertainty"),
    self_training=SelfTrainingConfig(enabled=True, min_answers=4)))
"""The tiny settings with self-training, calibrated once a batch (6 pairs) is answered."""
CURVE = ["threshold", "links", "coverage", "estimated_precision", "answered", "answered_precision", "wilson_low",
         "wilson_high"]


def demo_folder(home: Path) -> Path:
    return next(home.glob("demo-*"))


def new_project(home: Path, name: str, settings: ProjectSettings, folder: Path | None = None, **kwargs):
    project = create_project(name, {"folder": str(folder or demo_folder(home)), "layout": "images"}, settings,
                             home=home, start=False, **kwargs)
    project.ensure_worker = lambda: False                               # jobs run here, in-process
    project.store.create_job("train", {"round_id": None})
    run_jobs(project.folder)
    assert project.store.latest_job().status == "done", project.store.latest_job().error
    return project


def next_model(project: AnnotationProject, answer=None) -> None:
    """Answer the open round (the oracle, or ``answer(proposal) -> str``) and train the next model."""
    if answer is None:
        project.answer_with_oracle()
    else:
        for proposal in project.store.proposals(project.store.current_round().id):
            project.decide("ann", proposal.id, answer(proposal))
    run_jobs(project.folder)
    assert project.store.latest_job().status == "done", project.store.latest_job().error


def check_one_to_one(project: AnnotationProject, records: pd.DataFrame) -> None:
    pair = project.data.pair
    assert len(records) == min(pair.n1, pair.n2)                       # every KG1 entity with a candidate
    assert records["source"].is_unique and records["target"].is_unique
    assert set(records["source"]) <= set(pair.entities[: pair.n1])
    assert set(records["target"]) <= set(pair.entities[pair.n1 :])


def test_the_worker_self_trains_and_writes_the_alignment_after_every_model(home: Path) -> None:
    project = new_project(home, "st", SELF_TRAINING, gold_seed_ratio=0.3)
    first = project.store.proposals(1)
    assert project.store.get_round(1).strategy == "uncertainty"
    audit = [p.evidence[CALIBRATION]["audit"] for p in first]
    assert sum(audit) == audit_size(TINY.batch_size, 0.1) == 1
    assert all((p.evidence["strategy"] == "audit") == flag for p, flag in zip(first, audit))
    for proposal in first:
        assert set(proposal.evidence[CALIBRATION]) == set(SCORE_COLUMNS[2:]) | {"audit"}
        assert proposal.evidence[CALIBRATION]["trained"] is False       # the base model trains no pseudo-labels
    v1 = project.store.latest_checkpoint()
    assert v1.metrics["pseudo_labels"] == 0 and v1.metrics["changed_links"] is None
    assert project.quality_curve() is None and "4 answered pairs" in project.quality_note()
    assert project.stopping_signal() == StoppingSignal(1, None, None, None, None, None, 0)
    records = project.alignment()
    check_one_to_one(project, records)
    assert (records["provenance"] == "seed").sum() == len(project.store.seed_labels())
    assert records["probability"][records["provenance"] == "predicted"].isna().all()    # no answers yet
    latest = read_alignment(project.folder / PROJECT_ALIGNMENT)
    served = read_alignment(io.BytesIO(project.alignment_file(".jsonl")))
    pd.testing.assert_frame_equal(latest, records)
    pd.testing.assert_frame_equal(served, records)

    next_model(project)
    v2 = project.store.latest_checkpoint()
    trained = load_pseudo_labels(v2)
    assert v2.metrics["pseudo_labels"] == len(trained) > 0
    assert v2.metrics["epochs"] == TINY.warm_epochs + TINY.round_epochs
    pseudo = {tuple(p) for p in trained.tolist()}
    for proposal in project.store.proposals(project.store.current_round().id):
        assert proposal.evidence[CALIBRATION]["trained"] == ((proposal.source_id, proposal.target_id) in pseudo)
    answers = answers_frame(project.store)
    gold = {tuple(p) for p in project.data.pair.links.tolist()}
    assert len(answers) == TINY.batch_size
    assert answers["accepted"].tolist() == [(s, t) in gold for s, t in answers[["source", "target"]].to_numpy().tolist()]
    assert answers["audit"].tolist() == audit
    old, new = read_alignment(version_file(project.folder, 1)), project.alignment()
    check_one_to_one(project, new)
    assert (new["provenance"] == "pseudo-label").sum() == v2.metrics["pseudo_links"]
    signal = project.stopping_signal()
    assert (signal.model_version, signal.previous_version, signal.answers) == (2, 1, TINY.batch_size)
    assert signal.changed_links == changed_links(new, old) == v2.metrics["changed_links"]
    curve = project.quality_curve()
    assert list(curve.columns) == [*CURVE, "true_precision"] and len(curve) == 20
    assert (np.diff(curve["links"]) <= 0).all() and curve["links"].iloc[0] == v2.metrics["predicted_links"]
    assert signal.threshold is not None                            # the file's floats are read to ~1e-16
    above = new[(new["provenance"].isin(["predicted", "pseudo-label"])) & (new["probability"] >= signal.threshold - 1e-12)]
    assert signal.links_above == len(above) > 0 and signal.estimated_precision >= 0.95 - 1e-9

    next_model(project)
    kept = sorted(p.name for p in (project.folder / PROJECT_ALIGNMENT.parent).iterdir())
    assert kept == ["latest.jsonl", "v2.jsonl", "v3.jsonl"]             # latest and previous only


def test_changed_links_counts_moved_added_and_dropped_sources() -> None:
    old = pd.DataFrame({"source": ["a", "b", "c"], "target": ["x", "y", "z"]})
    new = pd.DataFrame({"source": ["a", "b", "d"], "target": ["x", "z", "w"]})
    assert changed_links(new, old) == 3 and changed_links(old, old) == 0


@pytest.fixture
def no_gold(home: Path, tmp_path: Path) -> tuple[Path, Path, set[tuple[str, str]]]:
    """The demo pair without its ``ent_links``, a seed TSV of 20 of its links, and all its gold."""
    folder = tmp_path / "no-gold"
    shutil.copytree(demo_folder(home), folder)
    gold = [tuple(line.split("\t")) for line in (folder / "ent_links").read_text(encoding="utf-8").splitlines()]
    (folder / "ent_links").unlink()
    seeds = tmp_path / "seeds.tsv"
    seeds.write_text("".join(f"{s}\t{t}\n" for s, t in gold[:20]), encoding="utf-8")
    return folder, seeds, set(gold)


def test_a_project_without_gold_starts_from_seeds_and_exports_its_alignment(home: Path, no_gold) -> None:
    folder, seeds, gold = no_gold
    with pytest.raises(ValueError, match="no gold links"):
        create_project("drawn", {"folder": str(folder), "layout": "images"}, SELF_TRAINING, gold_seed_ratio=0.3,
                       home=home, start=False)
    project = new_project(home, "nogold", SELF_TRAINING, folder, seed_links=seeds)
    assert not project.has_gold and project.data.pair.links.shape == (0, 2) and len(project.held_out()) == 0
    available, reason = project.oracle_available()
    assert not available and "no gold links" in reason
    with pytest.raises(ValueError, match="no gold links"):
        project.answer_with_oracle()
    assert "l2r" not in project.store.latest_checkpoint().metrics
    next_model(project, lambda p: "accept" if (p.source_uri, p.target_uri) in gold else "reject")
    accepted = project.store.round_counts(1).accepted
    records = project.alignment()
    check_one_to_one(project, records)
    assert (records["provenance"] == "human-accepted").sum() == accepted
    tsv = project.alignment_file(".tsv").decode().splitlines()
    assert len(tsv) == len(records) and all(len(line.split("\t")) == 2 for line in tsv)
    verified = project.alignment_file(".tsv", min_probability=1.0).decode().splitlines()
    assert len(verified) == 20 + accepted
    csv = pd.read_csv(io.BytesIO(project.alignment_file(".csv")))
    assert list(csv.columns) == ["source", "target", "csls", "margin", "probability", "mutual", "provenance"]
    assert len(csv) == len(records)
    rows = [json.loads(line) for line in project.alignment_file(".jsonl").decode().splitlines()]
    assert [r["source"] for r in rows] == records["source"].tolist()
    with pytest.raises(ValueError, match="unknown alignment format"):
        project.alignment_file(".parquet")
    curve = project.quality_curve()
    assert curve is not None and list(curve.columns) == CURVE              # no gold, no true precision


@pytest.mark.parametrize("settings", [TINY, SELF_TRAINING], ids=["plain", "self-training"])
def test_a_cold_start_proposes_the_most_confident_pairs_then_trains_on_the_answers(home: Path,
                                                                                  settings: ProjectSettings) -> None:
    project = new_project(home, "cold", settings)
    assert project.store.seed_labels() == [] and project.store.latest_checkpoint().metrics["epochs"] == 0
    assert project.store.get_round(1).strategy == "most-confident"
    proposals = project.store.proposals(1)
    confident = [p for p in proposals if not p.evidence[CALIBRATION]["audit"]]
    assert [p.rank for p in confident] == list(range(len(confident)))           # the top of the pool
    assert len(confident) == TINY.batch_size - (settings is SELF_TRAINING)
    assert set(project.alignment()["provenance"]) == {"predicted"}
    next_model(project)
    assert project.store.round_counts(1).accepted > 0
    v2 = project.store.latest_checkpoint()
    assert v2.metrics["epochs"] == TINY.warm_epochs and v2.metrics["pseudo_labels"] == 0    # the base schedule
    lr = torch.load(v2.path, weights_only=True)["optimizer"]["param_groups"][0]["lr"]
    assert lr == TINY.learner.train.lr
    assert project.stopping_signal().previous_version == 1


def test_before_the_first_model_there_is_no_alignment(home: Path) -> None:
    project = create_project("fresh", {"folder": str(demo_folder(home)), "layout": "images"}, TINY, home=home,
                             start=False)
    assert project.alignment() is None and project.quality_curve() is None and project.stopping_signal() is None
    assert project.has_gold and project.oracle_available() == (True, "")
    assert project.quality_note().startswith("No model yet")
    with pytest.raises(ValueError, match="no alignment yet"):
        project.alignment_file(".tsv")


def test_a_project_from_before_alignments_still_opens(project: AnnotationProject) -> None:
    shutil.rmtree(project.folder / PROJECT_ALIGNMENT.parent)
    checkpoint = project.store.latest_checkpoint()
    old = {k: checkpoint.metrics[k] for k in ("labelled", "rejected", "epochs", "modality_weights")}
    project.store.register_checkpoint(checkpoint.path, metrics=old)
    assert project.alignment() is None and project.quality_curve() is None
    assert "before quality estimates" in project.quality_note()
    assert project.stopping_signal() == StoppingSignal(2, None, None, None, None, None, 0)


def test_answers_frame_reads_back_what_proposals_recorded(project: AnnotationProject) -> None:
    proposals = project.store.proposals(1)
    for proposal, answer in zip(proposals, ["accept", "reject", "unsure", "skip"]):
        project.decide("ann", proposal.id, answer)
    frame = answers_frame(project.store)
    assert frame["proposal_id"].tolist() == [proposals[0].id, proposals[1].id]    # no unsure, no skip
    assert frame["accepted"].tolist() == [True, False]
    recorded = proposals[0].evidence[CALIBRATION]
    assert frame.loc[0, "csls"] == pytest.approx(recorded["csls"]) and not frame.loc[0, "audit"]


def test_an_old_config_without_self_training_loads_with_it_off(home: Path, tmp_path: Path) -> None:
    config = TINY.to_dict()
    del config["learner"]["self_training"]
    dataset = {"folder": str(demo_folder(home).resolve()), "layout": "images"}
    ProjectStore.create(tmp_path / "old", "old", dataset, config).close()
    project = AnnotationProject(tmp_path / "old")
    assert not project.settings.learner.self_training.enabled
    assert project.settings.learner.selection.strategy == TINY.learner.selection.strategy
    assert ProjectSettings().learner.selection.strategy == "random"
    assert ProjectSettings().learner.self_training.enabled
    assert project_data(dataset).pair.n1 == project.data.pair.n1
    project.close()
