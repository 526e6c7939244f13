"""Labelled pairs for training: seed links plus what annotators answered.

Seed labels are links known before annotation (imported from an ``ent_links``-style TSV
that the caller parses); they are trusted and always count as accepted. Answers count
through their pair's verdict (``combine_answers``), so a pair two annotators disagree on
is neither a positive nor a hard negative.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from storage.backends.interface import Connection
from storage.base import StoreBase
from storage.decisions import pair_verdicts
from storage.errors import InvalidRequestError
from storage.records import LabelledPair, Verdict
from storage.validate import text

ANNOTATION = "annotation"
"""``LabelledPair.origin`` of pairs labelled by annotators."""


class LabelsMixin(StoreBase):
    def import_seed_labels(self, pairs: Iterable[Sequence[str]], origin: str = "seed") -> int:
        """Store (source URI, target URI) links as trusted labels; returns how many were new.

        A link already stored is left as it was, so importing a file twice is harmless.
        """
        text(origin, "origin")
        rows = []
        for index, pair in enumerate(pairs):
            try:
                if isinstance(pair, str):
                    raise TypeError
                source, target = pair
            except (TypeError, ValueError):
                raise InvalidRequestError(
                    f"seed label {index}: expected a (source, target) pair, got {pair!r}"
                ) from None
            rows.append((text(source, f"seed label {index}: source"), text(target, f"seed label {index}: target")))
        with self._write() as conn:
            now = self._now()
            return conn.executemany(
                """INSERT INTO seed_labels (source_uri, target_uri, origin, imported_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT DO NOTHING""",
                [(source, target, origin, now) for source, target in rows],
            ).rowcount

    def seed_labels(self) -> list[LabelledPair]:
        with self._read() as conn:
            return _seeds(conn)

    def accepted_pairs(self) -> list[LabelledPair]:
        """Positives: every seed label, then every other pair whose verdict is accept."""
        with self._read() as conn:
            seeds = _seeds(conn)
            return seeds + _annotated(conn, "accept", seeds)

    def rejected_pairs(self) -> list[LabelledPair]:
        """Hard negatives: pairs whose verdict is reject (a seed label is never one)."""
        with self._read() as conn:
            return _annotated(conn, "reject", _seeds(conn))

    def answered_pairs(self) -> list[LabelledPair]:
        """Every pair with an effective accept/reject/unsure, to keep out of later pools.

        Skipped pairs are not here: they may be proposed again.
        """
        with self._read() as conn:
            return [_labelled(v) for v in pair_verdicts(conn)]


def _seeds(conn: Connection) -> list[LabelledPair]:
    rows = conn.execute("SELECT source_uri, target_uri, origin FROM seed_labels ORDER BY id")
    return [LabelledPair(row[0], row[1], None, None, "accept", row[2]) for row in rows]


def _annotated(conn: Connection, verdict: str, seeds: list[LabelledPair]) -> list[LabelledPair]:
    """Pairs whose verdict is ``verdict``, leaving out seed labels: those are settled."""
    settled = {(seed.source_uri, seed.target_uri) for seed in seeds}
    return [
        _labelled(found)
        for found in pair_verdicts(conn)
        if found.verdict == verdict and (found.source_uri, found.target_uri) not in settled
    ]


def _labelled(verdict: Verdict) -> LabelledPair:
    return LabelledPair(
        verdict.source_uri, verdict.target_uri, verdict.source_id, verdict.target_id, verdict.verdict, ANNOTATION
    )
