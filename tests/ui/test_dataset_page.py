"""AppTest: the dataset page renders the demo's counts and gold pairs."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from almea.data import load_dataset
from annotate.datasets import DEMO_SIZE, demo_dataset
from annotate.service import create_project
from tests.ui.conftest import TINY

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


def test_the_page_shows_the_dataset_of_the_project_in_the_url(home: Path) -> None:
    other = demo_dataset(home, size=60)
    create_project("second", {"folder": str(other), "layout": "images"}, TINY, home=home, start=False).close()
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.query_params["project"] = "second"
    app.switch_page("pages/dataset.py").run()
    assert not app.exception and "Project **second**" in app.caption[0].value and "demo-60" in app.caption[0].value
    assert int(app.metric[0].value.replace(",", "")) == len(load_dataset(other, "images").links)
    app.query_params.clear()                                   # a page change drops the URL's parameters
    app.run()
    assert "Project **second**" in app.caption[0].value and app.query_params["project"] == "second"


def test_an_unknown_project_is_named_and_nothing_is_shown_for_another(home: Path) -> None:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.query_params["project"] = "nope"
    app.switch_page("pages/dataset.py").run()
    assert not app.exception and "nope" in app.error[0].value
    assert not app.metric and "Choose the project" in app.info[0].value
