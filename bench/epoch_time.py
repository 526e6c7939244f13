"""Seconds per training epoch on a real benchmark, with a breakdown of where a step goes.

Median over repeated epochs; run on a quiet machine (other processes sharing the two cores
inflate every figure).

    .venv/bin/python -m bench.epoch_time --data ../shared/data/FB15K237-DB15K --epochs 8
"""
from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import torch

from almea.data import load_dataset
from almea.features import FeatureConfig
from almea.model.config import ModelConfig, TrainConfig
from almea.training.pipeline import build_model, peak_memory_mb
from almea.training.split import split_links
from almea.training.trainer import Trainer


def median_seconds(step, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--layout", default="openea")
    parser.add_argument("--seed-ratio", type=float, default=0.2)
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    pair = load_dataset(args.data, args.layout)
    train = torch.as_tensor(split_links(pair.links, 1 - args.seed_ratio, 0).base(args.seed_ratio))
    for label, config in (("full ALMEA", ModelConfig()), ("without LSL/LSC", replace(ModelConfig(), use_lsl=False))):
        model, inputs = build_model(pair, FeatureConfig(), config, seed=0)
        trainer = Trainer(model, inputs, TrainConfig(eval_every=0), progress=False)
        trainer.fit(train.numpy(), epochs=1)
        trainer.fit(train.numpy(), epochs=args.epochs)
        epoch = statistics.median(trainer.history.epoch_seconds[1:])
        graph = median_seconds(lambda: model.encoders.gat(model.encoders.entity, inputs.graph).sum().backward(), 3)
        print(f"{label}: {epoch:.2f} s/epoch (median of {args.epochs}); GAT forward+backward {graph:.2f} s; "
              f"{len(train)} pairs, {inputs.graph.n_edges:,} edges; peak {peak_memory_mb():.0f} MB")


if __name__ == "__main__":
    main()
