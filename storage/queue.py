"""The annotation queue: which pair an annotator sees next, and leases.

A lease reserves a pair for one annotator for ``lease_seconds``; the ``leases`` table has
one row per pair, so two annotators can never hold the same pair at once, and an annotator
holds one pair of a round at a time: taking a pair (next, or again by undo) gives back the
one they moved past. A lease that ran out is treated as absent: the pair goes back to the
queue for everyone. Leases are bookkeeping, not the record: they are overwritten and
deleted freely.

A round never waits on nobody: when an annotator finds nothing left and no one holds a
live lease on an unanswered pair, every pair still unanswered was skipped by whoever is
labelling, and ``close_round_if_stalled`` closes the round (skipped pairs are not labels:
they go back to the candidate pool of the next model).
"""
from __future__ import annotations

from storage.backends.interface import Connection
from storage.base import StoreBase
from storage.records import Proposal
from storage.rounds import close_open_round, require_open_round
from storage.validate import positive_real, text

DEFAULT_LEASE_SECONDS = 600.0
"""Long enough to read a pair's evidence; short enough that an abandoned tab frees it soon."""

# Eligible: no effective answer from anyone, not skipped by this annotator, and no live
# lease of another annotator. The annotator's own live lease comes first.
_NEXT_PAIR = """
SELECT p.* FROM proposals AS p LEFT JOIN leases AS l ON l.proposal_id = p.id
WHERE p.round_id = :round
  AND (l.proposal_id IS NULL OR l.expires_at <= :now OR l.annotator = :annotator)
  AND NOT EXISTS (
      SELECT 1 FROM effective_decisions AS e
      WHERE e.proposal_id = p.id AND (e.answer != 'skip' OR e.annotator = :annotator))
ORDER BY CASE WHEN l.annotator = :annotator AND l.expires_at > :now THEN 1 ELSE 0 END DESC, p.position
LIMIT 1
"""


# Unanswered pairs of the round that someone holds a live lease on.
_LEASED_UNANSWERED = """
SELECT COUNT(*) FROM proposals AS p JOIN leases AS l ON l.proposal_id = p.id
WHERE p.round_id = :round AND l.expires_at > :now
  AND NOT EXISTS (SELECT 1 FROM effective_decisions AS e WHERE e.proposal_id = p.id AND e.answer != 'skip')
"""
_UNANSWERED = """
SELECT COUNT(*) FROM proposals AS p WHERE p.round_id = :round
  AND NOT EXISTS (SELECT 1 FROM effective_decisions AS e WHERE e.proposal_id = p.id AND e.answer != 'skip')
"""


def give_back_leases(conn: Connection, round_id: int, annotator: str, keep: int | None = None) -> None:
    """Drop ``annotator``'s leases on the round's pairs, except the one on proposal ``keep``."""
    kept, args = ("", ()) if keep is None else (" AND proposal_id != ?", (keep,))
    conn.execute(
        f"""DELETE FROM leases WHERE annotator = ?{kept}
               AND proposal_id IN (SELECT id FROM proposals WHERE round_id = ?)""",
        (annotator, *args, round_id),
    )


def take_lease(conn: Connection, proposal_id: int, annotator: str, expires_at: float) -> None:
    """Lease the pair to ``annotator``, giving back any other pair of its round they held."""
    round_id = conn.execute("SELECT round_id FROM proposals WHERE id = ?", (proposal_id,)).fetchone()[0]
    give_back_leases(conn, round_id, annotator, keep=proposal_id)
    conn.execute(
        """INSERT INTO leases (proposal_id, annotator, expires_at) VALUES (?, ?, ?)
           ON CONFLICT (proposal_id) DO UPDATE SET annotator = excluded.annotator, expires_at = excluded.expires_at""",
        (proposal_id, annotator, expires_at),
    )


class QueueMixin(StoreBase):
    def next_pair(
        self, round_id: int, annotator: str, lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> Proposal | None:
        """Lease and return the next pair ``annotator`` should answer; None when none is left.

        The annotator's own leased pair is returned again (lease renewed) until they answer
        it, so a page reload shows the same pair. A pair the annotator skipped is not
        offered to them again in this round, but stays in the queue for the others.
        Runs as one write transaction, so concurrent callers never get the same pair.
        """
        text(annotator, "annotator")
        seconds = positive_real(lease_seconds, "lease_seconds")
        with self._write() as conn:
            require_open_round(conn, round_id)
            now = self._now()
            row = conn.execute(_NEXT_PAIR, {"round": round_id, "annotator": annotator, "now": now}).fetchone()
            if row is None:
                return None
            take_lease(conn, row["id"], annotator, now + seconds)
            return Proposal.from_row(row)

    def close_round_if_stalled(self, round_id: int, annotator: str) -> bool:
        """Close the open round when it cannot move on: no pair is left for ``annotator`` and
        nobody holds a live lease on an unanswered pair, so every unanswered pair was skipped by
        the people labelling. Returns whether it closed the round.

        A round with no unanswered pair is left alone (answering its last pair closes it), as
        is an empty one. Someone who left holding a pair blocks this only until the lease runs
        out; then the pair is offered again like any other.
        """
        text(annotator, "annotator")
        with self._write() as conn:
            require_open_round(conn, round_id)
            args = {"round": round_id, "annotator": annotator, "now": self._now()}
            if (conn.execute(_NEXT_PAIR, args).fetchone() is not None
                    or conn.execute(_LEASED_UNANSWERED, args).fetchone()[0]
                    or not conn.execute(_UNANSWERED, args).fetchone()[0]):
                return False
            close_open_round(conn, round_id, args["now"])
            return True

    def release_leases(self, annotator: str) -> int:
        """Give back every pair ``annotator`` holds (they stopped annotating); returns how many."""
        text(annotator, "annotator")
        with self._write() as conn:
            return conn.execute("DELETE FROM leases WHERE annotator = ?", (annotator,)).rowcount
