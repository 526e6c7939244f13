"""Per-epoch test accuracy of a finished simulated run, replayed at several round learning rates.

Why the rounds have their own learning rate: it retrains the run's base model, then replays
its rounds with exactly the labels and rejections the run recorded (same seeds, so the
recorded learning rate reproduces the run's numbers) and scores the test set after every
epoch. Only the learning rate of the rounds changes between replays.

    .venv/bin/python -m bench.round_lr --data ../shared/data/FB15K237-DB15K \\
        --run runs/label-efficiency/15%+1%x5-random-s1 --lr 1e-3 3e-4
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from almea.active import ActiveLearner, LearnerConfig
from almea.data import load_dataset
from almea.training.split import split_links
from almea.training.trainer import seed_everything


def replay(learner: ActiveLearner, state: dict, test: np.ndarray, lr: float) -> list[dict]:
    """Hits@1 and MRR (KG1 to KG2) after each epoch of every round of ``state`` at rate ``lr``."""
    config, rows = state["config"], state["rows"]
    labelled, rejected = np.array(state["labelled"]), np.array(state["rejected"]).reshape(-1, 2)
    rejections = np.cumsum([0] + [row["proposed"] - row["accepted"] for row in rows[1:]])
    curve = []
    for index in range(1, len(rows)):
        seed_everything(config["seed"] * 1000 + index)                  # as the run's round did
        negatives = np.unique(rejected[: rejections[index], 1])
        for epoch in range(1, config["round_epochs"] + 1):
            learner.trainer.fit(labelled[: rows[index]["labelled"]], 1, lr=lr,
                                hard_negatives=negatives if len(negatives) else None)
            metrics = learner.evaluate(test)["l2r"]
            curve.append({"lr": lr, "round": index, "epoch": epoch, "hits@1": metrics["hits@1"], "mrr": metrics["mrr"],
                          "recorded hits@1": rows[index]["l2r_hits@1"] if epoch == config["round_epochs"] else None})
            print(curve[-1], flush=True)
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--layout", default="openea")
    parser.add_argument("--run", type=Path, required=True, help="a finished `almea simulate` run folder")
    parser.add_argument("--lr", type=float, nargs="+", default=[1e-3, 3e-4], help="round learning rates to replay")
    args = parser.parse_args()
    state = json.loads((args.run / "state.json").read_text(encoding="utf-8"))
    config = state["config"]
    pair = load_dataset(args.data, args.layout)
    test = split_links(pair.links, config["test_ratio"], config["seed"]).test
    learner = ActiveLearner(pair, LearnerConfig.from_dict(config["learner"]), progress=False)
    seed_everything(config["seed"] * 1000)
    learner.train(np.array(state["labelled"][: state["rows"][0]["labelled"]]), config["warm_epochs"])
    print(f"base: Hits@1 {learner.evaluate(test)['l2r']['hits@1']:.4f} (recorded {state['rows'][0]['l2r_hits@1']:.4f})")
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch) / "base.pt"
        learner.save(base)
        curves = []
        for lr in args.lr:
            learner.load(base)
            curves += replay(learner, state, test, lr)
    frame = pd.DataFrame(curves)
    table = frame.pivot_table(index=["round", "epoch"], columns="lr", values="hits@1")
    print("\nHits@1 (KG1 to KG2) after each epoch, one column per round learning rate:")
    print(table.to_string(float_format="{:.4f}".format))


if __name__ == "__main__":
    main()
