"""Simulated-oracle experiments started from the app (spec sections 7-8).

An experiment is one ``python -m almea simulate`` process running in its own session, so it
outlives the page and the app server. Its folder under ``$ALMEA_HOME/experiments`` is the
command's ``--out``: one sub-folder per (budget, strategy, seed) run whose ``state.json`` is
rewritten after every round, then the report files once every run is done. Beside them,
``experiment.json`` records what was launched, ``simulate.log`` what the process printed,
and ``experiment.lock`` is held by the process for as long as it runs (``annotate.processes``:
liveness by lock, never by a PID the system may have reused). Everything the page shows is
read from these files, so it never waits on the process and nothing is lost on a restart.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from almea.active import SelectionConfig, parse_budget
from almea.atomic_write import write_atomically
from almea.cli.main import build_parser
from almea.cli.simulate_cmd import simulation_configs
from almea.data import LAYOUTS
from almea.selection import STRATEGIES
from almea.simulation import SimulationConfig, curve_frame, rounds_frame, summary_frame
from almea.simulation.runner import STATE_FILE
from annotate.datasets import home_dir
from annotate.processes import launch_detached, lock_held, try_lock

EXPERIMENTS = "experiments"
MANIFEST = "experiment.json"
LOG = "simulate.log"
LOCK = "experiment.lock"
RESULTS = "results.json"
"""Written by the simulate command's report once every run is done."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class ExperimentSpec:
    """What to simulate: every budget x strategy x seed on one dataset."""

    folder: str
    """Dataset folder."""
    layout: str
    """One of ``LAYOUTS`` (the app's demo is an "images" folder)."""
    budgets: tuple[str, ...] = ("15%+1%x5",)
    """Label budgets as in the paper: "15%+1%x5", or "20%" for a random base without rounds."""
    strategies: tuple[str, ...] = ("ds3",)
    seeds: int = 1
    """Runs per budget and strategy, seeds 0 .. seeds - 1 (each fixes its own test split)."""
    alpha: float = SelectionConfig.alpha
    """DS3 sparsity (spec 6.4)."""
    warm_epochs: int = SimulationConfig.warm_epochs
    round_epochs: int = SimulationConfig.round_epochs

    def __post_init__(self) -> None:
        object.__setattr__(self, "budgets", tuple(str(parse_budget(b)) for b in self.budgets))
        object.__setattr__(self, "strategies", tuple(self.strategies))
        if not self.budgets or not self.strategies:
            raise ValueError("an experiment needs at least one budget and one strategy")
        unknown = sorted(set(self.strategies) - set(STRATEGIES))
        if unknown:
            raise ValueError(f"unknown strategies {unknown}; choose from {sorted(STRATEGIES)}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout {self.layout!r}: choose one of {sorted(LAYOUTS)}")
        if self.seeds < 1 or self.warm_epochs < 1 or self.round_epochs < 0 or self.alpha <= 0:
            raise ValueError("need seeds >= 1, warm epochs >= 1, round epochs >= 0 and alpha > 0")

    def arguments(self, out: Path) -> list[str]:
        """The ``python -m almea`` arguments that run it into ``out``."""
        return [
            "simulate", "--data", str(self.folder), "--layout", self.layout, "--budget", *self.budgets,
            "--strategy", *self.strategies, "--seeds", str(self.seeds), "--alpha", str(self.alpha),
            "--warm-epochs", str(self.warm_epochs), "--round-epochs", str(self.round_epochs),
            "--out", str(out), "--quiet",
        ]


@dataclass(frozen=True)
class RunProgress:
    """How far one (budget, strategy, seed) run got, by its state file."""

    name: str
    """The run's folder, e.g. ``15%+1%x5-ds3-s0``."""
    rounds_done: int
    """Rounds with metrics, the base model (round 0) included."""
    rounds_planned: int


@dataclass(frozen=True)
class Experiment:
    """An experiment as its folder describes it now."""

    name: str
    folder: Path
    spec: ExperimentSpec
    started_at: float
    status: str
    """"running", "finished" (report written) or "stopped" (the process ended without it: see the log)."""
    runs: tuple[RunProgress, ...]

    @property
    def progress(self) -> float:
        """Share of all planned rounds done, over every run."""
        planned = sum(r.rounds_planned for r in self.runs)
        return sum(min(r.rounds_done, r.rounds_planned) for r in self.runs) / planned if planned else 0.0


def experiments_dir(home: Path | None = None) -> Path:
    return (home or home_dir()) / EXPERIMENTS


def simulate_command(spec: ExperimentSpec, out: Path) -> list[str]:
    """The Python arguments that run the simulation into ``out`` (``python`` itself excluded)."""
    return ["-m", "almea", *spec.arguments(out)]


def planned_runs(spec: ExperimentSpec, out: Path) -> list[dict]:
    """[{name, rounds}] of every run the command will make, by the command's own expansion."""
    configs = simulation_configs(build_parser().parse_args(spec.arguments(out)))
    return [{"name": c.name, "rounds": parse_budget(c.budget).rounds + 1} for c in configs]


def launch_experiment(name: str, spec: ExperimentSpec, home: Path | None = None) -> Experiment:
    """Start the simulation in the background (its own session: closing the app leaves it running)."""
    if not _NAME.match(name):
        raise ValueError(
            f"experiment name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    folder = experiments_dir(home) / name
    if folder.exists():
        raise ValueError(f"an experiment named {name!r} already exists in {folder.parent}")
    if not Path(spec.folder).is_dir():
        raise ValueError(f"dataset folder {spec.folder} does not exist")
    runs = planned_runs(spec, folder)
    folder.mkdir(parents=True)
    with try_lock(folder / LOCK) as lock:                  # a fresh folder: nobody else has it
        process = launch_detached(simulate_command(spec, folder), folder / LOG, hold=lock)
    manifest = {"spec": asdict(spec), "runs": runs, "pid": process.pid, "started_at": time.time()}
    write_atomically(folder / MANIFEST, json.dumps(manifest, indent=1))
    return open_experiment(name, home)


def _rounds_done(path: Path) -> int:
    if not path.is_file():
        return 0
    return len(json.loads(path.read_text(encoding="utf-8"))["rows"])


def open_experiment(name: str, home: Path | None = None) -> Experiment:
    """An experiment's launch settings and progress, read from its folder."""
    folder = experiments_dir(home) / name
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    runs = tuple(
        RunProgress(r["name"], _rounds_done(folder / r["name"] / STATE_FILE), r["rounds"]) for r in manifest["runs"]
    )
    if (folder / RESULTS).is_file():
        status = "finished"
    else:
        status = "running" if lock_held(folder / LOCK) else "stopped"
    spec = ExperimentSpec(**manifest["spec"])
    return Experiment(name, folder, spec, manifest["started_at"], status, runs)


def list_experiments(home: Path | None = None) -> list[Experiment]:
    """Every experiment in the home folder, newest first."""
    folder = experiments_dir(home)
    names = [p.name for p in folder.iterdir() if (p / MANIFEST).is_file()] if folder.is_dir() else []
    return sorted((open_experiment(n, home) for n in names), key=lambda e: e.started_at, reverse=True)


def log_tail(experiment: Experiment, lines: int = 30) -> str:
    """The last lines the simulate process printed (its errors, when it stopped)."""
    path = experiment.folder / LOG
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    return "\n".join(text.splitlines()[-lines:])


def experiment_runs(experiment: Experiment) -> list[tuple[dict, list[dict]]]:
    """(run config, round rows) of every run with at least its base round, as the report takes them."""
    out = []
    for run in experiment.runs:
        path = experiment.folder / run.name / STATE_FILE
        if path.is_file():
            state = json.loads(path.read_text(encoding="utf-8"))
            if state["rows"]:
                out.append((state["config"], state["rows"]))
    return out


def compare_frames(experiments: list[Experiment]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(rounds, curves, summary) of several experiments side by side, as in the simulate report.

    The report groups runs by (budget, strategy), so each budget is prefixed with its
    experiment's name: two experiments with the same budget stay two curves.
    """
    runs = [
        ({**config, "budget": f"{experiment.name} · {config['budget']}"}, rows)
        for experiment in experiments for config, rows in experiment_runs(experiment)
    ]
    if not runs:
        return pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    rounds = rounds_frame(runs)
    return rounds, curve_frame(rounds), summary_frame(rounds)
