"""``python -m almea train``: train on a seed ratio and report honest test metrics."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn

from almea.cli.data_cmd import add_data_options, open_dataset
from almea.features import FeatureConfig
from almea.model.config import FUSIONS, MISSING_STRATEGIES, ModelConfig, TrainConfig
from almea.training.pipeline import train_and_evaluate


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("train", help="train ALMEA and evaluate on held-out links")
    add_data_options(parser)
    parser.add_argument("--seed-ratio", type=float, default=0.2, help="share of gold links used for training")
    parser.add_argument("--test-ratio", type=float, help="held-out share (default: 1 - seed ratio)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--eval-every", type=int, default=TrainConfig.eval_every)
    add_model_options(parser)
    parser.add_argument("--checkpoint", type=Path, help="warm start from / save to this file")
    parser.add_argument("--out", type=Path, help="write the result JSON here")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(run=run)


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Model, feature and optimiser switches shared by ``train`` and ``simulate``."""
    parser.add_argument("--lr", type=float, default=TrainConfig.lr, help="Adam learning rate of the base training")
    parser.add_argument("--round-lr", type=float, default=TrainConfig.round_lr,
                        help="Adam learning rate of the warm-started active-learning rounds")
    parser.add_argument("--device", default=TrainConfig.device, help="auto (CUDA when present), cpu, cuda or cuda:N")
    parser.add_argument("--names", choices=("none", "ngram", "minilm"), default="none", help="name features")
    parser.add_argument("--no-values", action="store_true", help="ablation: drop the attribute-value block")
    parser.add_argument("--no-lsl", action="store_true", help="ablation: no VAE (and so no LSC)")
    parser.add_argument("--no-lsc", action="store_true", help="ablation: no calibration losses")
    parser.add_argument("--no-impute", action="store_true", help="ablation: no imputation at inference")
    parser.add_argument("--same-kg-negatives", action="store_true", help="MCLEA's in-KG batch negatives too")
    parser.add_argument("--fusion", choices=FUSIONS, default=ModelConfig.fusion,
                        help="modality fusion: ALMEA's global weights, MIMEA's or MPSEA's per-entity weights")
    parser.add_argument("--no-pmf", action="store_true", help="ablation (mimea): no probability-guided fusion")
    parser.add_argument("--no-otma", action="store_true", help="ablation (mimea): no optimal-transport alignment")
    parser.add_argument("--no-mcl", action="store_true", help="ablation (mimea): plain InfoNCE instead of MCL")
    parser.add_argument("--no-presynergy", action="store_true", help="ablation (mpsea): no pre-synergistic keys")
    parser.add_argument("--rl", action="store_true", help="mpsea: add the MI-rewarded REINFORCE policy")
    parser.add_argument("--missing", choices=MISSING_STRATEGIES, default=ModelConfig.missing,
                        help="missing-modality strategy: none (zero), ALMEA's VAE, rMMEA's distillation, "
                             "MACO's generation, or a combination")
    parser.add_argument("--rmmea-missing-rate", type=float, default=ModelConfig.rmmea_missing_rate,
                        help="rmmea: chance a student view loses each present modality")
    parser.add_argument("--rmmea-noise-rate", type=float, default=ModelConfig.rmmea_noise_rate,
                        help="rmmea: chance a student view gets another entity's modality instead")
    parser.add_argument("--no-rd", action="store_true", help="ablation (rmmea): no ranking distillation")
    parser.add_argument("--no-mi", action="store_true", help="ablation (rmmea): no mutual-information estimation")
    parser.add_argument("--no-maco-contrastive", action="store_true",
                        help="ablation (maco): no cross-modal contrastive loss")
    parser.add_argument("--maco-contrastive-weight", type=float, default=ModelConfig.maco_contrastive_weight,
                        help="maco: alpha of eq. 8 (L_con's weight; --no-maco-contrastive sets 0)")
    parser.add_argument("--maco-temperature", type=float, default=ModelConfig.maco_temperature,
                        help="maco: tau of eq. 7 (L_con's logits are cos / tau, so within +-1/tau)")


def configs(args: argparse.Namespace) -> tuple[FeatureConfig, ModelConfig, TrainConfig]:
    """Configs from the command line; defaults are the dataclasses' (the paper's where given)."""
    modalities = ModelConfig.modalities + (("name",) if args.names != "none" else ())
    return (
        FeatureConfig(names=args.names, attribute_values=not args.no_values),
        ModelConfig(
            modalities=modalities,
            use_lsl=not args.no_lsl,
            use_lsc=not args.no_lsc,
            impute=not args.no_impute,
            same_kg_negatives=args.same_kg_negatives,
            fusion=args.fusion,
            mimea_pmf=not args.no_pmf,
            mimea_otma=not args.no_otma,
            mimea_mcl=not args.no_mcl,
            mpsea_presynergy=not args.no_presynergy,
            mpsea_rl=args.rl,
            missing=args.missing,
            rmmea_missing_rate=args.rmmea_missing_rate,
            rmmea_noise_rate=args.rmmea_noise_rate,
            rmmea_rd_weight=0.0 if args.no_rd else ModelConfig.rmmea_rd_weight,
            rmmea_mi_weight=0.0 if args.no_mi else ModelConfig.rmmea_mi_weight,
            maco_contrastive_weight=0.0 if args.no_maco_contrastive else args.maco_contrastive_weight,
            maco_temperature=args.maco_temperature,
        ),
        TrainConfig(epochs=args.epochs, lr=args.lr, round_lr=args.round_lr, eval_every=args.eval_every, seed=args.seed,
                    device=args.device),
    )


def config_error(err: ValueError) -> NoReturn:
    """A setting the configs refused: one line and exit status 2, as for a bad argument."""
    print(f"error: {err}", file=sys.stderr)
    raise SystemExit(2)


def run(args: argparse.Namespace) -> int:
    try:
        feature_config, model_config, train_config = configs(args)    # before the data: a typo fails fast
    except ValueError as err:
        config_error(err)
    pair = open_dataset(args)
    result = train_and_evaluate(
        pair,
        args.seed_ratio,
        args.test_ratio,
        feature_config,
        model_config,
        train_config,
        checkpoint=args.checkpoint,
        progress=not args.quiet,
    )
    report = {"dataset": pair.name, **result.to_dict()}
    text = json.dumps(report, indent=2)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    l2r = result.final["l2r"]
    print(text if args.out is None else f"result written to {args.out}")
    print(
        f"Hits@1 {l2r['hits@1']:.4f}  Hits@10 {l2r['hits@10']:.4f}  MRR {l2r['mrr']:.4f} (left-to-right)  "
        f"{result.seconds_per_epoch:.2f} s/epoch  peak {result.peak_memory_mb:.0f} MB"
    )
    return 0
