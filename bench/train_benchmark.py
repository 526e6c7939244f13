"""Accuracy, speed and memory of ALMEA training on a real benchmark (issue: model & training).

Each run is a separate ``python -m almea train`` process, so peak memory is per run. Prints
a table of mean +- std over seeds for each (seed ratio, variant), and writes all results as
JSON under --out.

    .venv/bin/python -m bench.train_benchmark --data ../shared/data/FB15K237-DB15K \
        --layout openea --ratios 0.2 0.5 0.8 --seeds 0 1 2 --variants full no-lsl no-lsc no-values no-impute same-kg-negatives
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

VARIANTS = {
    "full": [],
    "no-lsl": ["--no-lsl"],
    "no-lsc": ["--no-lsc"],
    "no-values": ["--no-values"],
    "no-impute": ["--no-impute"],
    "names": ["--names", "ngram"],
    "same-kg-negatives": ["--same-kg-negatives"],
}


def run_one(args: argparse.Namespace, ratio: float, seed: int, variant: str) -> dict:
    out = args.out / f"{Path(args.data).name}-{variant}-r{ratio}-s{seed}.json"
    if not out.exists():
        command = [
            sys.executable, "-m", "almea", "train", "--data", str(args.data), "--layout", args.layout,
            "--seed-ratio", str(ratio), "--seed", str(seed), "--epochs", str(args.epochs),
            "--eval-every", "0", "--quiet", "--out", str(out), *VARIANTS[variant],
        ]
        subprocess.run(command, check=True)
    return json.loads(out.read_text())


def mean_std(values: list[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {std:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--layout", default="openea")
    parser.add_argument("--ratios", type=float, nargs="+", default=[0.2])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=["full"], choices=sorted(VARIANTS))
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("runs/bench-train"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print("| ratio | variant | Hits@1 (l2r) | Hits@10 | MRR | Hits@1 (r2l) | MRR (r2l) | s/epoch | peak MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for ratio in args.ratios:
        for variant in args.variants:
            runs = [run_one(args, ratio, seed, variant) for seed in args.seeds]
            l2r = [r["final"]["l2r"] for r in runs]
            r2l = [r["final"]["r2l"] for r in runs]
            print(
                f"| {ratio:.0%} | {variant} | {mean_std([m['hits@1'] for m in l2r])} | "
                f"{mean_std([m['hits@10'] for m in l2r])} | {mean_std([m['mrr'] for m in l2r])} | "
                f"{mean_std([m['hits@1'] for m in r2l])} | {mean_std([m['mrr'] for m in r2l])} | "
                f"{statistics.median(r['seconds_per_epoch'] for r in runs):.2f} | "
                f"{max(r['peak_memory_mb'] for r in runs):.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
