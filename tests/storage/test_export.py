"""Exports: ent_links TSV of accepted links, the decision log as CSV and JSON Lines."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from storage import ProjectStore
from storage.export import DECISION_COLUMNS, write_atomically
from tests.storage.conftest import open_round


@pytest.fixture
def answered(store: ProjectStore) -> ProjectStore:
    """One seed link; alice accepts pair 0, rejects pair 1, accepts pair 2 then undoes it."""
    store.import_seed_labels([("/m/seed", "http://dbpedia.org/resource/Seed")])
    round_ = open_round(store, 3, model_version=1)
    pairs = store.proposals(round_.id)
    store.decide(pairs[0].id, "alice", "accept")
    store.decide(pairs[1].id, "alice", "reject")
    store.decide(pairs[2].id, "alice", "accept")
    store.undo_last("alice")
    return store


def test_links_tsv(answered: ProjectStore, tmp_path: Path) -> None:
    path = tmp_path / "out" / "ent_links"
    assert answered.export_links_tsv(path) == 2
    assert path.read_text() == "/m/seed\thttp://dbpedia.org/resource/Seed\n/m/0\thttp://dbpedia.org/resource/E0\n"
    assert answered.export_links_tsv(path, include_seeds=False) == 1
    assert path.read_text() == "/m/0\thttp://dbpedia.org/resource/E0\n"


def test_decisions_csv(answered: ProjectStore, tmp_path: Path, clock) -> None:
    path = tmp_path / "decisions.csv"
    assert answered.export_decisions_csv(path) == 4
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert tuple(rows[0]) == DECISION_COLUMNS
    assert [(r["answer"], r["supersedes"]) for r in rows] == [("accept", ""), ("reject", ""), ("accept", ""), ("undo", "3")]
    assert rows[0]["source_uri"] == "/m/0" and rows[0]["target_uri"] == "http://dbpedia.org/resource/E0"
    assert rows[0]["decided_at"] == "2023-11-14T22:13:20.000+00:00"
    assert rows[0]["model_version"] == "1"


def test_decisions_jsonl(answered: ProjectStore, tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    assert answered.export_decisions_jsonl(path) == 4
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert records[3] == {
        "id": 4, "decided_at": "2023-11-14T22:13:20.000+00:00", "round_id": 1, "annotator": "alice",
        "answer": "undo", "proposal_id": 3, "source_uri": "/m/2",
        "target_uri": "http://dbpedia.org/resource/E2", "model_version": 1, "supersedes": 3,
    }


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "ent_links"
    path.write_text("old\n")

    def half_then_crash(file) -> None:
        file.write("new")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, half_then_crash)
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["ent_links"]
