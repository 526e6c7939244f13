"""Per-entity fusion weights: the worker keeps each model's beside its checkpoint, the
Insights frames summarise them, and a damaged file is refused without an exception."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from annotate.entity_weights import (
    EntityWeights,
    entity_weights_file,
    load_entity_weights,
    proposal_weights,
    save_entity_weights,
    version_weights,
)
from annotate.insights import entity_weights_frame, latest_entity_weights, weight_spread_frame
from annotate.service import AnnotationProject
from annotate.settings import ProjectSettings
from storage import Checkpoint
from tests.annotate.conftest import TINY
from tests.annotate.test_alignment_product import new_project

HEADS = replace(TINY, learner=replace(TINY.learner, model=replace(TINY.learner.model, mpsea_heads=4)))
"""The tiny settings with attention heads that divide its 32 dimensions (MPSEA)."""


def fused(fusion: str) -> ProjectSettings:
    return HEADS.with_fusion(fusion)


@pytest.mark.parametrize("fusion, exact", [("mimea", True), ("mpsea", True)])   # MPSEA ranks its early joint
def test_a_worker_round_keeps_the_per_entity_weights(home: Path, fusion: str, exact: bool) -> None:
    project = new_project(home, fusion, fused(fusion), gold_seed_ratio=0.3)
    checkpoint = project.store.latest_checkpoint()
    assert entity_weights_file(checkpoint.path).name == "model-v1.weights.npz"
    n = project.data.pair.n_entities
    weights = version_weights(project.store, 1, n)
    assert weights.fusion == fusion and weights.per_entity
    assert weights.modalities == tuple(checkpoint.metrics["modality_weights"])
    assert weights.weights.shape == (n, len(weights.modalities)) and (weights.weights >= 0).all()
    np.testing.assert_allclose(weights.weights.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(weights.weights.mean(axis=0), list(checkpoint.metrics["modality_weights"].values()),
                               atol=1e-5)                          # the bars are this model's mean weights
    proposal = project.store.proposals(1)[0]
    assert proposal_weights(project.store, proposal, n).weights.shape == weights.weights.shape
    assert all(p.evidence["shares_exact"] is exact for p in project.store.proposals(1))
    shares = proposal.evidence["modalities"]
    assert list(shares) == list(weights.modalities)
    pair = weights.pair(proposal.source_id, proposal.target_id)
    assert list(pair["modality"]) == list(weights.modalities)
    np.testing.assert_array_equal(pair["KG2 target"], weights.weights[proposal.target_id])
    project.close()


def test_the_global_fusion_gives_every_entity_the_same_weights(project: AnnotationProject) -> None:
    weights = latest_entity_weights(project)
    assert weights.fusion == "global" and not weights.per_entity
    assert np.allclose(weights.weights, weights.weights[0])
    assert all(p.evidence["shares_exact"] is True for p in project.store.proposals(1))


def test_the_spread_frame_summarises_each_kg_and_modality(project: AnnotationProject) -> None:
    rng = np.random.default_rng(0)
    n, pair = project.data.pair.n_entities, project.data.pair
    raw = rng.dirichlet(np.ones(3), size=n).astype(np.float32)
    weights = EntityWeights("mimea", ("graph", "name", "visual"), raw)
    entities = entity_weights_frame(project, weights)
    assert list(entities.columns) == ["entity", "kg", "graph", "name", "visual"]
    assert (entities["kg"] == "KG1").sum() == pair.n1 and list(entities["entity"]) == list(pair.entities)
    spread = weight_spread_frame(entities, weights.modalities).set_index(["kg", "modality"])
    kg2 = raw[pair.n1 :, 1]
    row = spread.loc[("KG2", "name")]
    assert row["entities"] == n - pair.n1 and row["median"] == pytest.approx(np.median(kg2))
    assert row["mean"] == pytest.approx(kg2.mean())
    assert kg2.min() <= row["lower_whisker"] <= row["q1"] <= row["q3"] <= row["upper_whisker"] <= kg2.max()


def test_old_records_without_the_flag_read_as_exact(project: AnnotationProject) -> None:
    proposal = project.store.proposals(1)[0]
    legacy = {k: v for k, v in proposal.evidence.items() if k != "shares_exact"}
    assert project.card(replace(proposal, evidence=legacy)).view.shares_exact
    assert not project.card(replace(proposal, evidence={**legacy, "shares_exact": False})).view.shares_exact


def checkpoint(path: Path) -> Checkpoint:
    return Checkpoint(id=1, model_version=1, path=path, round_id=None, job_id=None, metrics={}, created_at=0.0)


def test_weights_round_trip_without_pickle(tmp_path: Path) -> None:
    path = tmp_path / "model-v3.pt"
    saved = EntityWeights("mpsea", ("graph", "visual"), np.array([[0.25, 0.75], [0.5, 0.5]], np.float32))
    save_entity_weights(path, saved)
    assert entity_weights_file(path) == tmp_path / "model-v3.weights.npz"
    loaded = load_entity_weights(checkpoint(path), n_entities=2)
    assert loaded.fusion == "mpsea" and loaded.modalities == ("graph", "visual") and loaded.per_entity
    np.testing.assert_array_equal(loaded.weights, saved.weights)
    assert load_entity_weights(checkpoint(tmp_path / "model-v4.pt")) is None          # no file: nothing to show
    assert load_entity_weights(None) is None


@pytest.mark.parametrize("tamper, problem", [
    (lambda path: path.write_bytes(b"not a zip file"), "unreadable"),
    (lambda path: path.write_bytes(path.read_bytes()[:100]), "unreadable"),
    (lambda path: np.savez(path, weights=np.ones((3, 2), np.float32)), "unreadable"),     # no modalities
    (lambda path: np.savez(path, weights=np.array([{"x": 1}], dtype=object), modalities=np.array(["graph"]),
                           fusion=np.array("mimea")), "unreadable"),                          # a pickle
    (lambda path: np.savez(path, weights=np.ones((3, 2), np.float32), modalities=np.array(["graph", "visual"]),
                           fusion=np.array("mimea")), "found (3, 2)"),                        # another dataset's
])
def test_a_damaged_weights_file_is_refused_with_its_problem(project: AnnotationProject, tamper, problem: str,
                                                            capsys: pytest.CaptureFixture) -> None:
    path = entity_weights_file(project.store.latest_checkpoint().path)
    tamper(path)
    assert latest_entity_weights(project) is None
    reported = capsys.readouterr().err
    assert str(path) in reported and problem in reported and "showing none" in reported
