"""``python -m almea simulate``: simulated-oracle active learning over budgets, strategies, seeds."""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import pandas as pd

from almea.active import LearnerConfig, SelectionConfig, parse_budget
from almea.active.self_training import SelfTrainingConfig
from almea.cli.data_cmd import add_data_options, open_dataset
from almea.cli.train_cmd import add_model_options, config_error, configs
from almea.model.config import TrainConfig
from almea.selection import SOLVERS, STRATEGIES
from almea.simulation import Simulation, SimulationConfig, mean_std, rounds_frame, summary_frame, write_report
from almea.simulation.runner import RunInUse
from almea.training.split import SPLITS


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "simulate", help="active learning with an oracle that answers from gold links",
        description="Runs every budget x strategy x seed; a budget without rounds ('20%%') is a random "
        "base on the longest schedule: T_warm epochs, then the rounds' epochs at the round learning rate. "
        "Killed runs resume from their last round.",
    )
    add_data_options(parser)
    parser.add_argument("--budget", nargs="+", default=["15%+1%x5"], help="budgets like '5%%+1%%x15' or '20%%'")
    parser.add_argument("--strategy", nargs="+", default=["ds3"], choices=sorted(STRATEGIES))
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (0 .. N-1)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--test-ratio", type=float, default=SimulationConfig.test_ratio)
    parser.add_argument("--split", choices=SPLITS, default=SimulationConfig.split,
                        help="hold out gold links (the paper) or KG1 entities, linked or not (so the askable "
                             "entities sample the judged ones: the check of calibration)")
    parser.add_argument("--warm-epochs", type=int, default=SimulationConfig.warm_epochs, help="T_warm")
    parser.add_argument("--round-epochs", type=int, default=SimulationConfig.round_epochs, help="T_inter")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of oracle answers flipped")
    parser.add_argument("--accept-all", action="store_true", help="accept every proposal (the paper's code)")
    parser.add_argument("--alpha", type=float, default=SelectionConfig.alpha, help="DS3 sparsity")
    parser.add_argument("--k-max", type=int, default=SelectionConfig.k_max, help="candidate pool cap")
    parser.add_argument("--no-diversity", action="store_true", help="DS3 without the diversity penalty")
    parser.add_argument("--solver", choices=SOLVERS, default=SelectionConfig.solver, help="DS3 solver")
    add_self_training_options(parser)
    add_model_options(parser)
    parser.add_argument("--out", type=Path, default=Path("runs/simulate"), help="results folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(run=run, epochs=TrainConfig.epochs, eval_every=0, seed=0)


def add_self_training_options(parser: argparse.ArgumentParser) -> None:
    defaults = SelfTrainingConfig()
    group = parser.add_argument_group("self-training (pseudo-labels under human verification)")
    group.add_argument("--self-training", action="store_true",
                       help="confident mutual pairs join the training as pseudo-labels every round")
    group.add_argument("--target-precision", type=float, default=defaults.target_precision,
                       help="expected precision the calibrated pseudo-label set must hold")
    group.add_argument("--audit-share", type=float, default=defaults.audit_share,
                       help="share of each batch sampled at random from above the threshold")
    group.add_argument("--pseudo-weight", type=float, default=defaults.weight, help="loss weight of a pseudo-label")
    group.add_argument("--no-pseudo-test", action="store_true",
                       help="never pseudo-label test entities (default: they may be, their gold unseen)")


def self_training_config(args: argparse.Namespace) -> SelfTrainingConfig:
    return SelfTrainingConfig(
        enabled=args.self_training, target_precision=args.target_precision, audit_share=args.audit_share,
        weight=args.pseudo_weight, include_test=not args.no_pseudo_test,
    )


def simulation_configs(args: argparse.Namespace) -> list[SimulationConfig]:
    """Every budget x strategy x seed; base-only budgets get one random-base run per seed."""
    features, model, train = configs(args)
    selection = SelectionConfig(alpha=args.alpha, k_max=args.k_max, use_diversity=not args.no_diversity, solver=args.solver)
    self_training = self_training_config(args)
    budgets = [parse_budget(b) for b in args.budget]
    longest = max(args.warm_epochs + args.round_epochs * b.rounds for b in budgets)
    out = []
    for text, budget in zip(args.budget, budgets):
        strategies = args.strategy if budget.rounds else ["random"]
        for strategy in strategies:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                learner = LearnerConfig(features, model, replace(train, seed=seed), replace(selection, strategy=strategy),
                                        self_training)
                out.append(SimulationConfig(
                    budget=str(budget), strategy=strategy, seed=seed, test_ratio=args.test_ratio, split=args.split,
                    warm_epochs=args.warm_epochs, round_epochs=args.round_epochs,
                    refine_epochs=0 if budget.rounds else longest - args.warm_epochs,
                    error_rate=args.error_rate, accept_all=args.accept_all, learner=learner,
                ))
    return out


def format_summary(summary: pd.DataFrame) -> str:
    """A markdown table: final labels and test metrics as mean ± std over seeds."""
    lines = ["| budget | strategy | seeds | labelled | Hits@1 | Hits@10 | MRR | batch precision |", "|---|---|---|---|---|---|---|---|"]
    for values in summary.to_dict("records"):
        cells = [mean_std(values[m], values[m + "_std"], values["seeds"])
                 for m in ("l2r_hits@1", "l2r_hits@10", "l2r_mrr")]
        precision = values["mean_batch_precision"]
        lines.append(
            f"| {values['budget']} | {values['strategy']} | {values['seeds']} | {values['labelled']:.0f} | {' | '.join(cells)} | "
            f"{'-' if pd.isna(precision) else f'{precision:.3f}'} |"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        configs_to_run = simulation_configs(args)                 # before the data: a typo fails fast
    except ValueError as err:
        config_error(err)
    pair = open_dataset(args)
    runs = []
    for config in configs_to_run:
        try:
            rows = Simulation(pair, config, args.out / config.name, progress=not args.quiet).run()
        except RunInUse as err:
            print(f"{config.name}: skipped, {err}", flush=True)
            continue
        last = rows[-1]
        print(
            f"{config.name}: labelled {last['labelled']} ({last['labelled_share']:.1%})  "
            f"Hits@1 {last['l2r_hits@1']:.4f}  Hits@10 {last['l2r_hits@10']:.4f}  MRR {last['l2r_mrr']:.4f}",
            flush=True,
        )
        runs.append((config.to_dict(), rows))
    if not runs:
        print("no run finished here: every run is being run by another process", flush=True)
        return 1
    paths = write_report(runs, args.out)
    print(format_summary(summary_frame(rounds_frame(runs))))
    print(f"results in {args.out}: " + ", ".join(p.name for p in paths.values()))
    return 0
