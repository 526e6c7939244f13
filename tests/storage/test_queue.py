"""The queue: order, leases (exclusive, renewed, expiring, one per annotator), skips, and a
round that closes itself instead of stalling."""
from __future__ import annotations

import threading

import pytest

from storage import InvalidRequestError, ProjectStore, RoundClosedError
from tests.storage.conftest import open_round


def test_pairs_come_in_queue_order_and_are_leased_exclusively(store: ProjectStore) -> None:
    round_ = open_round(store, 3)
    alice = store.next_pair(round_.id, "alice")
    bob = store.next_pair(round_.id, "bob")
    carol = store.next_pair(round_.id, "carol")
    assert [alice.position, bob.position, carol.position] == [0, 1, 2]
    assert store.next_pair(round_.id, "dave") is None


def test_own_leased_pair_is_returned_again_until_answered(store: ProjectStore) -> None:
    round_ = open_round(store, 3)
    first = store.next_pair(round_.id, "alice")
    assert store.next_pair(round_.id, "alice") == first
    store.decide(first.id, "alice", "accept")
    assert store.next_pair(round_.id, "alice").position == 1


def test_expired_lease_returns_the_pair_to_the_queue(store: ProjectStore, clock) -> None:
    round_ = open_round(store, 1)
    pair = store.next_pair(round_.id, "alice", lease_seconds=30)
    clock.advance(29)
    assert store.next_pair(round_.id, "bob") is None
    clock.advance(1)
    assert store.next_pair(round_.id, "bob") == pair
    # alice's lease is gone: asking again she does not get bob's pair.
    assert store.next_pair(round_.id, "alice") is None


def test_renewing_extends_the_lease(store: ProjectStore, clock) -> None:
    round_ = open_round(store, 1)
    store.next_pair(round_.id, "alice", lease_seconds=30)
    clock.advance(20)
    store.next_pair(round_.id, "alice", lease_seconds=30)
    clock.advance(20)
    assert store.next_pair(round_.id, "bob") is None


def test_answered_pairs_leave_the_queue_for_everyone(store: ProjectStore) -> None:
    round_ = open_round(store, 2)
    first = store.next_pair(round_.id, "alice")
    store.decide(first.id, "alice", "unsure")
    assert store.next_pair(round_.id, "bob").position == 1
    assert store.next_pair(round_.id, "carol") is None


def test_skipped_pair_goes_to_others_not_back_to_the_skipper(store: ProjectStore) -> None:
    round_ = open_round(store, 2)
    first = store.next_pair(round_.id, "alice")
    store.decide(first.id, "alice", "skip")
    second = store.next_pair(round_.id, "alice")
    assert second.position == 1
    assert store.next_pair(round_.id, "bob") == first
    store.decide(second.id, "alice", "accept")
    assert store.next_pair(round_.id, "alice") is None


def test_undoing_a_skip_puts_the_pair_back_for_the_skipper(store: ProjectStore) -> None:
    round_ = open_round(store, 1)
    pair = store.next_pair(round_.id, "alice")
    store.decide(pair.id, "alice", "skip")
    assert store.next_pair(round_.id, "alice") is None
    assert store.undo_last("alice") == pair
    assert store.next_pair(round_.id, "alice") == pair


def test_undo_gives_back_the_pair_the_annotator_moved_past(store: ProjectStore) -> None:
    round_ = open_round(store, 3)
    first = store.next_pair(round_.id, "alice")
    store.decide(first.id, "alice", "accept")
    second = store.next_pair(round_.id, "alice")
    assert store.undo_last("alice") == first
    assert store.next_pair(round_.id, "bob") == second          # alice no longer holds it
    assert store.next_pair(round_.id, "alice") == first


def test_undo_onto_a_pair_someone_else_holds_still_gives_back_the_current_one(store: ProjectStore, clock) -> None:
    round_ = open_round(store, 3)
    first = store.next_pair(round_.id, "alice", lease_seconds=30)
    store.decide(first.id, "alice", "accept")
    clock.advance(1)
    second = store.next_pair(round_.id, "alice")
    store.next_pair(round_.id, "bob")                           # bob takes pair 2
    store.release_leases("bob")
    assert store.undo_last("alice") == first
    assert store._connection().execute("SELECT COUNT(*) FROM leases WHERE annotator = 'alice'").fetchone()[0] == 1
    assert store.next_pair(round_.id, "carol") == second


def test_a_round_everyone_skipped_closes_itself(store: ProjectStore) -> None:
    round_ = open_round(store, 2)
    for annotator in ("alice", "bob"):
        while (pair := store.next_pair(round_.id, annotator)) is not None:
            store.decide(pair.id, annotator, "skip" if pair.position else "accept")
    assert not store.close_round_if_stalled(round_.id, "carol")   # carol has not seen pair 1
    store.decide(store.next_pair(round_.id, "carol").id, "carol", "skip")
    assert store.close_round_if_stalled(round_.id, "carol")
    assert store.get_round(round_.id).status == "closed"
    assert [d.answer for d in store.decision_log()] == ["accept", "skip", "skip", "skip"]   # nothing dropped


def test_a_pair_held_by_someone_who_left_blocks_closing_until_the_lease_ends(store: ProjectStore, clock) -> None:
    round_ = open_round(store, 2)
    store.next_pair(round_.id, "leaver", lease_seconds=30)       # takes pair 0, then leaves
    store.decide(store.next_pair(round_.id, "alice").id, "alice", "skip")
    assert store.next_pair(round_.id, "alice") is None
    assert not store.close_round_if_stalled(round_.id, "alice")
    clock.advance(30)
    assert store.next_pair(round_.id, "alice").position == 0     # the pair comes back
    assert not store.close_round_if_stalled(round_.id, "alice")


def test_an_open_round_with_pairs_left_for_the_annotator_stays_open(store: ProjectStore) -> None:
    round_ = open_round(store, 2)
    assert not store.close_round_if_stalled(round_.id, "alice")
    empty = store.start_round("ds3") if store.close_round(round_.id) else None
    assert not store.close_round_if_stalled(empty.id, "alice")   # an empty round waits for "close early"


def test_release_leases_frees_the_pairs(store: ProjectStore) -> None:
    round_ = open_round(store, 1)
    pair = store.next_pair(round_.id, "alice")
    assert store.release_leases("alice") == 1
    assert store.next_pair(round_.id, "bob") == pair


def test_closing_a_round_ends_its_queue(store: ProjectStore) -> None:
    round_ = open_round(store, 2)
    store.next_pair(round_.id, "alice")
    store.close_round(round_.id)
    with pytest.raises(RoundClosedError, match=f"round {round_.id} is closed"):
        store.next_pair(round_.id, "alice")
    assert store._connection().execute("SELECT COUNT(*) FROM leases").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("annotator", "seconds", "message"),
    [("", 60, "annotator must be a non-empty string"), ("alice", 0, "lease_seconds must be a positive number")],
)
def test_next_pair_validates(store: ProjectStore, annotator: str, seconds: float, message: str) -> None:
    round_ = open_round(store, 1)
    with pytest.raises(InvalidRequestError, match=message):
        store.next_pair(round_.id, annotator, lease_seconds=seconds)


def test_threads_sharing_one_store_never_share_a_pair(store: ProjectStore) -> None:
    """Streamlit sessions are threads of one process using one store."""
    round_ = open_round(store, 40)
    taken: dict[str, list[int]] = {}

    def annotate(name: str) -> None:
        got = taken.setdefault(name, [])
        while (pair := store.next_pair(round_.id, name)) is not None:
            got.append(pair.id)
            store.decide(pair.id, name, "accept")

    threads = [threading.Thread(target=annotate, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [pid for ids in taken.values() for pid in ids]
    assert sorted(every) == [p.id for p in store.proposals(round_.id)]
    assert store.round_counts(round_.id).accepted == 40


def test_connections_of_ended_threads_are_closed(store: ProjectStore) -> None:
    for _ in range(5):
        thread = threading.Thread(target=store.rounds)
        thread.start()
        thread.join()
    store.rounds()
    assert len(store._connections) <= 2  # this thread's and the last thread's
