"""AppTest: the experiments page launches a simulation in the background, lists experiments
with their progress, and compares finished ones (curves with std bands, summary table)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from almea.active import SelectionConfig
from almea.simulation import SimulationConfig
from annotate import experiments
from tests.annotate.test_experiments import dataset, finished_home, stand_in, wait_until_stopped  # noqa: F401 - fixtures
from tests.ui.apptest import open_page, widget
from tests.ui.test_insights_page import decoded

@pytest.fixture
def with_experiment(home: Path, finished_home: Path) -> Path:  # noqa: F811 - the imported fixture
    """The UI home plus the finished experiment "done" (ds3 and random, 20%+10%x1)."""
    shutil.copytree(finished_home / "experiments", home / "experiments")
    return home


def launch(app: AppTest, name: str, folder: Path, budgets: str) -> AppTest:
    widget(app.text_input, "Experiment name").input(name)
    widget(app.radio, "Dataset").set_value("folder")
    widget(app.text_input, "Dataset folder").input(str(folder))
    widget(app.selectbox, "Layout").set_value("openea")
    widget(app.text_input, "Budgets").input(budgets)
    widget(app.multiselect, "Strategies").set_value(["ds3"])
    widget(app.button, "Launch").click().run()
    assert not app.exception, app.exception
    return app


def test_compares_finished_experiments(with_experiment: Path) -> None:
    app = open_page("experiments")
    assert app.title[0].value == "Experiments"
    runs = app.dataframe[0].value
    assert runs[["experiment", "status", "progress", "rounds"]].values.tolist() == [["done", "finished", 1.0, "4/4"]]
    assert widget(app.multiselect, "Experiments").value == ["done"]
    [figure] = [decoded(json.loads(c.proto.spec)) for c in app.get("plotly_chart")]
    lines = {t["name"] for t in figure["data"] if t.get("showlegend") is not False}
    assert lines == {"done · 20%+10%x1 ds3", "done · 20%+10%x1 random"}
    bands = [t for t in figure["data"] if t.get("fill") == "toself"]
    assert len(bands) == 2 * 2                                                  # strategies x (Hits@1, MRR)
    summary = app.dataframe[1].value
    assert sorted(summary["strategy"]) == ["ds3", "random"] and summary["l2r_hits@1"].between(0, 1).all()
    labels = {b.label for b in app.get("download_button")}
    assert {"Chart (HTML)", "Curves (CSV)", "Rounds (CSV)", "Summary (CSV)"} <= labels


@pytest.mark.timeout(120)
def test_launches_in_the_background_and_reports_a_stopped_run(
    with_experiment: Path, dataset, monkeypatch: pytest.MonkeyPatch,  # noqa: F811 - the imported fixture
) -> None:
    monkeypatch.setattr(experiments, "simulate_command", stand_in("print('simulate: out of memory')"))
    app = launch(open_page("experiments"), "quick", dataset[0], "20%+10%x1, 20%")
    assert "quick launched: 2 runs" in app.success[0].value
    wait_until_stopped("quick")
    app.run()
    runs = app.dataframe[0].value.set_index("experiment")
    assert runs.loc["quick", "status"] == "stopped" and runs.loc["quick", "rounds"] == "0/3"
    assert "simulate: out of memory" in app.code[0].value
    assert widget(app.multiselect, "Experiments").options == ["done"]          # nothing to compare yet


def test_bad_settings_launch_nothing(with_experiment: Path, dataset) -> None:  # noqa: F811 - the imported fixture
    app = launch(open_page("experiments"), "bad", dataset[0], "20%+10%")
    assert "not launched" in app.error[0].value and "not of the form" in app.code[0].value
    assert not (with_experiment / "experiments" / "bad").exists()


def test_the_form_starts_from_the_simulate_command_defaults(home: Path) -> None:
    app = open_page("experiments")
    assert widget(app.number_input, "Warm-up epochs").value == SimulationConfig.warm_epochs
    assert widget(app.number_input, "Epochs per round").value == SimulationConfig.round_epochs
    assert widget(app.number_input, "DS3 alpha").value == SelectionConfig.alpha
