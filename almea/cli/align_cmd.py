"""``python -m almea align``: the full 1-to-1 alignment with calibrated confidence, to a file."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from almea.active import ActiveLearner, LearnerConfig
from almea.alignment import Calibrator, predict_alignment
from almea.alignment.export import PROJECT_ALIGNMENT, alignment_records, alignment_text, cut, format_of, read_alignment
from almea.atomic_write import write_atomically
from almea.cli.data_cmd import add_data_options, open_dataset
from almea.cli.train_cmd import add_model_options, config_error, configs
from almea.model.config import ModelConfig


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "align", help="write the full alignment (every KG1 entity's partner) with calibrated confidence",
        description="The format follows --out's extension: .tsv (ent_links: two columns, no header), .csv or "
        ".jsonl with source, target, csls, margin, probability, mutual, provenance. With --checkpoint there "
        "are no answers to calibrate on, so predicted links have no probability and --min-probability keeps "
        "none of them; a project's alignment is calibrated on its answers.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--project", type=Path, help="an annotation project folder: its newest model's alignment")
    source.add_argument("--checkpoint", type=Path, help="a model checkpoint (with --data and --layout)")
    add_data_options(parser, layout_required=False)
    add_model_options(parser)
    parser.add_argument("--out", type=Path, required=True, help="FILE.tsv, FILE.csv or FILE.jsonl")
    parser.add_argument("--min-probability", type=float, help="keep links at or above this calibrated probability")
    parser.set_defaults(run=run, epochs=1, eval_every=0, seed=0)


def run(args: argparse.Namespace) -> int:
    try:
        suffix = format_of(args.out)
    except ValueError as err:
        config_error(err)
    if args.project is not None:
        path = args.project / PROJECT_ALIGNMENT
        if not path.is_file():
            config_error(ValueError(f"{args.project}: no alignment yet (the project's worker writes {PROJECT_ALIGNMENT} "
                                    "after its first model)"))
        records = cut(read_alignment(path), args.min_probability)
    else:
        records = _from_checkpoint(args)
    write_atomically(args.out, alignment_text(records, suffix))
    counts = records["provenance"].value_counts().to_dict()
    print(f"{len(records)} links written to {args.out} " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return 0


def _from_checkpoint(args: argparse.Namespace):
    """The checkpoint's alignment of the dataset (its model config is the checkpoint's own)."""
    if not args.checkpoint.is_file():
        config_error(ValueError(f"{args.checkpoint}: no such checkpoint"))
    if args.layout is None:
        config_error(ValueError("--checkpoint needs --data and --layout"))
    features, _, train = configs(args)
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    model = ModelConfig(**state["model_config"])
    pair = open_dataset(args)
    learner = ActiveLearner(pair, LearnerConfig(features=features, model=model, train=train), progress=False)
    learner.load(args.checkpoint)
    none = np.zeros((0, 2), np.int64)
    table = learner.score_table(learner.embeddings(), none, none)
    alignment = predict_alignment(table, {}, Calibrator.unfitted())
    return alignment_records(alignment, pair.entities, args.min_probability)
