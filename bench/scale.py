"""How the cost of an active-learning round grows with the pair (issue 14).

Per size (entities per side of the synthetic scale preset, ``almea.data.synthetic_scale``):
seconds and peak memory of the features, one training epoch (and one with every step on the
whole pair instead of its batch's rows, ``TrainConfig.batch_rows_above``), the two KGs' nearest-neighbour
indexes (nothing to build below the exact threshold), the candidate pool, DS3, the
evaluation, the score table, the evidence of a batch and the whole round in the product's
order (``--epochs`` epochs + scoring + select + evidence: the worker's round), with how each
all-pairs step searched (exact, or the index and its recall@k). The steps after
``indexes`` search the indexes it built, as every step of a round does
(``ActiveLearner.indexes``).
Peak memory is the largest resident size sampled during a step, less the size at its start.
Then the growth exponent of every step between consecutive sizes: log(t2 / t1) / log(n2 / n1).

Resumable: every finished size is written to ``--out`` at once and skipped on the next start
(with the same settings). The first run of a size builds its features, later ones read them
from the feature cache.

    .venv/bin/python -m bench.scale                                    # 15k, 30k, 60k, 100k
    .venv/bin/python -m bench.scale --sizes 2000 --epochs 2 --out runs/scale-smoke.json
"""
from __future__ import annotations

import argparse
import json
import math
import threading
import time
from dataclasses import replace
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from almea.active import ActiveLearner, LearnerConfig
from almea.atomic_write import write_atomically
from almea.data.synthetic_scale import SCALE_SIZES, scale_pair
from almea.features import FeatureConfig, build_features
from almea.model.config import TrainConfig
from almea.neighbours import NeighbourConfig
from almea.training.split import split_links

T = TypeVar("T")
STEPS = ("features", "epoch", "epoch_whole", "indexes", "pool", "ds3", "evaluation", "table", "evidence", "round")


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


class StepMeter:
    """Seconds and peak resident memory (sampled every 5 ms) of each measured call."""

    def __init__(self) -> None:
        self.figures: dict[str, dict[str, float]] = {}

    def __call__(self, name: str, step: Callable[[], T]) -> T:
        start, peak, done = _rss_mb(), [0.0], threading.Event()

        def sample() -> None:
            while not done.wait(0.005):
                peak[0] = max(peak[0], _rss_mb())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        began = time.perf_counter()
        try:
            result = step()
        finally:
            seconds = time.perf_counter() - began
            done.set()
            sampler.join()
        peak_mb = max(peak[0], _rss_mb())
        self.figures[name] = {"seconds": round(seconds, 3), "peak_mb": round(peak_mb - start, 1),
                              "rss_mb": round(peak_mb, 1)}
        print(f"  {name:<11} {seconds:8.2f} s  +{peak_mb - start:7.0f} MB (rss {peak_mb:6.0f} MB)", flush=True)
        return result


def measure_size(per_side: int, args: argparse.Namespace) -> dict:
    """Every step's figures at ``per_side`` entities per side, and how the all-pairs steps searched."""
    meter = StepMeter()
    pair = scale_pair(per_side, args.seed)
    neighbours = NeighbourConfig(threshold=args.threshold, force=args.force_approximate, index=args.index,
                                 eval_sample=args.eval_sample, seed=args.seed)
    config = LearnerConfig(train=TrainConfig(eval_every=0, seed=args.seed), neighbours=neighbours)
    meter("features", lambda: build_features(pair, config.features))
    learner = ActiveLearner(pair, config, progress=False)
    split = split_links(pair.links, args.test_ratio, args.seed)
    labelled, none = split.base(args.seed_ratio), np.zeros((0, 2), np.int64)
    rng = np.random.default_rng(args.seed)
    meter("epoch", lambda: learner.train(labelled, 1))
    learner.trainer.config = replace(config.train, batch_rows_above=10**12)
    meter("epoch_whole", lambda: learner.train(labelled, 1))
    learner.trainer.config = config.train
    embeddings = learner.embeddings()
    indexes = learner.indexes(embeddings)
    kg1, kg2 = np.arange(pair.n1), np.arange(pair.n1, pair.n_entities)
    meter("indexes", lambda: [indexes.index(torch.as_tensor(ids), len(other)) for ids, other in ((kg1, kg2), (kg2, kg1))])
    pool = meter("pool", lambda: learner.pool(embeddings, labelled, none, split.test))
    selection = meter("ds3", lambda: learner.choose(pool, embeddings, args.batch, labelled, rng, "ds3"))
    metrics = meter("evaluation", lambda: learner.evaluate(split.test))
    table = meter("table", lambda: learner.score_table(embeddings, labelled, none))
    meter("evidence", lambda: learner.evidence(selection.pairs, table=table))

    def whole_round() -> dict:
        parts = StepMeter()
        parts("train", lambda: learner.train(labelled, args.epochs, refine=True))
        table = parts("scoring", lambda: learner.score_table(learner.embeddings(), labelled, none))
        batch = parts("select", lambda: learner.select(args.batch, labelled, none, split.test, rng))
        parts("evidence", lambda: learner.evidence(batch.pairs, table=table))
        return {"parts": parts.figures, "table_search": table.search,
                "builds": learner.indexes(learner.embeddings()).builds}

    round_record = meter("round", whole_round)
    return {
        "per_side": per_side, "n1": pair.n1, "n2": pair.n_entities - pair.n1, "links": len(pair.links),
        "dim": int(embeddings.shape[1]), "labelled": len(labelled), "test": len(split.test), "pool_size": len(pool),
        "batch": len(selection), "steps": meter.figures, "round_parts": round_record["parts"],
        "round_index_builds": round_record["builds"],
        "search": {"pool": pool.search, "evaluation": metrics["ranking"], "table": table.search,
                   "scoring": round_record["table_search"]},
        "hits@1": metrics["l2r"]["hits@1"],
    }


def growth(sizes: dict[str, dict]) -> dict[str, dict[str, float]]:
    """Each step's exponent b in t ~ n^b between consecutive measured sizes."""
    done = sorted(sizes.values(), key=lambda record: record["per_side"])
    exponents: dict[str, dict[str, float]] = {}
    for small, large in zip(done, done[1:]):
        ratio = math.log(large["per_side"] / small["per_side"])
        exponents[f"{small['per_side']}->{large['per_side']}"] = {
            step: round(math.log(max(large["steps"][step]["seconds"], 1e-6)
                                 / max(small["steps"][step]["seconds"], 1e-6)) / ratio, 2)
            for step in STEPS
        }
    return exponents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SCALE_SIZES), help="entities per side")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs of the whole round")
    parser.add_argument("--batch", type=int, default=100, help="pairs chosen per round")
    parser.add_argument("--seed-ratio", type=float, default=0.2, help="share of the gold links labelled")
    parser.add_argument("--test-ratio", type=float, default=0.3)
    parser.add_argument("--threshold", type=int, default=NeighbourConfig.threshold)
    parser.add_argument("--index", choices=("hnsw", "ivf"), default=NeighbourConfig.index)
    parser.add_argument("--force-approximate", action="store_true")
    parser.add_argument("--eval-sample", type=int, default=0, help="test pairs ranked exactly (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/scale.json"))
    args = parser.parse_args()
    settings = {key: value for key, value in vars(args).items() if key not in ("sizes", "out")}
    state = json.loads(args.out.read_text()) if args.out.exists() else {"settings": settings, "sizes": {}}
    if state["settings"] != settings:
        raise SystemExit(f"{args.out} holds a run with other settings {state['settings']}; pass another --out")
    for per_side in args.sizes:
        if str(per_side) in state["sizes"]:
            print(f"{per_side} per side: done, skipped")
            continue
        print(f"{per_side} per side:", flush=True)
        state["sizes"][str(per_side)] = measure_size(per_side, args)
        state["growth"] = growth(state["sizes"])
        write_atomically(args.out, json.dumps(state, indent=1).encode())
    for span, exponents in state.get("growth", {}).items():
        print(f"growth {span}: " + ", ".join(f"{step} {value}" for step, value in exponents.items()))


if __name__ == "__main__":
    main()
