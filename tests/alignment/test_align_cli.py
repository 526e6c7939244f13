"""``python -m almea align`` from a checkpoint and from a project's alignment file."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from almea.alignment.export import PROJECT_ALIGNMENT
from almea.cli.main import main
from almea.cli.data_cmd import write_demo


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("demo"), 120, 0)


def test_align_from_a_checkpoint_writes_every_format(demo_folder, tmp_path):
    checkpoint = tmp_path / "model.pt"
    assert main(["train", "--data", str(demo_folder), "--layout", "images", "--epochs", "2", "--seed-ratio", "0.3",
                 "--checkpoint", str(checkpoint), "--quiet"]) == 0
    for suffix in (".tsv", ".csv", ".jsonl"):
        out = tmp_path / f"alignment{suffix}"
        assert main(["align", "--checkpoint", str(checkpoint), "--data", str(demo_folder), "--layout", "images",
                     "--out", str(out)]) == 0
    tsv = pd.read_csv(tmp_path / "alignment.tsv", sep="\t", header=None)
    csv = pd.read_csv(tmp_path / "alignment.csv")
    assert tsv.shape[1] == 2 and len(tsv) == len(csv) > 50
    assert csv["source"].is_unique and csv["target"].is_unique
    assert set(csv["provenance"]) == {"predicted"} and csv["probability"].isna().all()
    first = json.loads((tmp_path / "alignment.jsonl").read_text().splitlines()[0])
    assert set(first) == {"source", "target", "csls", "margin", "probability", "mutual", "provenance"}
    cut = tmp_path / "cut.csv"
    assert main(["align", "--checkpoint", str(checkpoint), "--data", str(demo_folder), "--layout", "images",
                 "--out", str(cut), "--min-probability", "0.9"]) == 0
    assert len(pd.read_csv(cut)) == 0                              # uncalibrated: nothing claims 0.9


def test_align_from_a_project_file_cuts_and_converts(tmp_path):
    records = [
        {"source": "a", "target": "x", "csls": 0.5, "margin": None, "probability": 1.0, "mutual": False, "provenance": "seed"},
        {"source": "b", "target": "y", "csls": 0.3, "margin": 0.1, "probability": 0.97, "mutual": True,
         "provenance": "pseudo-label"},
        {"source": "c", "target": "z", "csls": 0.1, "margin": 0.0, "probability": 0.4, "mutual": False,
         "provenance": "predicted"},
    ]
    path = tmp_path / PROJECT_ALIGNMENT
    path.parent.mkdir()
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "links.tsv"
    assert main(["align", "--project", str(tmp_path), "--out", str(out), "--min-probability", "0.9"]) == 0
    assert out.read_text() == "a\tx\nb\ty\n"


def test_align_refuses_unknown_formats_and_missing_inputs(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["align", "--project", str(tmp_path), "--out", str(tmp_path / "x.parquet")])
    assert exit_info.value.code == 2 and "unknown alignment format" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["align", "--project", str(tmp_path), "--out", str(tmp_path / "x.tsv")])
    assert "no alignment yet" in capsys.readouterr().err
