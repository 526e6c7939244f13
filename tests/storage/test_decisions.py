"""Decisions: validation, undo, several annotators on one pair, counts."""
from __future__ import annotations

import pytest

from storage import ConflictError, InvalidRequestError, NotFoundError, ProjectStore, RoundClosedError, combine_answers
from tests.storage.conftest import open_round


def test_decide_records_and_releases_the_lease(store: ProjectStore, clock) -> None:
    round_ = open_round(store, 2, model_version=3)
    pair = store.next_pair(round_.id, "alice")
    decision = store.decide(pair.id, "alice", "reject")
    assert (decision.proposal_id, decision.round_id, decision.annotator, decision.answer) == (pair.id, round_.id, "alice", "reject")
    assert (decision.model_version, decision.decided_at, decision.supersedes) == (3, clock.now, None)
    assert (decision.source_uri, decision.target_uri) == (pair.source_uri, pair.target_uri)
    assert store._connection().execute("SELECT COUNT(*) FROM leases").fetchone()[0] == 0
    assert store.decide(store.next_pair(round_.id, "alice").id, "alice", "accept", model_version=4).model_version == 4


@pytest.mark.parametrize(
    ("proposal", "annotator", "answer", "error", "message"),
    [
        (1, "alice", "acept", InvalidRequestError, "answer must be one of accept, reject, unsure, skip; got 'acept'"),
        (1, "alice", "undo", InvalidRequestError, "answer must be one of"),
        (1, "", "accept", InvalidRequestError, "annotator must be a non-empty string"),
        (42, "alice", "accept", NotFoundError, "no proposal with id 42"),
        ("1", "alice", "accept", InvalidRequestError, "proposal id must be an integer"),
    ],
)
def test_bad_decisions_are_refused(store: ProjectStore, proposal, annotator, answer, error, message) -> None:
    open_round(store, 1)
    with pytest.raises(error, match=message):
        store.decide(proposal, annotator, answer)
    assert store.decision_log() == []


def test_no_decisions_in_a_closed_round(store: ProjectStore) -> None:
    round_ = open_round(store, 1)
    pair = store.next_pair(round_.id, "alice")
    store.close_round(round_.id)
    with pytest.raises(RoundClosedError, match="is closed"):
        store.decide(pair.id, "alice", "accept")


def test_double_submit_is_recorded_once(store: ProjectStore) -> None:
    round_ = open_round(store, 1)
    pair = store.next_pair(round_.id, "alice")
    first = store.decide(pair.id, "alice", "accept")
    assert store.decide(pair.id, "alice", "accept") == first
    with pytest.raises(ConflictError, match="alice already answered pair 1 .* with 'accept'; undo it"):
        store.decide(pair.id, "alice", "reject")
    assert len(store.decision_log()) == 1


def test_undo_twice_undoes_the_two_latest(store: ProjectStore) -> None:
    round_ = open_round(store, 3)
    answered = []
    for answer in ("accept", "reject", "unsure"):
        pair = store.next_pair(round_.id, "alice")
        store.decide(pair.id, "alice", answer)
        answered.append(pair)
    assert store.undo_last("alice") == answered[2]
    assert store.undo_last("alice") == answered[1]
    assert [d.answer for d in store.effective_decisions()] == ["accept"]
    log = store.decision_log()
    assert [d.answer for d in log] == ["accept", "reject", "unsure", "undo", "undo"]
    assert [d.supersedes for d in log[3:]] == [log[2].id, log[1].id]
    # Alice holds only the pair she is back on; the one she moved past is free for others.
    assert store.next_pair(round_.id, "bob") == answered[2]
    assert store.next_pair(round_.id, "alice") == answered[1]


def test_undo_with_nothing_to_undo(store: ProjectStore) -> None:
    assert store.undo_last("alice") is None
    round_ = open_round(store, 1)
    pair = store.next_pair(round_.id, "alice")
    store.decide(pair.id, "alice", "accept")
    assert store.undo_last("bob") is None
    assert store.undo_last("alice") == pair
    assert store.undo_last("alice") is None
    assert len(store.decision_log()) == 2


def test_undo_then_answer_again(store: ProjectStore) -> None:
    round_ = open_round(store, 1)
    pair = store.next_pair(round_.id, "alice")
    store.decide(pair.id, "alice", "accept")
    store.undo_last("alice")
    store.decide(pair.id, "alice", "reject")
    assert [d.answer for d in store.effective_decisions(round_.id)] == ["reject"]
    assert [p.source_uri for p in store.rejected_pairs()] == [pair.source_uri]
    assert store.accepted_pairs() == []
    assert store.undo_last("alice") == pair  # undoes the re-answer, not the undone accept
    assert store.effective_decisions() == []


def test_a_skipped_pair_can_be_answered_later(store: ProjectStore) -> None:
    round_ = open_round(store, 2)
    pair = store.next_pair(round_.id, "alice")
    store.decide(pair.id, "alice", "skip")
    assert store.decide(pair.id, "alice", "skip").answer == "skip"            # a double submit stays one skip
    store.decide(pair.id, "alice", "accept")
    assert [d.answer for d in store.decision_log()] == ["skip", "undo", "accept"]
    assert [(d.proposal_id, d.answer) for d in store.effective_decisions(round_.id)] == [(pair.id, "accept")]
    with pytest.raises(ConflictError, match="already answered"):
        store.decide(pair.id, "alice", "skip")                             # an answer is not skipped away


def test_undo_does_not_reach_into_closed_rounds(store: ProjectStore) -> None:
    round_ = open_round(store, 1)
    store.decide(store.next_pair(round_.id, "alice").id, "alice", "accept")
    store.close_round(round_.id)
    assert store.undo_last("alice") is None


def test_undo_leaves_another_annotators_live_lease(store: ProjectStore) -> None:
    round_ = open_round(store, 1)
    pair = store.next_pair(round_.id, "alice")
    store.decide(pair.id, "alice", "skip")
    assert store.next_pair(round_.id, "bob") == pair
    assert store.undo_last("alice") == pair
    holder = store._connection().execute("SELECT annotator FROM leases").fetchone()[0]
    assert holder == "bob"


def test_two_annotators_on_one_pair_are_both_kept(store: ProjectStore, clock) -> None:
    round_ = open_round(store, 3)
    pairs = store.proposals(round_.id)
    for pair, (alice, bob) in zip(pairs, [("accept", "accept"), ("accept", "reject"), ("unsure", "reject")]):
        store.decide(pair.id, "alice", alice)
        store.decide(pair.id, "bob", bob)
    effective = store.effective_decisions()
    assert [(d.proposal_id, d.annotator, d.answer) for d in effective][:2] == [(1, "alice", "accept"), (1, "bob", "accept")]
    verdicts = {v.source_uri: v for v in store.verdicts()}
    assert [(v.verdict, v.agreed) for v in verdicts.values()] == [("accept", True), ("conflict", False), ("reject", False)]
    assert verdicts["/m/1"].answers == {"alice": "accept", "bob": "reject"}
    assert [p.source_uri for p in store.accepted_pairs()] == ["/m/0"]
    assert [p.source_uri for p in store.rejected_pairs()] == ["/m/2"]
    assert [(p.source_uri, p.label) for p in store.answered_pairs()] == [("/m/0", "accept"), ("/m/1", "conflict"), ("/m/2", "reject")]
    counts = store.round_counts(round_.id)
    assert (counts.answered, counts.accepted, counts.rejected, counts.conflict) == (3, 1, 1, 1)


def test_latest_answer_per_annotator_counts_across_rounds(store: ProjectStore) -> None:
    first = open_round(store, 1)
    store.decide(store.proposals(first.id)[0].id, "alice", "reject")
    store.close_round(first.id)
    second = open_round(store, 1)  # the same pair proposed again
    store.decide(store.proposals(second.id)[0].id, "alice", "accept")
    store.decide(store.proposals(second.id)[0].id, "bob", "skip")
    [verdict] = store.verdicts()
    assert (verdict.answers, verdict.verdict) == ({"alice": "accept"}, "accept")


@pytest.mark.parametrize(
    ("answers", "verdict"),
    [(["accept"], "accept"), (["accept", "unsure"], "accept"), (["reject", "reject"], "reject"),
     (["accept", "reject", "unsure"], "conflict"), (["unsure", "unsure"], "unsure")],
)
def test_combine_answers(answers: list[str], verdict: str) -> None:
    assert combine_answers(answers) == verdict


def test_round_counts(store: ProjectStore) -> None:
    round_ = open_round(store, 6)
    pairs = store.proposals(round_.id)
    for pair, answer in zip(pairs, ["accept", "accept", "reject", "unsure", "skip"]):
        store.decide(pair.id, "alice", answer)
    counts = store.round_counts(round_.id)
    assert (counts.total, counts.answered, counts.remaining) == (6, 4, 2)
    assert (counts.accepted, counts.rejected, counts.unsure, counts.conflict, counts.skipped) == (2, 1, 1, 0, 1)
    store.decide(pairs[4].id, "bob", "accept")  # someone else answers the skipped pair
    counts = store.round_counts(round_.id)
    assert (counts.answered, counts.accepted, counts.skipped) == (5, 3, 0)


def test_seed_labels_are_accepted_and_imported_once(store: ProjectStore) -> None:
    assert store.import_seed_labels([("/m/0", "http://dbpedia.org/resource/E0"), ("/m/x", "y")], origin="ent_links") == 2
    assert store.import_seed_labels([("/m/x", "y"), ("/m/z", "w")]) == 1
    round_ = open_round(store, 2)
    pairs = store.proposals(round_.id)
    store.decide(pairs[0].id, "alice", "reject")  # a seed is never a hard negative
    store.decide(pairs[1].id, "alice", "accept")
    accepted = store.accepted_pairs()
    assert [(p.source_uri, p.origin, p.source_id) for p in accepted] == [
        ("/m/0", "ent_links", None), ("/m/x", "ent_links", None), ("/m/z", "seed", None), ("/m/1", "annotation", 1)
    ]
    assert store.rejected_pairs() == []
    assert len(store.seed_labels()) == 3


def test_bad_seed_labels_store_nothing(store: ProjectStore) -> None:
    with pytest.raises(InvalidRequestError, match="seed label 1: expected a \\(source, target\\) pair"):
        store.import_seed_labels([("a", "b"), ("c",)])
    with pytest.raises(InvalidRequestError, match="seed label 0: target must be a non-empty string"):
        store.import_seed_labels([("a", "")])
    assert store.seed_labels() == []


def test_answered_proposals_carry_their_own_verdict_and_evidence(store: ProjectStore) -> None:
    round_ = open_round(store, 5)
    first, second, third, fourth, fifth = store.proposals(round_.id)
    store.decide(first.id, "alice", "accept")
    store.decide(second.id, "alice", "accept")
    store.decide(second.id, "bob", "reject")
    store.decide(third.id, "alice", "skip")
    store.decide(fourth.id, "alice", "unsure")
    store.decide(fifth.id, "alice", "reject")
    store.undo_last("alice")                                           # the reject of the fifth is gone
    answered = store.answered_proposals()
    assert [(a.proposal.id, a.verdict) for a in answered] == [(first.id, "accept"), (second.id, "conflict"),
                                                              (fourth.id, "unsure")]
    assert answered[0].proposal.evidence == first.evidence
