"""What the scale paths cost in accuracy on a real benchmark (issue 14).

Per seed, one model trained with today's whole-pair steps and one whose every step encodes
only its batch's rows (``TrainConfig.batch_rows_above = 0``); each model's test links are
ranked exactly, then with the approximate index forced on (HNSW and IVF) on the same
embeddings. Prints Hits@1 / MRR (left to right) per seed and the differences, mean over
seeds. Targets: the approximate ranking within 0.005 Hits@1 of the exact one. Resumable:
each finished seed is written to ``--out`` and skipped on the next start.

    OMP_NUM_THREADS=2 .venv/bin/python -m bench.scale_accuracy --data ../shared/data/FB15K237-DB15K --seeds 0 1 2
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

from almea.active import ActiveLearner, LearnerConfig
from almea.atomic_write import write_atomically
from almea.data.registry import load_dataset
from almea.evaluation.metrics import alignment_metrics
from almea.model.config import TrainConfig
from almea.neighbours import NeighbourConfig
from almea.training.split import split_links

SEARCHES = {"exact": NeighbourConfig(), "hnsw": NeighbourConfig(force=True, index="hnsw"),
            "ivf": NeighbourConfig(force=True, index="ivf")}
STEPS = {"whole": 10**12, "rows": 0}


def measure_seed(pair, seed: int, args: argparse.Namespace) -> dict:
    """Hits@1 and MRR of every (training step, search) on this seed's split."""
    split = split_links(pair.links, 1 - args.seed_ratio, seed)
    labelled, test = split.base(args.seed_ratio), torch.as_tensor(split.test)
    record = {}
    for step, above in STEPS.items():
        train = TrainConfig(epochs=args.epochs, eval_every=0, seed=seed, batch_rows_above=above)
        learner = ActiveLearner(pair, LearnerConfig(train=train), progress=False)
        learner.train(labelled, args.epochs)
        embeddings = learner.embeddings()
        for search, config in SEARCHES.items():
            metrics = alignment_metrics(embeddings, test, neighbours=config)
            record[f"{step}/{search}"] = {"hits@1": metrics["l2r"]["hits@1"], "mrr": metrics["l2r"]["mrr"],
                                          "ranking": metrics["ranking"]}
            print(f"seed {seed} {step:<5} {search:<5} Hits@1 {metrics['l2r']['hits@1']:.4f} "
                  f"MRR {metrics['l2r']['mrr']:.4f}", flush=True)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--layout", default="openea")
    parser.add_argument("--seed-ratio", type=float, default=0.2)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", type=Path, default=Path("runs/scale-accuracy.json"))
    args = parser.parse_args()
    settings = {"data": str(args.data.resolve()), "seed_ratio": args.seed_ratio, "epochs": args.epochs}
    state = json.loads(args.out.read_text()) if args.out.exists() else {"settings": settings, "seeds": {}}
    if state["settings"] != settings:
        raise SystemExit(f"{args.out} holds a run with other settings {state['settings']}; pass another --out")
    pair = load_dataset(args.data, args.layout)
    for seed in args.seeds:
        if str(seed) not in state["seeds"]:
            state["seeds"][str(seed)] = measure_seed(pair, seed, args)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(args.out, json.dumps(state, indent=1).encode())
    seeds = [state["seeds"][str(seed)] for seed in args.seeds]
    print(f"\n{pair.name}, {len(seeds)} seeds, left to right, mean over seeds")
    print("| training step | search | Hits@1 | MRR | Hits@1 - exact |")
    print("|---|---|---|---|---|")
    for step in STEPS:
        exact = statistics.mean(s[f"{step}/exact"]["hits@1"] for s in seeds)
        for search in SEARCHES:
            hits = [s[f"{step}/{search}"]["hits@1"] for s in seeds]
            mrr = statistics.mean(s[f"{step}/{search}"]["mrr"] for s in seeds)
            print(f"| {step} | {search} | {statistics.mean(hits):.4f} | {mrr:.4f} | {statistics.mean(hits) - exact:+.4f} |")
    whole = statistics.mean(s["whole/exact"]["hits@1"] for s in seeds)
    rows = statistics.mean(s["rows/exact"]["hits@1"] for s in seeds)
    print(f"\nbatch rows - whole pair, exact Hits@1: {rows - whole:+.4f}")


if __name__ == "__main__":
    main()
