"""Modality fusions compared (issue 13): ALMEA's global weights, MIMEA, MPSEA and the ablations
of each paper's components, on the benchmarks of the issue, over seeds.

Each run is a separate ``python -m almea train`` process (peak memory is per run) writing its
JSON under --out; a run whose JSON exists is not run again, so a killed benchmark resumes.
Prints Hits@1 / Hits@10 / MRR mean +- std, seconds per epoch, peak memory and the spread of
the per-entity weights, and writes the table as ``summary.json`` beside the runs.

    .venv/bin/python -m bench.fusion --datasets fb-db zh_en synthetic --seeds 0 1 2 \\
        --variants global mimea mimea-no-pmf mimea-no-otma mimea-no-mcl mpsea mpsea-no-presynergy mpsea-rl
    .venv/bin/python -m bench.fusion --sinkhorn-timing          # POT vs the torch Sinkhorn
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from bench.train_runs import metric_cells, summarise, train_run

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

DATASETS = {
    "fb-db": (["--data", str(SHARED / "FB15K237-DB15K"), "--layout", "openea"], [0.2, 0.5]),
    "zh_en": (["--data", str(SHARED / "DBP15K" / "zh_en"), "--layout", "eva"], [0.3]),    # no names
    "synthetic": (["--layout", "demo", "--demo-size", "400"], [0.3]),                      # with images
}
"""name -> (data options of ``almea train``, seed ratios)."""

VARIANTS = {
    "global": [],
    "mimea": ["--fusion", "mimea"],
    "mimea-no-pmf": ["--fusion", "mimea", "--no-pmf"],
    "mimea-no-otma": ["--fusion", "mimea", "--no-otma"],
    "mimea-no-mcl": ["--fusion", "mimea", "--no-mcl"],
    "mpsea": ["--fusion", "mpsea"],
    "mpsea-no-presynergy": ["--fusion", "mpsea", "--no-presynergy"],
    "mpsea-rl": ["--fusion", "mpsea", "--rl"],
}


def run_one(args: argparse.Namespace, dataset: str, ratio: float, seed: int, variant: str) -> dict:
    """One training run's result JSON, trained now unless it is already on disk."""
    out = args.out / f"{dataset}-{variant}-r{ratio}-s{seed}-e{args.epochs}.json"
    return train_run(out, DATASETS[dataset][0], ratio, seed, args.epochs, args.device, VARIANTS[variant])


def summarise_fusion(runs: list[dict]) -> dict:
    """``summarise`` plus the mean spread of the per-entity weights per modality."""
    row = summarise(runs)
    row["weight_std"] = {m: statistics.mean(r["entity_weights"][m]["std"] for r in runs)
                         for m in runs[0].get("entity_weights", {})}
    return row


def sinkhorn_timing(repeats: int = 3) -> None:
    """Seconds for the transport problems of one MIMEA step on FB15K237-DB15K at 20% seeds
    (2,500 pairs in groups of 256 rows, 3 non-pivot modalities, 2 sides, 50 iterations)."""
    import numpy as np
    import ot
    import torch

    from almea.model.fusion.transport import sinkhorn_kernel, sinkhorn_log

    torch.manual_seed(0)
    groups, rows, problems = 9, 256, 6
    cost = 2 * torch.rand(problems * groups, rows, rows)
    a = np.full(rows, 1 / rows)

    def best(run) -> float:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        return min(times)

    plans = sinkhorn_kernel(cost, 0.05, 50)
    numpy_cost = cost.double().numpy()
    shape = f"{problems * groups} x {rows}x{rows}"
    print(f"torch kernel, batched ({shape}): {best(lambda: sinkhorn_kernel(cost, 0.05, 50)):.3f} s")
    print(f"torch log domain, batched ({shape}): {best(lambda: sinkhorn_log(cost, 0.05, 50)):.3f} s")
    for method in ("sinkhorn", "sinkhorn_log"):
        seconds = best(lambda: [ot.sinkhorn(a, a, c, 0.05, method=method, numItermax=50, stopThr=0.0) for c in numpy_cost])
        print(f"POT {method} (numpy), one problem at a time: {seconds:.3f} s")
    a_torch = torch.full((rows,), 1 / rows)
    seconds = best(lambda: [ot.sinkhorn(a_torch, a_torch, c, 0.05, numItermax=50, stopThr=0.0) for c in cost])
    print(f"POT sinkhorn (torch backend), one problem at a time: {seconds:.3f} s")
    reference = ot.sinkhorn(a, a, numpy_cost[0], 0.05, method="sinkhorn_log", numItermax=50, stopThr=0.0)
    print(f"max |plan difference| vs POT sinkhorn_log on one problem: {np.abs(plans[0].double().numpy() - reference).max():.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=sorted(DATASETS), choices=sorted(DATASETS))
    parser.add_argument("--ratios", type=float, nargs="+", help="override each dataset's seed ratios")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=sorted(VARIANTS), choices=sorted(VARIANTS))
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-fusion"))
    parser.add_argument("--sinkhorn-timing", action="store_true", help="only time POT against the torch Sinkhorn")
    args = parser.parse_args()
    if args.sinkhorn_timing:
        sinkhorn_timing()
        return
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {}
    print("| dataset | ratio | variant | Hits@1 | Hits@10 | MRR | s/epoch | peak MB | per-entity weight std |")
    print("|---|---|---|---|---|---|---|---|---|")
    for dataset in args.datasets:
        for ratio in args.ratios or DATASETS[dataset][1]:
            for variant in args.variants:
                row = summarise_fusion([run_one(args, dataset, ratio, seed, variant) for seed in args.seeds])
                summary[f"{dataset}/{ratio}/{variant}"] = row
                metrics = metric_cells(row)
                spread = ", ".join(f"{m} {s:.3f}" for m, s in row["weight_std"].items())
                print(f"| {dataset} | {ratio:.0%} | {variant} | {metrics} | {row['seconds_per_epoch']:.2f} | "
                      f"{row['peak_memory_mb']:.0f} | {spread} |", flush=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
