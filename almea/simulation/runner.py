"""Simulated-oracle active learning (Algorithm 2, spec sections 7-8), resumable per round.

A run trains ``warm_epochs`` on the base labels, then each round selects a batch, asks the
oracle, adds the accepted pairs to the labels (rejected ones become hard negatives) and
trains ``round_epochs`` more from the current weights, at the lower round learning rate.
After every round the state (labels, answers, metrics) and the model checkpoint are written
atomically, so a killed run continues from its last finished round and ends with the same
numbers as an uninterrupted one.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import time
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from almea.active import ActiveLearner, GoldOracle, LearnerConfig, parse_budget
from almea.active.self_training import (
    PseudoLabels,
    SelfTrainingConfig,
    answer_calibrator,
    trainable_negatives,
    without_entities,
)
from almea.alignment import Calibrator
from almea.atomic_write import write_atomically
from almea.data.kg_pair import KGPair
from almea.simulation.quality import alignment_quality
from almea.training.pipeline import peak_memory_mb
from almea.training.split import SPLITS, make_split
from almea.training.trainer import seed_everything

STATE_FILE = "state.json"
CHECKPOINT_FILE = "model.pt"
LOCK_FILE = "run.lock"
WARM_DIR = "warm"
ROW_FILE = "round0.json"


class RunInUse(RuntimeError):
    """Another process is running this simulation folder right now."""


@dataclass(frozen=True)
class SimulationConfig:
    """One run: a budget, a strategy and a seed (the seed also fixes the test split)."""

    budget: str
    strategy: str = "ds3"
    seed: int = 0
    test_ratio: float = 0.7
    """Held-out share, fixed per seed for every budget and strategy: of the gold links, or
    of the KG1 entities with ``split="entities"``."""
    split: str = "links"
    """What is held out (``almea.training.split``): "links" (the paper's protocol) or
    "entities", under which the askable entities are a sample of the judged ones."""
    warm_epochs: int = 40
    """T_warm (the paper: 500 on a GPU); 40 epochs reach ~0.57 Hits@1 at 20% seeds on FB-DB."""
    round_epochs: int = 10
    """T_inter (the paper: 50), from the current weights."""
    refine_epochs: int = 0
    """Epochs after T_warm on the base labels at the round learning rate: a base-only budget
    gets the rounds' total, so it has the same schedule as the active runs it is compared with."""
    error_rate: float = 0.0
    accept_all: bool = False
    learner: LearnerConfig = field(default_factory=LearnerConfig)

    def __post_init__(self) -> None:
        parse_budget(self.budget)
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}")
        if self.warm_epochs < 1 or self.round_epochs < 0 or self.refine_epochs < 0:
            raise ValueError("need warm_epochs >= 1, round_epochs >= 0 and refine_epochs >= 0, got "
                             f"{self.warm_epochs}, {self.round_epochs}, {self.refine_epochs}")

    @property
    def name(self) -> str:
        """A folder name for the run, e.g. ``15%+1%x5-ds3-s0`` (``-st`` with self-training)."""
        suffix = ("-st" if self.learner.self_training.enabled else "") + ("-es" if self.split == "entities" else "")
        return f"{self.budget.replace(' ', '')}-{self.strategy}-s{self.seed}{suffix}"

    def to_dict(self) -> dict:
        return asdict(self)


def _write_json(path: Path, data: dict) -> None:
    write_atomically(path, json.dumps(data, indent=1))


def _pairs(rows: list) -> np.ndarray:
    return np.asarray(rows, dtype=np.int64).reshape(-1, 2)


def _with_defaults(stored: dict) -> dict:
    """A stored run config with the fields it predates at their defaults (old runs resume)."""
    defaults = {f.name: f.default for f in fields(SimulationConfig) if f.default is not MISSING}
    return {**defaults, **stored}


@dataclass
class _State:
    """What a run carries from round to round; JSON on disk."""

    config: dict
    rows: list[dict] = field(default_factory=list)
    labelled: list[list[int]] = field(default_factory=list)
    answered: list[list[int]] = field(default_factory=list)
    rejected: list[list[int]] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)
    """Self-training: every answer's ``SCORE_COLUMNS`` as it was proposed (what the calibrator
    learns from), plus accepted and audit."""
    trained: list[list[int]] = field(default_factory=list)
    """The pseudo-labels the current model was trained with (their scores are inflated by it)."""
    done: bool = False

    @classmethod
    def open(cls, folder: Path, config: SimulationConfig) -> _State:
        path = folder / STATE_FILE
        if not path.exists():
            return cls(config=config.to_dict())
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not a simulation state file ({err.msg} at line {err.lineno})") from err
        if _with_defaults(data.get("config") or {}) != json.loads(json.dumps(config.to_dict())):
            raise ValueError(f"{path}: holds a run with another configuration; use a new --out folder")
        return cls(**data)


class Simulation:
    """A resumable simulated-oracle run written to ``folder``."""

    def __init__(self, pair: KGPair, config: SimulationConfig, folder: Path, progress: bool = True) -> None:
        self.pair = pair
        self.config = config
        self.folder = folder
        self.progress = progress
        self.budget = parse_budget(config.budget)
        self.split = make_split(config.split, pair.links, pair.n1, config.test_ratio, config.seed)
        self.oracle = GoldOracle(pair.links, config.error_rate, config.accept_all, config.seed)
        self._carried: PseudoLabels | None = None

    def run(self) -> list[dict]:
        """Run (or finish) the schedule; returns one metrics row per round (0 = base).

        Raises ``RunInUse`` when another process is running the same folder (the lock is
        released by the OS if that process dies, so a killed run can always be resumed).
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / LOCK_FILE, "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunInUse(f"{self.folder} is being run by another process") from None
            return self._run()

    def _run(self) -> list[dict]:
        state = _State.open(self.folder, self.config)
        if state.done:
            return state.rows
        learner = ActiveLearner(self.pair, self.config.learner, progress=self.progress)
        checkpoint = self.folder / CHECKPOINT_FILE
        if state.rows:
            learner.load(checkpoint)
        else:
            state.labelled = self.split.base(self.budget.base).tolist()
            self._warm_start(learner, state, checkpoint)
            _write_json(self.folder / STATE_FILE, asdict(state))
        rounds = range(len(state.rows), self.budget.rounds + 1)
        for index in tqdm(rounds, desc=self.config.name, disable=not self.progress, leave=False):
            proposal = self._propose(learner, state, index)
            self._train_round(learner, state, index, proposal)
            learner.save(checkpoint)
            _write_json(self.folder / STATE_FILE, asdict(state))
        if self.self_training.enabled:
            state.rows[-1].update(alignment_quality(
                learner, _pairs(state.labelled), _pairs(state.rejected), self._calibrator(state), self.pair.links,
                _pairs(state.trained)))
        state.done = True
        _write_json(self.folder / STATE_FILE, asdict(state))
        return state.rows

    def warm_key(self) -> str:
        """What round 0 depends on: not the strategy, so runs that differ only in it share it."""
        skip = {"selection"} | ({"self_training"} if not self.config.refine_epochs else set())
        learner = {k: v for k, v in self.config.learner.to_dict().items() if k not in skip}
        config = self.config
        inputs = [self.budget.base, config.seed, config.test_ratio, config.warm_epochs, config.refine_epochs, learner,
                  self.pair.name, len(self.pair.links)] + ([config.split] if config.split != "links" else [])
        return hashlib.blake2b(json.dumps(inputs, sort_keys=True).encode(), digest_size=8).hexdigest()

    def _warm_start(self, learner: ActiveLearner, state: _State, checkpoint: Path) -> None:
        """Round 0 (T_warm epochs on the base labels), trained once per seed and budget base
        and shared by every strategy through ``<out>/warm/<key>``: the strategies of one seed
        then start from the same model, and the base costs one training instead of one per
        strategy."""
        shared = self.folder.parent / WARM_DIR / self.warm_key()
        if (shared / ROW_FILE).exists():
            shutil.copyfile(shared / CHECKPOINT_FILE, checkpoint)
            learner.load(checkpoint)
            state.rows.append(json.loads((shared / ROW_FILE).read_text(encoding="utf-8")))
            return
        self._train_round(learner, state, 0, {})
        learner.save(checkpoint)
        shared.mkdir(parents=True, exist_ok=True)
        write_atomically(shared / CHECKPOINT_FILE, checkpoint.read_bytes())
        _write_json(shared / ROW_FILE, state.rows[0])              # written last: marks the copy complete

    def _propose(self, learner: ActiveLearner, state: _State, index: int) -> dict:
        """Select a batch, answer it with the oracle and update the label sets."""
        n = self.budget.batch_size(self.split.n_links)
        rng = np.random.default_rng([self.config.seed, index])
        started = time.perf_counter()
        labelled, answered = _pairs(state.labelled), _pairs(state.answered)
        if self.self_training.enabled:
            table = learner.score_table(learner.embeddings(), labelled, _pairs(state.rejected))
            calibrator = self._calibrator(state)
            trained = _pairs(state.trained)
            pseudo = learner.pseudo_labels(table, calibrator, self.split.blocked, trained)
            selection, audit = learner.select_verified(table, calibrator, pseudo.threshold, n, labelled, answered,
                                                       self.split.blocked, rng, self.config.strategy, trained)
            self._carried = without_entities(pseudo, selection.pairs)
        else:
            selection = learner.select(n, labelled, answered, self.split.blocked, rng, self.config.strategy)
            audit = np.zeros(len(selection), dtype=bool)
        seconds = time.perf_counter() - started
        accept = self.oracle.answer(selection.pairs, index)
        gold = self.oracle.is_gold(selection.pairs)
        if self.self_training.enabled:
            scores = table.features(selection.pairs, trained).assign(accepted=accept, audit=audit)
            state.answers += json.loads(scores.to_json(orient="records"))
        state.labelled += selection.pairs[accept].tolist()
        state.rejected += selection.pairs[~accept].tolist()
        state.answered += selection.pairs.tolist()
        return {
            "proposed": len(selection),
            "accepted": int(accept.sum()),
            "precision": float(gold.mean()) if len(gold) else 0.0,
            "wrong_labels": int((accept & ~gold).sum()),
            "audited": int(audit.sum()),
            "audit_precision": float(gold[audit].mean()) if audit.any() else None,
            "select_seconds": seconds,
            "strategy_seconds": selection.seconds,
        }

    @property
    def self_training(self) -> SelfTrainingConfig:
        return self.config.learner.self_training

    def _calibrator(self, state: _State) -> Calibrator:
        return answer_calibrator(pd.DataFrame(state.answers), self.self_training)

    def _schedule(self, index: int) -> list[tuple[int, bool]]:
        """(epochs, refine) stages of round ``index``: round 0 is T_warm at the base learning
        rate, then any refine epochs; every later round is T_inter at the round rate. Under
        self-training the refine epochs come in T_inter chunks, each with fresh pseudo-labels,
        as the rounds of an active run get them."""
        if index > 0:
            return [(self.config.round_epochs, True)]
        refine = self.config.refine_epochs
        if not self.self_training.enabled or not refine:
            return [(self.config.warm_epochs, False), (refine, True)]
        chunk = max(1, self.config.round_epochs)
        return [(self.config.warm_epochs, False)] + [(min(chunk, refine - lo), True) for lo in range(0, refine, chunk)]

    def _pseudo(self, learner: ActiveLearner, state: _State) -> tuple[np.ndarray, dict]:
        """Pseudo-labels from the current model, and what to record of them. A round reuses the
        ones its selection scored (same model; pairs touching the just-answered entities
        dropped), which saves a second pass over all entity pairs; a base-only run scores anew."""
        pseudo, self._carried = self._carried, None
        if pseudo is None:
            table = learner.score_table(learner.embeddings(), _pairs(state.labelled), _pairs(state.rejected))
            pseudo = learner.pseudo_labels(table, self._calibrator(state), self.split.blocked, _pairs(state.trained))
        gold = self.oracle.is_gold(pseudo.pairs)
        test_entities = np.isin(pseudo.pairs, self.split.blocked).any(axis=1)
        return pseudo.pairs, {
            "pseudo_labels": len(pseudo),
            "pseudo_precision": float(gold.mean()) if len(pseudo) else None,
            "pseudo_test_share": float(test_entities.mean()) if len(pseudo) else None,
            "pseudo_threshold": None if np.isnan(pseudo.threshold) else pseudo.threshold,
        }

    def _train_round(self, learner: ActiveLearner, state: _State, index: int, proposal: dict) -> None:
        """Train warm from the current weights, evaluate on the fixed test set, record a row."""
        seed_everything(self.config.seed * 1000 + index)
        started = time.perf_counter()
        pseudo_row: dict = {}
        for epochs, refine in self._schedule(index):
            pseudo = None
            if epochs and refine and self.self_training.enabled:
                pseudo, pseudo_row = self._pseudo(learner, state)
            if epochs:
                learner.train(_pairs(state.labelled), epochs, trainable_negatives(_pairs(state.rejected), self.split.blocked), refine=refine, pseudo=pseudo)
                state.trained = [] if pseudo is None else pseudo.tolist()
        trained = time.perf_counter()
        metrics = learner.evaluate(self.split.test)
        state.rows.append({
            "round": index,
            "labelled": len(state.labelled),
            "labelled_share": len(state.labelled) / self.split.n_links,
            "answered": len(state.answered),
            **{"proposed": 0, "accepted": 0, "precision": None, "wrong_labels": 0, "select_seconds": 0.0, "strategy_seconds": 0.0,
               **proposal},
            "train_seconds": trained - started,
            "eval_seconds": time.perf_counter() - trained,
            "epochs": learner.trainer.epoch,
            "peak_memory_mb": peak_memory_mb(),
            **{f"{direction}_{name}": value for direction in ("l2r", "r2l") for name, value in metrics[direction].items()},
            "ranking": metrics["ranking"],
            "modality_weights": learner.modality_weights(),
            **pseudo_row,
        })
