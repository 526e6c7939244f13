"""Training loop: seeded, device-aware, warm-startable, with periodic evaluation."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from almea.atomic_write import write_atomically
from almea.evaluation import alignment_metrics
from almea.model.almea import ALMEA
from almea.model.config import TrainConfig
from almea.model.fusion import check_checkpoint_fusion
from almea.model.inputs import AlignmentInputs
from almea.training.batch_rows import batch_inputs


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch so a run is repeatable on the same device."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass(frozen=True)
class EpochCheckpoint:
    """Save the trainer to ``path`` after every ``every`` epochs of a ``fit`` (long jobs: a
    killed process loses at most ``every`` epochs)."""

    path: Path
    every: int

    def __post_init__(self) -> None:
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ValueError(f"EpochCheckpoint.every must be an integer >= 1, got {self.every!r}")


@dataclass
class History:
    """What a run reports: per-evaluation metrics, losses and timings."""

    evaluations: list[dict] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    losses: list[dict[str, float]] = field(default_factory=list)


class Trainer:
    """Trains an :class:`ALMEA` model on labelled pairs and evaluates it on fixed test links."""

    def __init__(self, model: ALMEA, inputs: AlignmentInputs, config: TrainConfig, progress: bool = True) -> None:
        self.model = model
        self.inputs = inputs
        self.config = config
        self.progress = progress
        self.device = inputs.graph.src.device
        self.optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        self.epoch = 0
        self.history = History()
        self.epoch_checkpoint: EpochCheckpoint | None = None
        """Where and how often ``fit`` saves mid-run, so a killed run resumes there (None: never)."""

    def fit(
        self,
        train_pairs: np.ndarray,
        epochs: int | None = None,
        test_pairs: np.ndarray | None = None,
        hard_negatives: np.ndarray | None = None,
        on_epoch: Callable[[int, int], None] | None = None,
        lr: float | None = None,
        weights: np.ndarray | None = None,
    ) -> History:
        """Train ``epochs`` more epochs (warm: continues from the current weights) at Adam rate
        ``lr`` (default: the config's base rate; set on every call, never inherited).

        ``hard_negatives`` (K,) are target ids pushed away from every source (targets of
        rejected pairs); those that are also targets of ``train_pairs`` are dropped, since a
        target rejected with one source may be accepted with another and must not be its own
        positive's negative. ``on_epoch(done, epochs)`` is called after each epoch (a worker's
        progress report). ``weights`` (L,) weigh each pair's alignment loss (pseudo-labels).
        """
        epochs = self.config.epochs if epochs is None else epochs
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.lr if lr is None else lr
        pairs = torch.as_tensor(train_pairs, dtype=torch.long, device=self.device)
        pair_weights = None if weights is None else torch.as_tensor(weights, dtype=torch.float32, device=self.device)
        if hard_negatives is not None:
            hard_negatives = np.setdiff1d(hard_negatives, np.asarray(train_pairs).reshape(-1, 2)[:, 1])
        negatives = None if hard_negatives is None or len(hard_negatives) == 0 else torch.as_tensor(
            hard_negatives, dtype=torch.long, device=self.device
        )
        bar = tqdm(range(epochs), desc="train", disable=not self.progress, leave=False)
        for done in bar:
            started = time.perf_counter()
            terms = self._epoch(pairs, negatives, pair_weights)
            self.history.epoch_seconds.append(time.perf_counter() - started)
            self.history.losses.append(terms)
            self.epoch += 1
            bar.set_postfix(loss=f"{sum(terms.values()):.3f}")
            every = self.config.eval_every
            if test_pairs is not None and every and self.epoch % every == 0:
                self.history.evaluations.append(self.evaluate(test_pairs))
            if self.epoch_checkpoint is not None and (done + 1) % self.epoch_checkpoint.every == 0:
                self.save(self.epoch_checkpoint.path)
            if on_epoch is not None:
                on_epoch(done + 1, epochs)
        return self.history

    def _epoch(self, pairs: torch.Tensor, negatives: torch.Tensor | None, weights: torch.Tensor | None) -> dict[str, float]:
        self.model.train()
        totals: dict[str, float] = {}
        order = torch.randperm(len(pairs), device=self.device)
        for lo in range(0, len(pairs), self.config.batch_size):
            rows = order[lo : lo + self.config.batch_size]
            inputs, batch, batch_negatives = self.inputs, pairs[rows], negatives
            if self.encodes_batch_rows:
                inputs, batch, batch_negatives = batch_inputs(inputs, batch, negatives, self.model.config.gat_layers)
            terms = self.model.losses(inputs, batch, batch_negatives, None if weights is None else weights[rows])
            loss = sum(terms.values())
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            for name, value in terms.items():
                totals[name] = totals.get(name, 0.0) + value.item()
        return totals

    @property
    def encodes_batch_rows(self) -> bool:
        """Whether a step encodes only its batch's rows (``TrainConfig.batch_rows_above``)."""
        return self.inputs.n_entities > self.config.batch_rows_above and self.model.missing.reads_pair_rows_only

    def evaluate(self, test_pairs: np.ndarray) -> dict:
        """CSLS Hits@1/10 and MRR on ``test_pairs``, both directions, at the current epoch."""
        self.model.eval()
        embeddings = self.model.embed(self.inputs)
        pairs = torch.as_tensor(test_pairs, dtype=torch.long, device=self.device)
        return {"epoch": self.epoch, **alignment_metrics(embeddings, pairs)}

    def save(self, path: Path) -> None:
        """Weights, optimiser state and configs; plain tensors and builtins only."""
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "model_config": self.model.config.to_dict(),
            "epoch": self.epoch,
        }
        write_atomically(path, lambda file: torch.save(state, file))

    def load(self, path: Path) -> None:
        """Warm start from a checkpoint written by :meth:`save` (never unpickles objects); one
        trained with another fusion is refused with a message naming both."""
        state = torch.load(path, map_location=self.device, weights_only=True)
        check_checkpoint_fusion(state.get("model_config", {}), self.model.config, f"checkpoint {path}")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch = int(state["epoch"])
