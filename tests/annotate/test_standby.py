"""The standby queue: annotators keep labelling while the next model trains."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from annotate.service import AnnotationProject
from annotate.standby import STANDBY, load_standby, standby_file
from annotate.worker import run_jobs
from tests.annotate.conftest import TINY
from tests.annotate.test_alignment_product import new_project


def pairs(project: AnnotationProject, round_id: int) -> set[tuple[int, int]]:
    return {(p.source_id, p.target_id) for p in project.store.proposals(round_id)}


def test_answers_given_while_the_model_trains_land_in_the_next_round(home: Path) -> None:
    project = new_project(home, "standby", TINY, gold_seed_ratio=0.3)
    v1 = project.store.latest_checkpoint()
    reserve = load_standby(v1)
    assert len(reserve) == TINY.batch_size and standby_file(v1.path).is_file()
    assert not {(r["source_id"], r["target_id"]) for r in reserve} & pairs(project, 1)
    first = project.next_pair("ann").proposal
    project.decide("ann", first.id, "accept")
    for proposal in project.store.proposals(1)[1:]:
        project.decide("ann", proposal.id, "reject")
    standby = project.store.current_round()                      # round 1 closed: the standby opened at once
    assert standby.strategy == STANDBY and standby.model_version == 1 and project.progress().job.status == "queued"
    aligned = {first.source_id, first.target_id}
    kept = [r for r in reserve if r["source_id"] not in aligned and r["target_id"] not in aligned]
    assert pairs(project, standby.id) == {(r["source_id"], r["target_id"]) for r in kept}
    card = project.next_pair("ann")                              # no idle wait
    assert card.proposal.round_id == standby.id
    project.decide("ann", card.proposal.id, "accept")
    labels = project.progress().labels
    run_jobs(project.folder)                                     # the model trained meanwhile arrives
    assert project.store.get_round(standby.id).status == "closed"
    new = project.store.current_round()
    assert new.strategy == TINY.learner.selection.strategy and new.model_version == 2
    assert {d.proposal_id for d in project.store.decision_log()} >= {first.id, card.proposal.id}
    assert not {(card.proposal.source_id, card.proposal.target_id)} & pairs(project, new.id)
    for proposal in project.store.proposals(new.id):
        project.decide("ann", proposal.id, "reject")
    run_jobs(project.folder)
    assert project.store.latest_checkpoint().metrics["labelled"] == labels   # the standby answer trained


def test_without_a_standby_annotators_wait_for_the_next_model(home: Path) -> None:
    project = new_project(home, "nostandby", replace(TINY, standby_size=0), gold_seed_ratio=0.3)
    assert load_standby(project.store.latest_checkpoint()) == []
    project.answer_with_oracle()
    assert project.store.current_round() is None and project.next_pair("ann") is None


def test_a_negative_standby_is_refused() -> None:
    with pytest.raises(ValueError, match="standby_size must be >= 0"):
        replace(TINY, standby_size=-1)
    assert replace(TINY, standby_size=None).standby_pairs == TINY.batch_size
