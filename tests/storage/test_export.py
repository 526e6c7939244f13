"""Exports: ent_links TSV of accepted links, the decision log as CSV and JSON Lines (the text;
annotate writes the files)."""
from __future__ import annotations

import csv
import io
import json

import pytest

from storage import ProjectStore
from storage.export import DECISION_COLUMNS
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


def test_links_tsv(answered: ProjectStore) -> None:
    export = answered.links_tsv()
    assert export.rows == 2
    assert export.text == "/m/seed\thttp://dbpedia.org/resource/Seed\n/m/0\thttp://dbpedia.org/resource/E0\n"
    assert answered.links_tsv(include_seeds=False).text == "/m/0\thttp://dbpedia.org/resource/E0\n"


def test_decisions_csv(answered: ProjectStore, clock) -> None:
    export = answered.decisions_csv()
    assert export.rows == 4
    rows = list(csv.DictReader(io.StringIO(export.text, newline="")))
    assert tuple(rows[0]) == DECISION_COLUMNS
    assert [(r["answer"], r["supersedes"]) for r in rows] == [("accept", ""), ("reject", ""), ("accept", ""), ("undo", "3")]
    assert rows[0]["source_uri"] == "/m/0" and rows[0]["target_uri"] == "http://dbpedia.org/resource/E0"
    assert rows[0]["decided_at"] == "2023-11-14T22:13:20.000+00:00"
    assert rows[0]["model_version"] == "1"


def test_decisions_jsonl(answered: ProjectStore) -> None:
    export = answered.decisions_jsonl()
    assert export.rows == 4
    records = [json.loads(line) for line in export.text.splitlines()]
    assert records[3] == {
        "id": 4, "decided_at": "2023-11-14T22:13:20.000+00:00", "round_id": 1, "annotator": "alice",
        "answer": "undo", "proposal_id": 3, "source_uri": "/m/2",
        "target_uri": "http://dbpedia.org/resource/E2", "model_version": 1, "supersedes": 3,
    }
