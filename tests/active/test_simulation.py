"""Simulated-oracle active learning: the schedule, the honesty of the pool, resuming, reports."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from almea.active import ActiveLearner, LearnerConfig, SelectionConfig
from almea.cli.main import main
from almea.data import load_dataset
from almea.features import FeatureConfig
from almea.model.config import ModelConfig, TrainConfig
from almea.simulation import Simulation, SimulationConfig, curve_frame, learning_curve_figure, rounds_frame
from almea.simulation.runner import STATE_FILE
from almea.training.split import split_links
from tests.conftest import real_dataset

SMALL = LearnerConfig(
    features=FeatureConfig(value_dim=1024),
    model=ModelConfig(dim=32, latent_batch=64),
    train=TrainConfig(batch_size=256, eval_every=0),
    selection=SelectionConfig(k_max=200),
)
COMPARED = ("labelled", "answered", "proposed", "accepted", "precision", "l2r_hits@1", "l2r_mrr", "r2l_hits@1")


def small_config(strategy: str = "ds3", **changes) -> SimulationConfig:
    learner = replace(SMALL, selection=replace(SMALL.selection, strategy=strategy))
    return SimulationConfig(budget="20%+5%x3", strategy=strategy, seed=0, test_ratio=0.5, warm_epochs=8,
                            round_epochs=3, learner=learner, **changes)


def test_schedule_grows_the_labels_and_never_proposes_test_entities(demo_pair, tmp_path) -> None:
    rows = Simulation(demo_pair, replace(small_config(), warm_epochs=16), tmp_path / "run", progress=False).run()
    assert [r["round"] for r in rows] == [0, 1, 2, 3]
    n_links, batch = len(demo_pair.links), int(round(0.05 * len(demo_pair.links)))
    assert rows[0]["labelled"] == int(round(0.2 * n_links)) and rows[0]["proposed"] == 0
    state = json.loads((tmp_path / "run" / STATE_FILE).read_text())
    answered = np.array(state["answered"])
    assert len(answered) == len({tuple(p) for p in answered}) == 3 * batch
    test = split_links(demo_pair.links, 0.5, 0).test
    assert not set(answered[:, 0]) & set(test[:, 0]) and not set(answered[:, 1]) & set(test[:, 1])
    gold = {tuple(p) for p in demo_pair.links.tolist()}
    for previous, row in zip(rows, rows[1:]):
        assert row["proposed"] == batch
        assert row["labelled"] == previous["labelled"] + row["accepted"]
        assert row["wrong_labels"] == 0
        assert row["select_seconds"] >= row["strategy_seconds"] > 0     # pool + strategy, not the strategy alone
    proposed_gold = np.mean([tuple(p) in gold for p in answered])
    assert np.mean([r["precision"] for r in rows[1:]]) == pytest.approx(proposed_gold)
    assert proposed_gold > 0.5                       # mutual neighbours of a trained model are mostly right
    assert rows[-1]["epochs"] == 16 + 3 * 3
    assert rows[-1]["l2r_hits@1"] > rows[0]["l2r_hits@1"]         # the accepted pairs help
    assert state["done"] and len(state["rejected"]) == 3 * batch - sum(r["accepted"] for r in rows)


def test_accept_all_labels_every_proposal(demo_pair, tmp_path) -> None:
    rows = Simulation(demo_pair, small_config("most-confident", accept_all=True), tmp_path / "run", progress=False).run()
    assert all(r["accepted"] == r["proposed"] for r in rows[1:])
    assert sum(r["wrong_labels"] for r in rows) == sum(round((1 - r["precision"]) * r["proposed"]) for r in rows[1:])


def test_a_killed_run_resumes_to_the_same_numbers(demo_pair, tmp_path, monkeypatch) -> None:
    config = small_config("uncertainty")
    whole = Simulation(demo_pair, config, tmp_path / "whole", progress=False).run()

    original = Simulation._propose

    def crash_in_round_2(self, learner, state, index):
        if index == 2:
            raise KeyboardInterrupt
        return original(self, learner, state, index)

    monkeypatch.setattr(Simulation, "_propose", crash_in_round_2)
    with pytest.raises(KeyboardInterrupt):
        Simulation(demo_pair, config, tmp_path / "killed", progress=False).run()
    assert len(json.loads((tmp_path / "killed" / STATE_FILE).read_text())["rows"]) == 2
    monkeypatch.setattr(Simulation, "_propose", original)
    resumed = Simulation(demo_pair, config, tmp_path / "killed", progress=False).run()
    assert [{k: r[k] for k in COMPARED} for r in resumed] == [{k: r[k] for k in COMPARED} for r in whole]


def test_a_folder_of_another_run_is_refused(demo_pair, tmp_path) -> None:
    folder = tmp_path / "run"
    Simulation(demo_pair, replace(small_config("random"), warm_epochs=2, round_epochs=0), folder, progress=False).run()
    with pytest.raises(ValueError, match="another configuration"):
        Simulation(demo_pair, small_config("random"), folder, progress=False).run()
    state = json.loads((folder / STATE_FILE).read_text())
    del state["config"]["split"]                       # a run from before splits were a setting
    (folder / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")
    assert Simulation(demo_pair, replace(small_config("random"), warm_epochs=2, round_epochs=0), folder,
                      progress=False).run() == state["rows"]
    (folder / STATE_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="state.json: not a simulation state file"):
        Simulation(demo_pair, small_config("random"), folder, progress=False).run()


def test_learning_curves_have_mean_and_std_bands() -> None:
    def run(strategy: str, seed: int, hits: list[float]) -> tuple[dict, list[dict]]:
        rows = [{"round": i, "labelled": 10 * (i + 1), "labelled_share": 0.1 * (i + 1), "answered": 5 * i,
                 "precision": None if i == 0 else 0.8, "select_seconds": 0.0, "train_seconds": 1.0,
                 "l2r_hits@1": h, "l2r_hits@10": h, "l2r_mrr": h, "r2l_hits@1": h, "r2l_mrr": h,
                 "modality_weights": {"graph": 0.5, "visual": 0.5}} for i, h in enumerate(hits)]
        return {"budget": "10%+10%x1", "strategy": strategy, "seed": seed}, rows

    frame = rounds_frame([run("ds3", 0, [0.5, 0.7]), run("ds3", 1, [0.5, 0.5]), run("random", 0, [0.5, 0.6])])
    curves = curve_frame(frame)
    ds3 = curves[curves["strategy"] == "ds3"]
    assert ds3["l2r_hits@1"].tolist() == pytest.approx([0.5, 0.6])
    assert ds3["l2r_hits@1_std"].tolist() == pytest.approx([0.0, np.std([0.7, 0.5], ddof=1)])
    figure = learning_curve_figure(curves)
    lines = [t for t in figure.data if t.showlegend is not False and t.mode == "lines+markers"]
    assert sorted(t.name for t in lines) == ["10%+10%x1 ds3", "10%+10%x1 random"]
    bands = [t for t in figure.data if t.fill == "toself"]
    assert len(bands) == 2 * 2                      # one band per strategy and metric panel


def test_simulate_command_writes_tables_and_figures(tmp_path, capsys) -> None:
    code = main([
        "simulate", "--data", str(tmp_path / "demo"), "--layout", "demo", "--demo-size", "120",
        "--budget", "20%+10%x1", "30%", "--strategy", "ds3", "degree", "--seeds", "1",
        "--warm-epochs", "2", "--round-epochs", "1", "--k-max", "50", "--out", str(tmp_path / "out"), "--quiet",
    ])
    assert code == 0
    out = capsys.readouterr().out
    assert "| 20%+10%x1 | ds3 | 1 |" in out and "| 30% | random | 1 |" in out
    assert "±" not in out                                    # one seed: no std to show
    for name in ("rounds.csv", "curves.csv", "summary.csv", "results.json", "learning_curves.html"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert (tmp_path / "demo" / "ent_links").is_file() and not (tmp_path / "out" / "ent_links").exists()
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    base = next(r for r in results if r["config"]["budget"] == "30%")
    assert (base["config"]["warm_epochs"], base["config"]["refine_epochs"]) == (2, 1) and len(base["rounds"]) == 1
    assert base["rounds"][0]["epochs"] == 2 + 1 * 1                   # the same schedule as the active run


@pytest.mark.parametrize(("budget", "refine", "schedule"), [
    ("20%+5%x3", 0, [(8, 1e-3), (3, 3e-4), (3, 3e-4), (3, 3e-4)]),
    ("35%", 9, [(8, 1e-3), (9, 3e-4)]),
])
def test_rounds_train_at_the_round_learning_rate(demo_pair, tmp_path, monkeypatch, budget, refine, schedule) -> None:
    from almea.training.trainer import Trainer

    fitted = []
    original = Trainer.fit

    def recording(self, train_pairs, epochs=None, **options):
        fitted.append((epochs, options["lr"]))
        return original(self, train_pairs, epochs, **options)

    monkeypatch.setattr(Trainer, "fit", recording)
    config = replace(small_config("random", refine_epochs=refine), budget=budget)
    rows = Simulation(demo_pair, config, tmp_path / "run", progress=False).run()
    assert fitted == schedule and rows[-1]["epochs"] == sum(epochs for epochs, _ in schedule)


def test_evidence_explains_a_pair(demo_pair) -> None:
    learner = ActiveLearner(demo_pair, SMALL, progress=False)
    learner.train(demo_pair.links[:60], epochs=5)
    records = learner.evidence(demo_pair.links[:3], top=5)
    assert len(records) == 3
    for record in records:
        scores = [a["csls"] for a in record["alternatives"]]
        assert len(scores) == 5 and scores == sorted(scores, reverse=True)
        assert all(demo_pair.n1 <= a["target"] < demo_pair.n_entities for a in record["alternatives"])
        assert set(record["modalities"]) == set(learner.model.modalities)
    for record, (source, target) in zip(records, demo_pair.links[:3].tolist()):
        listed = {a["target"]: a["csls"] for a in record["alternatives"]}
        if target in listed:                           # one CSLS for the proposed target, wherever shown
            assert record["csls"] == pytest.approx(listed[target], abs=1e-6)
        present = learner.inputs.present
        assert record["imputed"] == [m for m in learner.model.modalities
                                     if m in present and not (present[m][source] and present[m][target])]
    best = records[0]["alternatives"][0]
    again = learner.evidence(np.array([[demo_pair.links[0][0], best["target"]]]), top=5)[0]
    assert again["csls"] == pytest.approx(best["csls"], abs=1e-6)
    missing = {m for m in learner.model.modalities if not learner.inputs.present[m].all()}
    assert missing, "the demo pair lacks some modalities on some entities"
    source, target = demo_pair.links[0]
    emb = learner.embeddings()
    cosine = float(np.dot(*(emb[[source, target]] / emb[[source, target]].norm(dim=1, keepdim=True)).numpy()))
    assert sum(records[0]["modalities"].values()) == pytest.approx(cosine, abs=1e-5)


@pytest.mark.realdata
def test_one_ds3_round_on_fb15k237_db15k(tmp_path) -> None:
    pair = load_dataset(real_dataset("FB15K237-DB15K"), "openea")
    learner = replace(LearnerConfig(), train=replace(TrainConfig(), eval_every=0), selection=SelectionConfig(k_max=1000))
    config = SimulationConfig(budget="15%+1%x1", seed=0, warm_epochs=3, round_epochs=1, learner=learner)
    rows = Simulation(pair, config, tmp_path / "run", progress=False).run()
    assert rows[1]["proposed"] == 126
    assert rows[1]["precision"] > 0.3
    assert rows[1]["l2r_hits@1"] > 0.05


def test_strategies_of_one_seed_share_the_warm_start(demo_pair, tmp_path, monkeypatch) -> None:
    trained = []
    original = Simulation._train_round

    def counting(self, learner, state, index, proposal):
        trained.append((self.config.strategy, index))
        return original(self, learner, state, index, proposal)

    monkeypatch.setattr(Simulation, "_train_round", counting)
    first = Simulation(demo_pair, replace(small_config("random"), round_epochs=1), tmp_path / "a", progress=False).run()
    second = Simulation(demo_pair, replace(small_config("degree"), round_epochs=1), tmp_path / "b", progress=False).run()
    assert trained == [("random", i) for i in range(4)] + [("degree", i) for i in range(1, 4)]
    assert first[0] == second[0]
    assert len(list((tmp_path / "warm").iterdir())) == 1


def test_a_folder_run_by_another_process_is_refused(demo_pair, tmp_path) -> None:
    import fcntl

    from almea.simulation.runner import LOCK_FILE, RunInUse

    folder = tmp_path / "run"
    folder.mkdir()
    with open(folder / LOCK_FILE, "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(RunInUse, match="another process"):
            Simulation(demo_pair, small_config("random"), folder, progress=False).run()
