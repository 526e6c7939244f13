"""One model in an active-learning loop: train, embed, propose, explain (spec sections 6-7).

Both the simulated-oracle runner and the annotation worker drive this class, so a person
and the simulated oracle see exactly the same candidate pools and strategies.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F

from almea.data.kg_pair import KGPair
from almea.evaluation.metrics import mean_topk_similarity, rows_per_block
from almea.features import FeatureConfig
from almea.model.config import ModelConfig, TrainConfig
from almea.selection import STRATEGIES, CandidatePool, Selection, SelectionContext, candidate_pool
from almea.training.pipeline import build_model
from almea.training.trainer import Trainer


@dataclass(frozen=True)
class SelectionConfig:
    """How candidates are pooled and chosen (spec section 6)."""

    strategy: str = "ds3"
    csls_k: int = 10
    """CSLS neighbourhood of the mutual-nearest-neighbour pool."""
    k_max: int = 5000
    """Pool cap: the least confident mutual pairs beyond it are pruned."""
    alpha: float = 0.35
    sigma: float = 3.0
    use_diversity: bool = True
    solver: str = "admm"

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; choose from {sorted(STRATEGIES)}")


@dataclass(frozen=True)
class LearnerConfig:
    """Everything that defines a learner; plain data so it can be stored as JSON."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> LearnerConfig:
        model = dict(data.get("model", {}))
        for key in ("modalities", "loss_weights"):
            if key in model:
                model[key] = tuple(model[key])
        return cls(
            features=FeatureConfig(**data.get("features", {})),
            model=ModelConfig(**model),
            train=TrainConfig(**data.get("train", {})),
            selection=SelectionConfig(**data.get("selection", {})),
        )


def entity_degrees(pair: KGPair) -> np.ndarray:
    """(N,) number of relation triples each entity takes part in (its own KG)."""
    triples = pair.rel_triples
    return np.bincount(np.concatenate([triples[:, 0], triples[:, 2]]), minlength=pair.n_entities).astype(np.int64)


class ActiveLearner:
    """An ALMEA model with its trainer, plus the selection step of an active-learning round."""

    def __init__(self, pair: KGPair, config: LearnerConfig = LearnerConfig(), progress: bool = True) -> None:
        self.pair = pair
        self.config = config
        self.model, self.inputs = build_model(pair, config.features, config.model, config.train.device,
                                              seed=config.train.seed)
        self.trainer = Trainer(self.model, self.inputs, config.train, progress=progress)
        self.degree = entity_degrees(pair)

    @property
    def device(self) -> torch.device:
        return self.trainer.device

    def train(
        self,
        labelled: np.ndarray,
        epochs: int,
        hard_negatives: np.ndarray | None = None,
        on_epoch: Callable[[int, int], None] | None = None,
        refine: bool = False,
    ) -> None:
        """``epochs`` more epochs on ``labelled`` (L, 2), warm from the current weights.

        ``hard_negatives`` are pairs answered "reject": their targets become extra negatives
        of the contrastive loss. ``refine``: an active-learning round after the base training,
        run at the lower round learning rate. ``on_epoch(done, total)`` reports progress.
        """
        negatives = None if hard_negatives is None or len(hard_negatives) == 0 else np.unique(hard_negatives[:, 1])
        lr = self.config.train.round_lr if refine else self.config.train.lr
        self.trainer.fit(labelled, epochs=epochs, hard_negatives=negatives, on_epoch=on_epoch, lr=lr)

    def embeddings(self) -> torch.Tensor:
        self.model.eval()
        return self.model.embed(self.inputs)

    def evaluate(self, test: np.ndarray) -> dict:
        """CSLS Hits@1/10 and MRR of ``test`` links, both directions."""
        return self.trainer.evaluate(test)

    def candidates(self, labelled: np.ndarray, blocked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sources, targets) allowed in the pool: not labelled, not in ``blocked`` (test) pairs."""
        n1, n = self.pair.n1, self.pair.n_entities
        taken = np.concatenate([np.asarray(labelled, np.int64).reshape(-1, 2), np.asarray(blocked, np.int64).reshape(-1, 2)])
        sources = np.setdiff1d(np.arange(n1), taken[:, 0])
        targets = np.setdiff1d(np.arange(n1, n), taken[:, 1])
        return sources, targets

    def pool(
        self, embeddings: torch.Tensor, labelled: np.ndarray, answered: np.ndarray, blocked: np.ndarray
    ) -> CandidatePool:
        """The candidate pool Q (spec 6.1) over ``embeddings`` (N, D); arguments as in ``select``."""
        cfg = self.config.selection
        sources, targets = self.candidates(labelled, blocked)
        return candidate_pool(embeddings, sources, targets, cfg.csls_k, cfg.k_max, exclude=answered)

    def choose(
        self,
        pool: CandidatePool,
        embeddings: torch.Tensor,
        n: int,
        labelled: np.ndarray,
        rng: np.random.Generator,
        strategy: str | None = None,
        use_diversity: bool | None = None,
    ) -> Selection:
        """``n`` pairs of ``pool`` by the strategy (spec 6.2-6.6). Apart from ``select`` so that
        one pool can be chosen from twice (the app compares DS3 with and without D)."""
        cfg = self.config.selection
        context = SelectionContext(
            embeddings=embeddings,
            labelled=labelled,
            degree=self.degree,
            rng=rng,
            alpha=cfg.alpha,
            sigma=cfg.sigma,
            use_diversity=cfg.use_diversity if use_diversity is None else use_diversity,
            solver=cfg.solver,
        )
        return STRATEGIES[strategy or cfg.strategy](pool, context, n)

    def select(
        self,
        n: int,
        labelled: np.ndarray,
        answered: np.ndarray,
        blocked: np.ndarray,
        rng: np.random.Generator,
        strategy: str | None = None,
        use_diversity: bool | None = None,
    ) -> Selection:
        """The next batch of ``n`` pairs (spec 6.1-6.5).

        ``labelled`` (L, 2): base and accepted pairs (their entities leave the pool and feed
        the diversity penalty); ``answered`` (A, 2): pairs already answered in any way, never
        proposed again; ``blocked`` (T, 2): test links, whose entities are never candidates.
        """
        embeddings = self.embeddings()
        pool = self.pool(embeddings, labelled, answered, blocked)
        return self.choose(pool, embeddings, n, labelled, rng, strategy, use_diversity)

    @torch.no_grad()
    def evidence(self, pairs: np.ndarray, top: int = 5) -> list[dict]:
        """Why the model believes each pair: its top alternative targets and modality shares.

        Alternatives are the ``top`` KG2 entities by CSLS against all of KG2. With the concat
        joint, cos(s, t) = sum_m pi_m^2 cos_m / sum_m pi_m^2, so each modality's share of the
        pair's similarity is read off the embedding slices exactly.
        """
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        if len(pairs) == 0:
            return []
        emb = F.normalize(self.embeddings().float(), dim=1)
        n1 = self.pair.n1
        sources, all_targets = emb[pairs[:, 0]], emb[n1:]
        r_targets = mean_topk_similarity(all_targets, emb[:n1], self.config.selection.csls_k)
        r_sources = mean_topk_similarity(sources, all_targets, self.config.selection.csls_k)
        records = []
        step = rows_per_block(len(all_targets))
        for lo in range(0, len(pairs), step):
            csls = 2 * sources[lo : lo + step] @ all_targets.t() - r_sources[lo : lo + step, None] - r_targets[None, :]
            best = csls.topk(min(top, csls.shape[1]), dim=1)
            for row, (values, ids) in enumerate(zip(best.values.tolist(), best.indices.tolist())):
                source, target = pairs[lo + row]
                records.append({
                    "alternatives": [{"target": n1 + i, "csls": v} for i, v in zip(ids, values)],
                    "modalities": self._modality_shares(emb, int(source), int(target)),
                })
        return records

    def _modality_shares(self, emb: torch.Tensor, source: int, target: int) -> dict[str, float]:
        """Each modality's term of the joint cosine (concat joint only; empty otherwise)."""
        if self.config.model.joint != "concat":
            return {}
        dim = self.config.model.dim
        parts = (emb[source] * emb[target]).view(len(self.model.modalities), dim).sum(dim=1)
        return {m: float(parts[i]) for i, m in enumerate(self.model.modalities)}

    def modality_weights(self) -> dict[str, float]:
        return self.model.modality_weights()

    def save(self, path: Path) -> None:
        self.trainer.save(path)

    def load(self, path: Path) -> None:
        self.trainer.load(path)
