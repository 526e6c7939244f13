"""Self-training under verification on a real benchmark (issue: the alignment is the product).

Runs, seed by seed and in this order (so a stopped benchmark still has complete seeds), the
15%+1%x5 budget with self-training for each strategy, the 20% random base without it, the
20% and 15% bases with self-training (no answers), and the budget without self-training; every run in its own folder under ``--out`` (killed runs resume, finished ones are
reused). Then prints the last round of each as mean ± std over the finished seeds, the gain
over the 20% base without self-training (same run, same seeds) and, for self-training runs,
pseudo-label precision and the calibration figures (ECE, estimated vs true precision).

    .venv/bin/python -m bench.self_training --data ../shared/data/FB15K237-DB15K --seeds 3
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from almea.cli.data_cmd import open_dataset
from almea.cli.main import build_parser
from almea.cli.simulate_cmd import simulation_configs
from almea.simulation import Simulation, mean_std
from almea.simulation.quality import THRESHOLDS
from almea.training.split import SPLITS


def _groups(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    """(folder, simulate arguments) of every group, in the order they are run."""
    active = ["--budget", args.budget, "--strategy", *args.strategies]
    bases = ["--budget", args.budget, args.base, args.low_base, "--strategy", args.strategies[0]]
    return [
        ("st", [*active, "--self-training"]),
        ("plain-bases", ["--budget", args.budget, args.base, "--strategy", args.strategies[0]]),
        ("st-bases", [*bases, "--self-training"]),
        ("plain", active),
    ]


def _run(args: argparse.Namespace, seed: int) -> None:
    for folder, extra in _groups(args):
        if args.groups and folder not in args.groups:
            continue
        cli = build_parser().parse_args([
            "simulate", "--data", str(args.data), "--layout", args.layout, "--seeds", "1", "--first-seed", str(seed),
            "--warm-epochs", str(args.warm_epochs), "--round-epochs", str(args.round_epochs), "--split", args.split, "--quiet", *extra,
        ])
        for config in simulation_configs(cli):
            if folder.endswith("bases") and config.budget == args.budget:
                continue                                   # only there to give the bases the same schedule
            rows = Simulation(args.pair, config, args.out / folder / config.name, progress=False).run()
            print(f"{folder}/{config.name}: Hits@1 {rows[-1]['l2r_hits@1']:.4f}", flush=True)


def _table(args: argparse.Namespace) -> None:
    records = []
    for state in sorted(args.out.glob("*/*/state.json")):
        data = json.loads(state.read_text())
        if data.get("done"):
            config = data["config"]
            records.append({"group": state.parent.parent.name, "budget": config["budget"],
                            "strategy": config["strategy"], "seed": config["seed"], **data["rows"][-1]})
    if not records:
        print("no finished run yet")
        return
    last = pd.DataFrame(records)
    base = last[(last["group"] == "plain-bases") & (last["budget"] == args.base)].set_index("seed")["l2r_hits@1"]
    quality = ["pseudo_labels", "pseudo_precision", "ece",
               *[f"{kind}_precision@{t}" for t in THRESHOLDS for kind in ("estimated", "true")]]
    print(f"\n| run | seeds | labels | answers | Hits@1 | MRR | Hits@1 - {args.base} base | " + " | ".join(quality) + " |")
    print("|---" * (7 + len(quality)) + "|")
    for (group, budget, strategy), runs in last.groupby(["group", "budget", "strategy"], sort=False):
        n = len(runs)
        gain = (runs.set_index("seed")["l2r_hits@1"] - base).dropna()
        cells = [mean_std(runs[c].mean(), runs[c].std(), n) if c in runs and runs[c].notna().any() else "-" for c in quality]
        name = f"{group} {budget}" + ("" if "bases" in group else f" {strategy}")
        print(f"| {name} | {n} | {runs['labelled'].mean():.0f} | {runs['answered'].mean():.0f} | "
              f"{mean_std(runs['l2r_hits@1'].mean(), runs['l2r_hits@1'].std(), n)} | "
              f"{mean_std(runs['l2r_mrr'].mean(), runs['l2r_mrr'].std(), n)} | "
              f"{mean_std(gain.mean(), gain.std(), len(gain)) if len(gain) else '-'} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--layout", default="openea")
    parser.add_argument("--budget", default="15%+1%x5")
    parser.add_argument("--base", default="20%", help="the random base of the same final size")
    parser.add_argument("--low-base", default="15%", help="the base the active runs start from, trained on alone")
    parser.add_argument("--strategies", nargs="+", default=["ds3", "random", "uncertainty"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--groups", nargs="+", choices=("st", "plain-bases", "st-bases", "plain"),
                        help="run only these groups (default: all, in the order above)")
    parser.add_argument("--split", choices=SPLITS, default="links",
                        help="hold out links (the paper) or KG1 entities (the calibration check)")
    parser.add_argument("--warm-epochs", type=int, default=40)
    parser.add_argument("--round-epochs", type=int, default=10)
    parser.add_argument("--table-only", action="store_true", help="print the finished runs, run nothing")
    parser.add_argument("--out", type=Path, default=Path("runs/self-training"))
    args = parser.parse_args()
    if not args.table_only:
        args.pair = open_dataset(build_parser().parse_args(["data", "--data", str(args.data), "--layout", args.layout]))
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            _run(args, seed)
    _table(args)


if __name__ == "__main__":
    main()
