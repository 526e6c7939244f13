"""One training run from a KG pair to metrics: features, split, model, trainer (PyKEEN-style)."""
from __future__ import annotations

import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from almea.data.kg_pair import KGPair
from almea.features import FeatureConfig, build_features
from almea.model.almea import ALMEA
from almea.model.config import ModelConfig, TrainConfig
from almea.model.inputs import AlignmentInputs, pick_device
from almea.training.split import split_links
from almea.training.trainer import Trainer, seed_everything


@dataclass
class RunResult:
    """Everything a run reports, JSON-serialisable via :meth:`to_dict`."""

    final: dict
    evaluations: list[dict]
    modality_weights: dict[str, float]
    seconds_per_epoch: float
    feature_seconds: float
    peak_memory_mb: float
    n_train: int
    n_test: int
    config: dict = field(default_factory=dict)
    entity_weights: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per modality, quantiles of the per-entity fusion weights (constant for ``global``)."""

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def peak_memory_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def weight_quantiles(modalities: tuple[str, ...], weights: torch.Tensor) -> dict[str, dict[str, float]]:
    """{modality: {"p5", "p50", "p95", "std"}} of (N, M) per-entity weights, columns in that order."""
    q = torch.quantile(weights.float().cpu(), torch.tensor([0.05, 0.5, 0.95]), dim=0)
    spread = weights.float().std(dim=0).cpu()
    return {m: {"p5": float(q[0, i]), "p50": float(q[1, i]), "p95": float(q[2, i]), "std": float(spread[i])}
            for i, m in enumerate(modalities)}


def build_model(
    pair: KGPair, feature_config: FeatureConfig, model_config: ModelConfig, device: str = "auto", *, seed: int
) -> tuple[ALMEA, AlignmentInputs]:
    """Features (cached) -> inputs on the device -> a fresh model whose weights ``seed`` fixes.

    Seeded after the features: building them uncached draws random numbers (the image
    encoder's own initial weights), which shifted the model's weights and every later number
    of the first run on a dataset.
    """
    features = build_features(pair, feature_config)
    inputs = AlignmentInputs.build(pair, features, model_config.modalities, pick_device(device))
    seed_everything(seed)
    return ALMEA(model_config, inputs).to(inputs.graph.src.device), inputs


def train_and_evaluate(
    pair: KGPair,
    seed_ratio: float,
    test_ratio: float | None = None,
    feature_config: FeatureConfig = FeatureConfig(),
    model_config: ModelConfig = ModelConfig(),
    train_config: TrainConfig = TrainConfig(),
    checkpoint: Path | None = None,
    progress: bool = True,
) -> RunResult:
    """Train on ``seed_ratio`` of the links and test on a fixed held-out set.

    ``test_ratio`` defaults to ``1 - seed_ratio`` (the usual 20%-train/80%-test protocol).
    ``checkpoint``: warm start from it when it exists, and save to it at the end.
    """
    started = time.perf_counter()
    model, inputs = build_model(pair, feature_config, model_config, train_config.device, seed=train_config.seed)
    feature_seconds = time.perf_counter() - started
    split = split_links(pair.links, 1.0 - seed_ratio if test_ratio is None else test_ratio, train_config.seed)
    train = split.base(seed_ratio)
    trainer = Trainer(model, inputs, train_config, progress=progress)
    if checkpoint is not None and checkpoint.exists():
        trainer.load(checkpoint)
    trainer.fit(train, test_pairs=split.test)
    final = trainer.evaluate(split.test)
    if checkpoint is not None:
        trainer.save(checkpoint)
    return RunResult(
        final=final,
        evaluations=trainer.history.evaluations,
        modality_weights=model.modality_weights(),
        seconds_per_epoch=float(np.median(trainer.history.epoch_seconds)) if trainer.history.epoch_seconds else 0.0,
        feature_seconds=feature_seconds,
        peak_memory_mb=peak_memory_mb(),
        n_train=len(train),
        n_test=len(split.test),
        entity_weights=weight_quantiles(model.modalities, model.entity_weights(inputs)),
        config={
            "features": feature_config.__dict__,
            "model": model_config.to_dict(),
            "train": train_config.to_dict(),
            "seed_ratio": seed_ratio,
        },
    )
