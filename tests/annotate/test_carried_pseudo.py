"""The next model trains on the pseudo-labels its predecessor chose when it proposed, less
those touching a proposed pair: the simulated rounds' rule, without a second pass."""
from __future__ import annotations

from pathlib import Path

from annotate.alignment_output import carried_file, load_carried, load_pseudo_labels
from annotate.worker import run_jobs
from tests.annotate.test_alignment_product import SELF_TRAINING, new_project, next_model


def test_the_next_model_trains_on_the_carried_pseudo_labels(home: Path) -> None:
    project = new_project(home, "carried", SELF_TRAINING, gold_seed_ratio=0.3)
    next_model(project)
    v2 = project.store.latest_checkpoint()
    carried = load_carried(v2)
    assert carried is not None and len(carried) > 0 and carried_file(v2.path).is_file()
    project.answer_with_oracle()                                   # round 3 (model v2) answered: the standby opens
    standby = project.store.current_round()
    assert standby.strategy == "standby" and standby.model_version == 2
    first = project.store.proposals(standby.id)[0]
    project.decide("ann", first.id, "reject")                      # one standby answer, the rest dropped
    answered = [p for r in (standby.id - 1, standby.id) for p in project.store.proposals(r)
                if p.id in {d.proposal_id for d in project.store.effective_decisions(r)}]
    touched = {e for p in answered for e in (p.source_id, p.target_id)}
    expected = {tuple(p) for p in carried.pairs.tolist() if not {p[0], p[1]} & touched}
    run_jobs(project.folder)
    trained = {tuple(p) for p in load_pseudo_labels(project.store.latest_checkpoint()).tolist()}
    assert trained == expected and len(trained) < len(carried)
    assert project.store.latest_checkpoint().metrics["pseudo_threshold"] == carried.threshold


def test_a_damaged_carried_file_means_scoring_anew(home: Path, capsys) -> None:
    project = new_project(home, "damaged", SELF_TRAINING, gold_seed_ratio=0.3)
    next_model(project)
    carried_file(project.store.latest_checkpoint().path).write_bytes(b"not npz")
    next_model(project)
    assert project.store.latest_job().status == "done"
    assert "unreadable carried pseudo-labels" in capsys.readouterr().err
