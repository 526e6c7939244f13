"""Experiments: launching ``almea simulate`` in the background, its progress and the comparison.

The launcher runs a stand-in command (the real one trains a 300-d model); the finished
experiment is filled by calling the simulation directly with a 32-d model."""
from __future__ import annotations

import fcntl
import shutil
from pathlib import Path

import pytest

from almea.active import LearnerConfig
from almea.data.synthetic import DemoConfig, generate_demo, write_openea
from almea.features import FeatureConfig
from almea.model.config import ModelConfig
from almea.simulation import Simulation, SimulationConfig, write_report
from annotate import experiments
from annotate.experiments import (
    LOCK,
    Experiment,
    ExperimentSpec,
    compare_frames,
    experiments_dir,
    launch_experiment,
    list_experiments,
    log_tail,
    open_experiment,
    planned_runs,
)
from annotate.processes import holding

TINY_LEARNER = LearnerConfig(features=FeatureConfig(images=False), model=ModelConfig(dim=32, latent_batch=64))


def stand_in(script: str, argument: Path | None = None):
    """A ``simulate_command`` that runs ``script`` with ``argument`` (default: the output
    folder) as argv[1]."""
    return lambda spec, out: ["-c", script, str(out if argument is None else argument)]


def wait_until_stopped(name: str, home: Path | None = None) -> Experiment:
    """The experiment once its process has exited: blocks on the lock the process holds for
    its whole life, so there is no poll interval to race (pytest-timeout bounds a hang)."""
    with open(experiments_dir(home) / name / LOCK, "ab") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
    return open_experiment(name, home)


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    pair = generate_demo(DemoConfig(n_entities=120, seed=0, images=False))
    folder = tmp_path_factory.mktemp("demo") / "openea"
    write_openea(pair, folder)
    return folder, pair


@pytest.fixture(scope="session")
def finished_home(tmp_path_factory: pytest.TempPathFactory, dataset: tuple[Path, object]) -> Path:
    """A home with experiment "done": ds3 and random at 20%+10%x1, one seed, all rounds run."""
    folder, pair = dataset
    home = tmp_path_factory.mktemp("experiments-home")
    patch = pytest.MonkeyPatch()
    patch.setenv("ALMEA_CACHE_DIR", str(home / "cache"))
    patch.setattr(experiments, "simulate_command", stand_in("pass"))
    spec = ExperimentSpec(str(folder), "openea", budgets=("20%+10%x1",), strategies=("ds3", "random"),
                          warm_epochs=2, round_epochs=1)
    experiment = launch_experiment("done", spec, home)
    runs = []
    for run in experiment.runs:
        config = SimulationConfig(budget="20%+10%x1", strategy=run.name.split("-")[1], seed=0, warm_epochs=2,
                                  round_epochs=1, learner=TINY_LEARNER)
        runs.append((config.to_dict(), Simulation(pair, config, experiment.folder / run.name, progress=False).run()))
    write_report(runs, experiment.folder)
    patch.undo()
    return home


@pytest.fixture
def home(finished_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(finished_home, copy)
    monkeypatch.setenv("ALMEA_HOME", str(copy))
    return copy


def spec(folder: Path, **changes) -> ExperimentSpec:
    return ExperimentSpec(str(folder), "openea", **{"budgets": ("20%+10%x1",), **changes})


@pytest.mark.parametrize("changes, message", [
    ({"budgets": ("20%+10%",)}, "not of the form"),
    ({"budgets": ()}, "at least one budget"),
    ({"strategies": ("ds3", "oracle")}, "unknown strategies ['oracle']"),
    ({"layout": "csv"}, "layout 'csv'"),
    ({"seeds": 0}, "seeds >= 1"),
])
def test_spec_rejects_bad_settings(tmp_path: Path, changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        ExperimentSpec(str(tmp_path), **{"layout": "openea", **changes})


def test_planned_runs_follow_the_simulate_command(tmp_path: Path) -> None:
    planned = planned_runs(spec(tmp_path, budgets=("15%+1%x5", "20%"), strategies=("ds3", "degree"), seeds=2), tmp_path)
    assert [(r["name"], r["rounds"]) for r in planned] == [
        ("15%+1%x5-ds3-s0", 6), ("15%+1%x5-ds3-s1", 6), ("15%+1%x5-degree-s0", 6), ("15%+1%x5-degree-s1", 6),
        ("20%-random-s0", 1), ("20%-random-s1", 1)]
    command = experiments.simulate_command(spec(tmp_path, alpha=0.5), tmp_path / "out")
    assert command[:3] == ["-m", "almea", "simulate"]
    assert command[command.index("--alpha") + 1] == "0.5"
    assert command[command.index("--out") + 1] == str(tmp_path / "out")


@pytest.mark.timeout(60)
def test_launch_runs_in_the_background_and_logs(home: Path, dataset, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    gate = tmp_path / "gate"                     # the stand-in waits until the test opens it
    monkeypatch.setattr(experiments, "simulate_command", stand_in(
        "import fcntl, os, sys; print('session', os.getsid(0) == os.getpid(), flush=True); "
        "fcntl.flock(open(sys.argv[1], 'ab'), fcntl.LOCK_EX)", gate))
    with holding(gate):
        experiment = launch_experiment("bg", spec(dataset[0]), home)
        assert experiment.status == "running" and experiment.progress == 0.0
        assert [(r.name, r.rounds_done, r.rounds_planned) for r in experiment.runs] == [("20%+10%x1-ds3-s0", 0, 2)]
    stopped = wait_until_stopped("bg", home)
    assert stopped.status == "stopped"                                      # ended without a report
    assert log_tail(stopped) == "session True"


def test_launch_refuses_bad_names_and_missing_data(home: Path, dataset, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="already exists"):
        launch_experiment("done", spec(dataset[0]), home)
    with pytest.raises(ValueError, match="experiment name"):
        launch_experiment("../escape", spec(dataset[0]), home)
    with pytest.raises(ValueError, match="does not exist"):
        launch_experiment("missing", spec(tmp_path / "nowhere"), home)
    assert [e.name for e in list_experiments(home)] == ["done"]


def test_finished_experiment_progress_and_settings(home: Path, dataset) -> None:
    [done] = list_experiments(home)
    assert done.status == "finished" and done.progress == 1.0
    assert [(r.name, r.rounds_done, r.rounds_planned) for r in done.runs] == [
        ("20%+10%x1-ds3-s0", 2, 2), ("20%+10%x1-random-s0", 2, 2)]
    assert done.spec == spec(dataset[0], strategies=("ds3", "random"), warm_epochs=2, round_epochs=1)


def test_progress_counts_the_rounds_written_so_far(home: Path) -> None:
    folder = home / "experiments" / "done"
    (folder / "results.json").unlink()
    shutil.rmtree(folder / "20%+10%x1-random-s0")
    partial = open_experiment("done", home)
    assert partial.status == "stopped" and partial.progress == 0.5           # its process is long gone


def test_compare_keeps_experiments_apart(home: Path) -> None:
    shutil.copytree(home / "experiments" / "done", home / "experiments" / "again")
    rounds, curves, summary = compare_frames(list_experiments(home))
    assert sorted(set(curves["budget"])) == ["again · 20%+10%x1", "done · 20%+10%x1"]
    assert len(curves) == 2 * 2 * 2                                         # experiments x strategies x rounds
    assert set(summary["strategy"]) == {"ds3", "random"} and (summary["seeds"] == 1).all()
    assert summary["l2r_hits@1"].between(0, 1).all()
    assert compare_frames([])[1].empty
