"""Rounds and proposals: one open round at a time, proposals stored in queue order."""
from __future__ import annotations

import numpy as np
import pytest

from storage import ConflictError, InvalidRequestError, NotFoundError, ProjectStore, RoundClosedError
from tests.storage.conftest import open_round, proposal_dicts


def test_round_lifecycle(store: ProjectStore, clock) -> None:
    assert store.current_round() is None
    first = store.start_round("ds3", model_version=2, budget=10)
    assert (first.id, first.status, first.model_version, first.budget, first.created_at) == (1, "open", 2, 10, clock.now)
    assert store.current_round() == first
    with pytest.raises(ConflictError, match="round 1 is still open"):
        store.start_round("random")
    clock.advance(60)
    closed = store.close_round(first.id)
    assert (closed.status, closed.closed_at, closed.is_open) == ("closed", clock.now, False)
    assert store.current_round() is None
    with pytest.raises(RoundClosedError, match="round 1 is closed"):
        store.close_round(first.id)
    second = store.start_round("random")
    assert second.id == 2
    assert [r.id for r in store.rounds()] == [1, 2]


def test_start_round_validates(store: ProjectStore) -> None:
    with pytest.raises(InvalidRequestError, match="budget must be at least 0"):
        store.start_round("ds3", budget=-1)
    with pytest.raises(InvalidRequestError, match="strategy must be a non-empty string"):
        store.start_round("")
    assert store.rounds() == []


def test_proposals_keep_queue_order_and_evidence(store: ProjectStore) -> None:
    round_ = store.start_round("ds3")
    first = store.add_proposals(round_.id, proposal_dicts(3))
    more = store.add_proposals(round_.id, proposal_dicts(2, start=3))
    assert [p.position for p in first + more] == [0, 1, 2, 3, 4]
    stored = store.proposals(round_.id)
    assert stored == first + more
    assert stored[1].source_uri == "/m/1" and stored[1].target_id == 1001
    assert stored[1].evidence == {"top5": [1001, 2001]}
    assert store.get_proposal(stored[4].id) == stored[4]


def test_proposals_accept_numpy_values(store: ProjectStore) -> None:
    round_ = store.start_round("ds3")
    item = {
        "source_id": np.int64(3), "target_id": np.int64(7), "source_uri": "a", "target_uri": "b",
        "confidence": np.float32(0.25), "rank": np.int64(0),
        "evidence": {"top5": np.arange(5), "score": np.float64(0.5)},
    }
    stored = store.add_proposals(round_.id, [item])[0]
    assert (stored.source_id, stored.confidence, stored.rank) == (3, 0.25, 0)
    assert stored.evidence == {"top5": [0, 1, 2, 3, 4], "score": 0.5}
    assert stored.diversity_penalty is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"source_uri": None}, "proposal 1: source_uri must be a non-empty string"),
        ({"source_id": 1.5}, "proposal 1: source_id must be an integer"),
        ({"confidence": float("nan")}, "proposal 1: confidence must be finite"),
        ({"evidence": {"x": float("inf")}}, "proposal 1: evidence cannot be stored as JSON"),
        ({"evidence": [1, 2]}, "proposal 1: evidence must be a dict"),
        ({"score": 1.0}, r"proposal 1: unknown keys \['score'\]"),
    ],
)
def test_bad_proposal_stores_nothing(store: ProjectStore, change: dict, message: str) -> None:
    round_ = store.start_round("ds3")
    items = proposal_dicts(2)
    items[1].update(change)
    with pytest.raises(InvalidRequestError, match=message):
        store.add_proposals(round_.id, items)
    assert store.proposals(round_.id) == []


def test_missing_key_is_named(store: ProjectStore) -> None:
    round_ = store.start_round("ds3")
    item = proposal_dicts(1)[0]
    del item["target_uri"]
    with pytest.raises(InvalidRequestError, match=r"proposal 0: missing keys \['target_uri'\]"):
        store.add_proposals(round_.id, [item])


def test_duplicate_pair_in_a_round_is_refused(store: ProjectStore) -> None:
    round_ = open_round(store, 3)
    with pytest.raises(InvalidRequestError, match="pair '/m/1' -> 'http://dbpedia.org/resource/E1' is already at position 1"):
        store.add_proposals(round_.id, proposal_dicts(2, start=1))
    assert len(store.proposals(round_.id)) == 3


def test_closed_or_unknown_round_takes_no_proposals(store: ProjectStore) -> None:
    round_ = open_round(store, 1)
    store.close_round(round_.id)
    with pytest.raises(RoundClosedError):
        store.add_proposals(round_.id, proposal_dicts(1, start=5))
    with pytest.raises(NotFoundError, match="no round with id 99"):
        store.add_proposals(99, proposal_dicts(1))
    with pytest.raises(NotFoundError, match="no proposal with id 99"):
        store.get_proposal(99)
