"""Exports of a project as plain text: accepted links and the decision log.

The store only produces the text; the caller writes the file (``annotate`` does, with the
atomic-write helper shared with ``almea``), so that persistence stays free of file policy.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from storage.decisions import DecisionsMixin
from storage.labels import ANNOTATION, LabelsMixin
from storage.records import Decision

DECISION_COLUMNS = (
    "id", "decided_at", "round_id", "annotator", "answer", "proposal_id",
    "source_uri", "target_uri", "model_version", "supersedes",
)
"""Columns of the decision exports; ``decided_at`` is ISO 8601 in UTC."""


@dataclass(frozen=True)
class ExportText:
    """One export's whole text and how many records it holds."""

    text: str
    rows: int


def decision_record(decision: Decision) -> dict:
    """One log row with the export's columns, in their order."""
    record = {name: getattr(decision, name) for name in DECISION_COLUMNS}
    decided_at = datetime.fromtimestamp(decision.decided_at, tz=timezone.utc)
    record["decided_at"] = decided_at.isoformat(timespec="milliseconds")
    return record


class ExportMixin(DecisionsMixin, LabelsMixin):
    def links_tsv(self, include_seeds: bool = True) -> ExportText:
        """Accepted links as ``ent_links`` (``source URI\ttarget URI`` per line)."""
        links = [pair for pair in self.accepted_pairs() if include_seeds or pair.origin == ANNOTATION]
        return ExportText("".join(f"{p.source_uri}\t{p.target_uri}\n" for p in links), len(links))

    def decisions_csv(self) -> ExportText:
        """The whole decision log, undo rows included, as CSV with a header."""
        records = [decision_record(decision) for decision in self.decision_log()]
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=DECISION_COLUMNS)
        writer.writeheader()
        writer.writerows(records)
        return ExportText(buffer.getvalue(), len(records))

    def decisions_jsonl(self) -> ExportText:
        """The whole decision log as JSON Lines, one object per row."""
        records = [decision_record(decision) for decision in self.decision_log()]
        return ExportText("".join(json.dumps(record) + "\n" for record in records), len(records))
