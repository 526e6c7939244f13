"""The decision log: answers, undo, and what they add up to.

The ``decisions`` table is append-only (triggers refuse UPDATE and DELETE). Undo appends a
row with answer "undo" that ``supersedes`` an earlier decision. A decision is *effective*
while no undo row supersedes it. Each annotator has at most one effective decision per
proposal; when several annotators answered the same pair, all of them stay in the log and
their answers are combined by ``combine_answers`` into the pair's verdict.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from storage.backends.interface import Connection
from storage.base import StoreBase
from storage.errors import ConflictError
from storage.queue import DEFAULT_LEASE_SECONDS, give_back_leases, take_lease
from storage.records import ANSWERS, AnsweredProposal, Decision, Proposal, RoundCounts, Verdict
from storage.rounds import fetch_proposal, fetch_round, require_open_round
from storage.validate import choice, integer, optional_integer, positive_real, text

_WITH_PAIR = "SELECT d.*, p.source_uri, p.target_uri FROM {table} AS d JOIN proposals AS p ON p.id = d.proposal_id"
_LOG = _WITH_PAIR.format(table="decisions")
_EFFECTIVE = _WITH_PAIR.format(table="effective_decisions")


def combine_answers(answers: Iterable[str]) -> str:
    """The verdict of one pair from its annotators' answers (accept/reject/unsure, >= 1).

    "unsure" carries no information, so it never outvotes a decisive answer: the verdict
    is accept or reject when the decisive answers agree, "conflict" when they differ, and
    "unsure" when nobody was sure. Conflicting pairs are kept out of training labels.
    """
    decisive = set(answers) - {"unsure"}
    if len(decisive) > 1:
        return "conflict"
    return decisive.pop() if decisive else "unsure"


def pair_verdicts(conn: Connection) -> list[Verdict]:
    """One verdict per entity pair with at least one effective accept/reject/unsure.

    A pair proposed in several rounds counts once: each annotator's latest effective
    answer on it is their answer.
    """
    answers: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    ids: dict[tuple[str, str], tuple[int, int]] = {}
    rows = conn.execute(
        """SELECT d.annotator, d.answer, p.source_uri, p.target_uri, p.source_id, p.target_id
           FROM effective_decisions AS d JOIN proposals AS p ON p.id = d.proposal_id
           WHERE d.answer != 'skip' ORDER BY d.id"""
    )
    for row in rows:
        pair = (row["source_uri"], row["target_uri"])
        answers[pair][row["annotator"]] = row["answer"]
        ids.setdefault(pair, (row["source_id"], row["target_id"]))
    return [
        Verdict(pair[0], pair[1], *ids[pair], answers=given, verdict=combine_answers(given.values()))
        for pair, given in answers.items()
    ]


class DecisionsMixin(StoreBase):
    def decide(
        self, proposal_id: int, annotator: str, answer: str, model_version: int | None = None
    ) -> Decision:
        """Record an answer, committed before returning, and release the annotator's lease.

        ``model_version`` defaults to the round's. An annotator answers a pair once: the
        same answer again (a double submit) returns the stored decision, a different one
        is refused until the first is undone. A skip is not an answer: a pair the annotator
        skipped can be answered later in the round (the log then holds the skip, an undo of
        it and the answer). Another annotator may answer the same pair (e.g. after a lease
        ran out); both answers are kept and combined into a verdict.
        """
        text(annotator, "annotator")
        choice(answer, ANSWERS, "answer")
        optional_integer(model_version, "model_version", minimum=0)
        with self._write() as conn:
            proposal = fetch_proposal(conn, proposal_id)
            round_ = require_open_round(conn, proposal.round_id)
            row = conn.execute(
                _EFFECTIVE + " WHERE d.proposal_id = ? AND d.annotator = ?", (proposal.id, annotator)
            ).fetchone()
            if row is not None and row["answer"] == "skip" and answer != "skip":
                conn.execute(
                    """INSERT INTO decisions
                           (proposal_id, round_id, annotator, answer, model_version, decided_at, supersedes)
                       VALUES (?, ?, ?, 'undo', ?, ?, ?)""",
                    (proposal.id, round_.id, annotator, row["model_version"], self._now(), row["id"]),
                )
                row = None
            if row is not None and row["answer"] != answer:
                raise ConflictError(
                    f"{annotator} already answered pair {proposal.id} ({proposal.source_uri} -> "
                    f"{proposal.target_uri}) with {row['answer']!r}; undo it before answering again"
                )
            if row is None:
                version = round_.model_version if model_version is None else model_version
                decision_id = conn.execute(
                    """INSERT INTO decisions (proposal_id, round_id, annotator, answer, model_version, decided_at)
                       VALUES (?, ?, ?, ?, ?, ?) RETURNING id""",
                    (proposal.id, round_.id, annotator, answer, version, self._now()),
                ).fetchone()[0]
                row = conn.execute(_LOG + " WHERE d.id = ?", (decision_id,)).fetchone()
            conn.execute("DELETE FROM leases WHERE proposal_id = ? AND annotator = ?", (proposal.id, annotator))
            return Decision.from_row(row)

    def undo_last(self, annotator: str, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> Proposal | None:
        """Cancel ``annotator``'s latest effective decision in the open round; None if there is none.

        Appends an undo row (the log keeps both) and returns the pair so the UI can ask it
        again, leased to the annotator unless someone else holds a live lease on it (then
        both may answer, as with any shared pair). Either way the annotator gives back the
        pair they held before the undo, which goes back to the queue. Calling it again undoes
        the decision before, and so on back to the start of the round.
        """
        text(annotator, "annotator")
        seconds = positive_real(lease_seconds, "lease_seconds")
        with self._write() as conn:
            last = conn.execute(
                """SELECT d.* FROM effective_decisions AS d JOIN rounds AS r ON r.id = d.round_id
                   WHERE d.annotator = ? AND r.status = 'open' ORDER BY d.id DESC LIMIT 1""",
                (annotator,),
            ).fetchone()
            if last is None:
                return None
            now = self._now()
            conn.execute(
                """INSERT INTO decisions
                       (proposal_id, round_id, annotator, answer, model_version, decided_at, supersedes)
                   VALUES (?, ?, ?, 'undo', ?, ?, ?)""",
                (last["proposal_id"], last["round_id"], annotator, last["model_version"], now, last["id"]),
            )
            holder = conn.execute(
                "SELECT annotator FROM leases WHERE proposal_id = ? AND expires_at > ?", (last["proposal_id"], now)
            ).fetchone()
            if holder is None or holder["annotator"] == annotator:
                take_lease(conn, last["proposal_id"], annotator, now + seconds)
            else:
                give_back_leases(conn, last["round_id"], annotator)
            return fetch_proposal(conn, last["proposal_id"])

    def effective_decisions(self, round_id: int | None = None) -> list[Decision]:
        """Decisions not undone (skips included), oldest first; one round's or all."""
        with self._read() as conn:
            if round_id is None:
                return [Decision.from_row(row) for row in conn.execute(_EFFECTIVE + " ORDER BY d.id")]
            fetch_round(conn, round_id)
            rows = conn.execute(_EFFECTIVE + " WHERE d.round_id = ? ORDER BY d.id", (round_id,))
            return [Decision.from_row(row) for row in rows]

    def decision_log(self) -> list[Decision]:
        """Every row of the log, undo rows included, in the order they were written."""
        with self._read() as conn:
            return [Decision.from_row(row) for row in conn.execute(_LOG + " ORDER BY d.id")]

    def verdicts(self) -> list[Verdict]:
        """Each answered pair's combined label and every annotator's answer (agreement)."""
        with self._read() as conn:
            return pair_verdicts(conn)

    def answered_proposals(self) -> list[AnsweredProposal]:
        """Every proposal with at least one effective accept/reject/unsure, oldest first, with
        its combined verdict; skipped and unanswered proposals are left out."""
        with self._read() as conn:
            rows = conn.execute(
                """SELECT p.*, d.answer AS given FROM proposals AS p
                   JOIN effective_decisions AS d ON d.proposal_id = p.id
                   WHERE d.answer != 'skip' ORDER BY p.id, d.id"""
            ).fetchall()
        proposals: dict[int, Proposal] = {}
        given: dict[int, list[str]] = defaultdict(list)
        for row in rows:
            proposals.setdefault(row["id"], Proposal.from_row(row))
            given[row["id"]].append(row["given"])
        return [AnsweredProposal(p, combine_answers(given[pid])) for pid, p in proposals.items()]

    def round_counts(self, round_id: int) -> RoundCounts:
        """Progress of one round (see ``RoundCounts`` for what each figure counts)."""
        round_id = integer(round_id, "round id")
        with self._read() as conn:
            fetch_round(conn, round_id)
            total = conn.execute("SELECT COUNT(*) FROM proposals WHERE round_id = ?", (round_id,)).fetchone()[0]
            answers: dict[int, list[str]] = defaultdict(list)
            skipped: set[int] = set()
            for row in conn.execute(
                "SELECT proposal_id, answer FROM effective_decisions WHERE round_id = ?", (round_id,)
            ):
                if row["answer"] == "skip":
                    skipped.add(row["proposal_id"])
                else:
                    answers[row["proposal_id"]].append(row["answer"])
        verdicts = [combine_answers(given) for given in answers.values()]
        return RoundCounts(
            round_id=round_id,
            total=total,
            answered=len(answers),
            remaining=total - len(answers),
            accepted=verdicts.count("accept"),
            rejected=verdicts.count("reject"),
            unsure=verdicts.count("unsure"),
            conflict=verdicts.count("conflict"),
            skipped=len(skipped - answers.keys()),
        )
