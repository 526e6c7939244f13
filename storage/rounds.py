"""Rounds and the pairs proposed in them.

At most one round is open at a time (the database enforces it): a round is opened with
the strategy and model version that will fill it, receives its proposals in queue order,
is answered, then closed before the next one starts.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from storage.backends.interface import Connection
from storage.base import StoreBase, to_json
from storage.errors import ConflictError, InvalidRequestError, NotFoundError, RoundClosedError
from storage.records import Proposal, Round
from storage.validate import integer, mapping, optional_integer, optional_real, text

PROPOSAL_KEYS = ("source_id", "target_id", "source_uri", "target_uri")
"""Keys every proposal dict must have."""
PROPOSAL_OPTIONAL_KEYS = ("confidence", "rank", "diversity_penalty", "row_weight", "evidence")
_COLUMNS = ("round_id", "position", *PROPOSAL_KEYS, *PROPOSAL_OPTIONAL_KEYS)
_INSERT_PROPOSAL = (
    f"INSERT INTO proposals ({', '.join(_COLUMNS)}) VALUES ({', '.join(':' + name for name in _COLUMNS)})"
)


def fetch_round(conn: Connection, round_id: int) -> Round:
    row = conn.execute("SELECT * FROM rounds WHERE id = ?", (integer(round_id, "round id"),)).fetchone()
    if row is None:
        raise NotFoundError(f"no round with id {round_id}")
    return Round.from_row(row)


def require_open_round(conn: Connection, round_id: int) -> Round:
    found = fetch_round(conn, round_id)
    if not found.is_open:
        raise RoundClosedError(f"round {round_id} is closed: it takes no more proposals, leases or decisions")
    return found


def fetch_proposal(conn: Connection, proposal_id: int) -> Proposal:
    row = conn.execute(
        "SELECT * FROM proposals WHERE id = ?", (integer(proposal_id, "proposal id"),)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no proposal with id {proposal_id}")
    return Proposal.from_row(row)


def close_open_round(conn: Connection, round_id: int, now: float) -> Round:
    """Close a round known to be open (inside the caller's write transaction), dropping its leases."""
    conn.execute("UPDATE rounds SET status = 'closed', closed_at = ? WHERE id = ?", (now, round_id))
    conn.execute("DELETE FROM leases WHERE proposal_id IN (SELECT id FROM proposals WHERE round_id = ?)", (round_id,))
    return fetch_round(conn, round_id)


class RoundsMixin(StoreBase):
    def start_round(self, strategy: str, *, model_version: int | None = None, budget: int | None = None) -> Round:
        """Open a new round; refused while another round is still open."""
        text(strategy, "strategy")
        optional_integer(model_version, "model_version", minimum=0)
        optional_integer(budget, "budget", minimum=0)
        with self._write() as conn:
            row = conn.execute("SELECT id FROM rounds WHERE status = 'open'").fetchone()
            if row is not None:
                raise ConflictError(f"round {row['id']} is still open: close it before starting another")
            row = conn.execute(
                """INSERT INTO rounds (strategy, status, model_version, budget, created_at)
                   VALUES (?, 'open', ?, ?, ?) RETURNING *""",
                (strategy, model_version, budget, self._now()),
            ).fetchone()
            return Round.from_row(row)

    def add_proposals(self, round_id: int, proposals: Sequence[Mapping]) -> list[Proposal]:
        """Append pairs to an open round's queue, in the order given.

        Each dict has ``PROPOSAL_KEYS`` and may have ``PROPOSAL_OPTIONAL_KEYS``; ``evidence``
        is a JSON-able dict. All or none are stored: one bad item stores nothing.
        """
        items = [_proposal_values(item, index) for index, item in enumerate(proposals)]
        with self._write() as conn:
            require_open_round(conn, round_id)
            stored = conn.execute(
                "SELECT source_id, target_id, position FROM proposals WHERE round_id = ?", (round_id,)
            )
            seen = {(row["source_id"], row["target_id"]): row["position"] for row in stored}
            start = max(seen.values(), default=-1) + 1
            for index, values in enumerate(items):
                pair = (values["source_id"], values["target_id"])
                if pair in seen:
                    raise InvalidRequestError(
                        f"proposal {index}: pair {values['source_uri']!r} -> {values['target_uri']!r} is "
                        f"already at position {seen[pair]} of round {round_id}"
                    )
                seen[pair] = start + index
            conn.executemany(
                _INSERT_PROPOSAL,
                [{**values, "round_id": round_id, "position": start + index} for index, values in enumerate(items)],
            )
            rows = conn.execute(
                "SELECT * FROM proposals WHERE round_id = ? AND position >= ? ORDER BY position", (round_id, start)
            )
            return [Proposal.from_row(row) for row in rows]

    def close_round(self, round_id: int) -> Round:
        """Close an open round and drop its leases; its decisions stay."""
        with self._write() as conn:
            require_open_round(conn, round_id)
            return close_open_round(conn, round_id, self._now())

    def rounds(self) -> list[Round]:
        """Every round, oldest first."""
        with self._read() as conn:
            return [Round.from_row(row) for row in conn.execute("SELECT * FROM rounds ORDER BY id")]

    def current_round(self) -> Round | None:
        """The open round, or None between rounds."""
        with self._read() as conn:
            row = conn.execute("SELECT * FROM rounds WHERE status = 'open'").fetchone()
            return None if row is None else Round.from_row(row)

    def get_round(self, round_id: int) -> Round:
        with self._read() as conn:
            return fetch_round(conn, round_id)

    def proposals(self, round_id: int) -> list[Proposal]:
        """A round's proposals in queue order."""
        with self._read() as conn:
            fetch_round(conn, round_id)
            rows = conn.execute("SELECT * FROM proposals WHERE round_id = ? ORDER BY position", (round_id,))
            return [Proposal.from_row(row) for row in rows]

    def get_proposal(self, proposal_id: int) -> Proposal:
        with self._read() as conn:
            return fetch_proposal(conn, proposal_id)


def _proposal_values(item: object, index: int) -> dict:
    """The checked column values of one proposal dict."""
    where = f"proposal {index}"
    item = mapping(item, where)
    missing = [key for key in PROPOSAL_KEYS if key not in item]
    unknown = sorted(set(item) - set(PROPOSAL_KEYS) - set(PROPOSAL_OPTIONAL_KEYS))
    if missing or unknown:
        problem = f"missing keys {missing}" if missing else f"unknown keys {unknown}"
        raise InvalidRequestError(
            f"{where}: {problem}; expected {PROPOSAL_KEYS} and optionally {PROPOSAL_OPTIONAL_KEYS}"
        )
    evidence = mapping(item.get("evidence", {}), f"{where}: evidence")
    return {
        "source_id": integer(item["source_id"], f"{where}: source_id", minimum=0),
        "target_id": integer(item["target_id"], f"{where}: target_id", minimum=0),
        "source_uri": text(item["source_uri"], f"{where}: source_uri"),
        "target_uri": text(item["target_uri"], f"{where}: target_uri"),
        "confidence": optional_real(item.get("confidence"), f"{where}: confidence"),
        "rank": optional_integer(item.get("rank"), f"{where}: rank", minimum=0),
        "diversity_penalty": optional_real(item.get("diversity_penalty"), f"{where}: diversity_penalty"),
        "row_weight": optional_real(item.get("row_weight"), f"{where}: row_weight"),
        "evidence": to_json(evidence, f"{where}: evidence"),
    }
