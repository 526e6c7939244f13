"""The annotation queue: which pair an annotator sees next, and leases.

A lease reserves a pair for one annotator for ``lease_seconds``; the ``leases`` table has
one row per pair, so two annotators can never hold the same pair at once. A lease that
ran out is treated as absent: the pair goes back to the queue for everyone. Leases are
bookkeeping, not the record: they are overwritten and deleted freely.
"""
from __future__ import annotations

import sqlite3

from storage.base import StoreBase
from storage.records import Proposal
from storage.rounds import require_open_round
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
ORDER BY COALESCE(l.annotator = :annotator AND l.expires_at > :now, 0) DESC, p.position
LIMIT 1
"""


def take_lease(conn: sqlite3.Connection, proposal_id: int, annotator: str, expires_at: float) -> None:
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

    def release_leases(self, annotator: str) -> int:
        """Give back every pair ``annotator`` holds (they stopped annotating); returns how many."""
        text(annotator, "annotator")
        with self._write() as conn:
            return conn.execute("DELETE FROM leases WHERE annotator = ?", (annotator,)).rowcount
