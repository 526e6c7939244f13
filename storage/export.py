"""Exports of a project as plain files: accepted links and the decision log.

Files are written to a temporary file beside the target and renamed over it, so a reader
(or a crash) never sees half a file.
"""
from __future__ import annotations

import csv
import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, TextIO

from storage.decisions import DecisionsMixin
from storage.labels import ANNOTATION, LabelsMixin
from storage.records import Decision

DECISION_COLUMNS = (
    "id", "decided_at", "round_id", "annotator", "answer", "proposal_id",
    "source_uri", "target_uri", "model_version", "supersedes",
)
"""Columns of the decision exports; ``decided_at`` is ISO 8601 in UTC."""


def write_atomically(path: Path | str, write: Callable[[TextIO], None]) -> None:
    """Write a text file through ``write`` so that it appears complete or not at all."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; an export is meant to be shared
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def decision_record(decision: Decision) -> dict:
    """One log row with the export's columns, in their order."""
    record = {name: getattr(decision, name) for name in DECISION_COLUMNS}
    decided_at = datetime.fromtimestamp(decision.decided_at, tz=timezone.utc)
    record["decided_at"] = decided_at.isoformat(timespec="milliseconds")
    return record


class ExportMixin(DecisionsMixin, LabelsMixin):
    def export_links_tsv(self, path: Path | str, include_seeds: bool = True) -> int:
        """Write accepted links as ``ent_links`` (``source URI\\ttarget URI``); returns the row count."""
        links = [pair for pair in self.accepted_pairs() if include_seeds or pair.origin == ANNOTATION]
        write_atomically(path, lambda file: file.writelines(f"{p.source_uri}\t{p.target_uri}\n" for p in links))
        return len(links)

    def export_decisions_csv(self, path: Path | str) -> int:
        """Write the whole decision log, undo rows included, as CSV with a header; returns the row count."""
        records = [decision_record(decision) for decision in self.decision_log()]

        def write(file: TextIO) -> None:
            writer = csv.DictWriter(file, fieldnames=DECISION_COLUMNS)
            writer.writeheader()
            writer.writerows(records)

        write_atomically(path, write)
        return len(records)

    def export_decisions_jsonl(self, path: Path | str) -> int:
        """Write the whole decision log as JSON Lines, one object per row; returns the row count."""
        records = [decision_record(decision) for decision in self.decision_log()]
        write_atomically(path, lambda file: file.writelines(json.dumps(record) + "\n" for record in records))
        return len(records)
