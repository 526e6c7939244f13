"""AppTest: the dataset page renders the demo's counts and gold pairs."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from annotate.datasets import DEMO_SIZE

ROOT = Path(__file__).resolve().parents[2]


def test_dataset_page_shows_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALMEA_HOME", str(tmp_path))
    monkeypatch.chdir(ROOT)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).switch_page("pages/dataset.py").run()
    assert not app.exception
    assert app.title[0].value == "Dataset"
    links = int(app.metric[0].value.replace(",", ""))
    assert 0.7 * DEMO_SIZE < links <= 0.8 * DEMO_SIZE
    counts = app.dataframe[0].value
    assert counts.loc["entities", "KG1"] > links
    assert len(app.dataframe) == 2 + 3 * 2
    assert (tmp_path / f"demo-{DEMO_SIZE}" / "ent_links").is_file()
