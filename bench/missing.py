"""Missing-modality strategies compared (issue 12): zero-filling, ALMEA's VAE, rMMEA's
distillation and MACO's generation, with the ablations of each paper's losses, over seeds.

Synthetic conditions are the demo generator at 3,600 world entities (3,060 per KG) with its
pictures missing for 20%, 50% or 80% of each KG's entities (rMMEA's r_vm), or 20% missing and
20% of the pictured ones swapped between entities (noise). Each condition's dataset is written
once under --out/data (the training seed varies, the data does not) and its features come
from the cache after the first run. FB15K237-DB15K adds real missingness (attributes and
values) without images. Training runs are ``python -m almea train`` processes whose JSON is
reused when present (``bench.train_runs``); ``--active`` adds one 15%+1%x5 DS3 simulation per
strategy on a synthetic condition, also resumable.

    OMP_NUM_THREADS=2 .venv/bin/python -m bench.missing --conditions miss20 miss50 miss80 noise20 fb-db \\
        --strategies zero vae rmmea maco --seeds 0 1 2 --active miss50
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from almea.cli.data_cmd import write_demo
from bench.train_runs import metric_cells, summarise, train_run

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEMO_SIZE = 3600
SYNTHETIC = {"miss20": (0.2, 0.0), "miss50": (0.5, 0.0), "miss80": (0.8, 0.0), "noise20": (0.2, 0.2)}
"""condition -> (share of each KG's entities without a picture, share of the pictured swapped)."""
RATIOS = {"fb-db": 0.2}
STRATEGIES = {
    "zero": ["--missing", "zero"],
    "vae": ["--missing", "vae"],
    "rmmea": ["--missing", "rmmea"],
    "rmmea-no-rd": ["--missing", "rmmea", "--no-rd"],
    "rmmea-no-mi": ["--missing", "rmmea", "--no-mi"],
    "maco": ["--missing", "maco"],
    "maco-no-con": ["--missing", "maco", "--no-maco-contrastive"],
    "maco-strong-con": ["--missing", "maco", "--maco-contrastive-weight", "1", "--maco-temperature", "0.5"],
    "maco+vae": ["--missing", "maco+vae"],
}


def data_options(condition: str, out: Path) -> list[str]:
    """``almea train`` data options of a condition, writing a synthetic one's dataset first."""
    if condition == "fb-db":
        return ["--data", str(SHARED / "FB15K237-DB15K"), "--layout", "openea"]
    folder = out / "data" / condition
    if not (folder / "ent_links").exists():
        missing, swapped = SYNTHETIC[condition]
        write_demo(folder, DEMO_SIZE, 0, missing_images=missing, swapped_images=swapped)
    return ["--data", str(folder), "--layout", "openea"]


def active_run(args: argparse.Namespace, condition: str, strategy: str) -> float:
    """Last-round Hits@1 (l2r) of one 15%+1%x5 DS3 simulation with this strategy, seed 0."""
    out = args.out / f"active-{condition}-{strategy}"
    if not (out / "results.json").exists():
        command = [sys.executable, "-m", "almea", "simulate", *data_options(condition, args.out), "--budget", "15%+1%x5",
                   "--strategy", "ds3", "--seeds", "1", "--device", args.device, "--quiet", "--out", str(out),
                   *STRATEGIES[strategy]]
        subprocess.run(command, check=True)
    (run,) = json.loads((out / "results.json").read_text())
    assert run["config"]["learner"]["model"]["missing"] == STRATEGIES[strategy][1]
    return run["rounds"][-1]["l2r_hits@1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    conditions = [*SYNTHETIC, "fb-db"]
    parser.add_argument("--conditions", nargs="+", default=conditions, choices=conditions)
    parser.add_argument("--strategies", nargs="+", default=["zero", "vae", "rmmea", "maco"], choices=sorted(STRATEGIES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--ratio", type=float, default=0.2, help="seed ratio of the training runs")
    parser.add_argument("--active", nargs="*", default=[], choices=list(SYNTHETIC),
                        help="synthetic conditions that also get one simulated active-learning run per strategy")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-missing"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {}
    print("| condition | strategy | Hits@1 | Hits@10 | MRR | s/epoch | peak MB | seeds |")
    print("|---|---|---|---|---|---|---|---|")
    for condition in args.conditions:
        data = data_options(condition, args.out)
        for strategy in args.strategies:
            runs = [train_run(args.out / f"{condition}-{strategy}-r{args.ratio}-s{seed}-e{args.epochs}.json", data,
                              args.ratio, seed, args.epochs, args.device, STRATEGIES[strategy]) for seed in args.seeds]
            row = summary[f"{condition}/{strategy}"] = summarise(runs)
            print(f"| {condition} | {strategy} | {metric_cells(row)} | {row['seconds_per_epoch']:.2f} | "
                  f"{row['peak_memory_mb']:.0f} | {row['seeds']} |", flush=True)
    for condition in args.active:
        for strategy in args.strategies:
            hits = summary[f"active/{condition}/{strategy}"] = active_run(args, condition, strategy)
            print(f"active learning 15%+1%x5 DS3, {condition}, {strategy}: last-round Hits@1 {hits:.4f}", flush=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
