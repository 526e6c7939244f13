"""One model in an active-learning loop: train, embed, propose, explain (spec sections 6-7).

Both the simulated-oracle runner and the annotation worker drive this class, so a person
and the simulated oracle see exactly the same candidate pools and strategies.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.sparse as sp
import torch
from torch.nn import functional as F

from almea.active.self_training import PseudoLabels, SelfTrainingConfig, pseudo_labels, verification_pool, verified_batch
from almea.alignment import Calibrator, ScoreTable, score_table
from almea.config_checks import check_choice, check_int
from almea.data.kg_pair import KGPair
from almea.evaluation import alignment_metrics
from almea.evaluation.csls import csls_blocks
from almea.features import FeatureConfig
from almea.model.config import ModelConfig, TrainConfig
from almea.neighbours import EmbeddingIndexes, ExactIndex, NeighbourConfig, neighbourhood_means
from almea.selection import (
    STRATEGIES,
    CandidatePool,
    DS3Selection,
    Selection,
    SelectionContext,
    candidate_pool,
    make_strategy,
    strategy_parameters,
)
from almea.training.pipeline import build_model
from almea.training.trainer import Trainer


@dataclass(frozen=True)
class SelectionConfig:
    """How candidates are pooled and chosen (spec section 6).

    The DS3 fields are kept flat here, as saved projects store them, but they are the DS3
    strategy's own parameters: ``parameters(name)`` hands each strategy its share, and the
    strategy checks them (``make_strategy``).
    """

    strategy: str = "ds3"
    """Default strategy, a ``STRATEGIES`` name; a run may ask for another."""
    csls_k: int = 10
    """CSLS neighbourhood of the mutual-nearest-neighbour pool."""
    k_max: int = 5000
    """Pool cap: the least confident mutual pairs beyond it are pruned."""
    alpha: float = DS3Selection.alpha
    """DS3 sparsity (``DS3Selection.alpha``)."""
    sigma: float = DS3Selection.sigma
    """Largest DS3 diversity penalty (``DS3Selection.sigma``)."""
    use_diversity: bool = DS3Selection.use_diversity
    """DS3 with the diversity penalty (``DS3Selection.use_diversity``)."""
    solver: str = DS3Selection.solver
    """DS3 solver (``DS3Selection.solver``)."""

    def __post_init__(self) -> None:
        check_choice("SelectionConfig", "strategy", self.strategy, tuple(STRATEGIES))
        check_int("SelectionConfig", "csls_k", self.csls_k, 1)
        check_int("SelectionConfig", "k_max", self.k_max, 1)
        for name in STRATEGIES:              # every strategy a run may switch to, not just the default
            make_strategy(name, **self.parameters(name))

    def parameters(self, name: str) -> dict[str, object]:
        """This config's values of the parameters that strategy ``name`` owns (those it has no
        field for keep the strategy's defaults)."""
        return {parameter: getattr(self, parameter) for parameter in strategy_parameters(name) if hasattr(self, parameter)}


def _settings(data: dict, section: str, config: type) -> dict:
    """The ``section`` of a stored learner config, refusing keys the config does not have."""
    values, known = dict(data.get(section, {})), [f.name for f in fields(config)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"unknown {section} settings {unknown}; {config.__name__} has {known}")
    return values


@dataclass(frozen=True)
class LearnerConfig:
    """Everything that defines a learner; plain data so it can be stored as JSON."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    self_training: SelfTrainingConfig = field(default_factory=SelfTrainingConfig)
    neighbours: NeighbourConfig = field(default_factory=NeighbourConfig)

    def __post_init__(self) -> None:
        for part in fields(self):
            if not isinstance(getattr(self, part.name), part.default_factory):
                raise ValueError(f"LearnerConfig.{part.name} must be a {part.default_factory.__name__}, "
                                 f"got {type(getattr(self, part.name)).__name__}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> LearnerConfig:
        return cls(
            features=FeatureConfig(**_settings(data, "features", FeatureConfig)),
            model=ModelConfig(**_settings(data, "model", ModelConfig)),
            train=TrainConfig(**_settings(data, "train", TrainConfig)),
            selection=SelectionConfig(**_settings(data, "selection", SelectionConfig)),
            self_training=SelfTrainingConfig(**_settings(data, "self_training", SelfTrainingConfig)),
            neighbours=NeighbourConfig(**_settings(data, "neighbours", NeighbourConfig)),
        )


def entity_degrees(pair: KGPair) -> np.ndarray:
    """(N,) number of relation triples each entity takes part in (its own KG)."""
    triples = pair.rel_triples
    return np.bincount(np.concatenate([triples[:, 0], triples[:, 2]]), minlength=pair.n_entities).astype(np.int64)


def entity_graph(pair: KGPair) -> sp.csr_matrix:
    """(N, N) symmetric 0/1 relation graph of both KGs (structure-aware selection)."""
    heads, tails = pair.rel_triples[:, 0], pair.rel_triples[:, 2]
    rows, cols = np.concatenate([heads, tails]), np.concatenate([tails, heads])
    graph = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(pair.n_entities, pair.n_entities))
    graph.data[:] = 1.0
    return graph


class ActiveLearner:
    """An ALMEA model with its trainer, plus the selection step of an active-learning round."""

    def __init__(self, pair: KGPair, config: LearnerConfig = LearnerConfig(), progress: bool = True) -> None:
        self.pair = pair
        self.config = config
        self.model, self.inputs = build_model(pair, config.features, config.model, config.train.device,
                                              seed=config.train.seed)
        self.trainer = Trainer(self.model, self.inputs, config.train, progress=progress)
        self.degree = entity_degrees(pair)
        self.graph = entity_graph(pair)
        self._embeddings: torch.Tensor | None = None
        self._indexes: tuple[torch.Tensor, NeighbourConfig, EmbeddingIndexes] | None = None

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
        pseudo: np.ndarray | None = None,
    ) -> None:
        """``epochs`` more epochs on ``labelled`` (L, 2), warm from the current weights.

        ``hard_negatives`` are pairs answered "reject": their targets become extra negatives
        of the contrastive loss. ``refine``: an active-learning round after the base training,
        run at the lower round learning rate. ``on_epoch(done, total)`` reports progress.
        ``pseudo`` (P, 2) pairs train beside the labels at the self-training weight.
        """
        negatives = None if hard_negatives is None or len(hard_negatives) == 0 else np.unique(hard_negatives[:, 1])
        lr = self.config.train.round_lr if refine else self.config.train.lr
        labelled = np.asarray(labelled, np.int64).reshape(-1, 2)
        weights = None
        if pseudo is not None and len(pseudo):
            weights = np.concatenate([np.ones(len(labelled)), np.full(len(pseudo), self.config.self_training.weight)])
            labelled = np.concatenate([labelled, np.asarray(pseudo, np.int64).reshape(-1, 2)])
        self._embeddings = None
        self.trainer.fit(labelled, epochs=epochs, hard_negatives=negatives, on_epoch=on_epoch, lr=lr, weights=weights)

    def embeddings(self) -> torch.Tensor:
        """(N, D) joint embeddings of the current weights: one tensor until the next
        ``train`` or ``load``, so the steps that search it share its ``indexes``."""
        if self._embeddings is None:
            self.model.eval()
            self._embeddings = self.model.embed(self.inputs)
        return self._embeddings

    def indexes(self, embeddings: torch.Tensor) -> EmbeddingIndexes:
        """The nearest-neighbour indexes of ``embeddings`` (N, D) under this config: above the
        size threshold one approximate index per KG, built on first need and searched by
        every later step over the same tensor (the last one asked about is kept)."""
        cached = self._indexes
        if cached is None or cached[0] is not embeddings or cached[1] != self.config.neighbours:
            normalised = F.normalize(embeddings.float(), dim=1)
            self._indexes = (embeddings, self.config.neighbours,
                             EmbeddingIndexes(normalised, self.pair.n1, self.config.neighbours))
        return self._indexes[2]

    def evaluate(self, test: np.ndarray) -> dict:
        """CSLS Hits@1/10 and MRR of ``test`` links, both directions, ranked as the neighbour
        config says (``alignment_metrics``)."""
        pairs = torch.as_tensor(np.asarray(test, np.int64).reshape(-1, 2), device=self.device)
        embeddings = self.embeddings()
        return {"epoch": self.trainer.epoch,
                **alignment_metrics(embeddings, pairs, indexes=self.indexes(embeddings))}

    def candidates(self, labelled: np.ndarray, blocked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sources, targets) allowed in the pool: not labelled, not in ``blocked`` (test) pairs."""
        n1, n = self.pair.n1, self.pair.n_entities
        taken = np.concatenate([np.asarray(labelled, np.int64).reshape(-1, 2), np.asarray(blocked, np.int64).reshape(-1, 2)])
        sources = np.setdiff1d(np.arange(n1), taken[:, 0])
        targets = np.setdiff1d(np.arange(n1, n), taken[:, 1])
        return sources, targets

    def pool(self, embeddings: torch.Tensor, labelled: np.ndarray, answered: np.ndarray, blocked: np.ndarray) -> CandidatePool:
        """The candidate pool Q (spec 6.1) over ``embeddings`` (N, D); arguments as in ``select``."""
        cfg = self.config.selection
        sources, targets = self.candidates(labelled, blocked)
        return candidate_pool(embeddings, sources, targets, cfg.csls_k, cfg.k_max, exclude=answered,
                              indexes=self.indexes(embeddings))

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
        name = strategy or self.config.selection.strategy
        parameters = self.config.selection.parameters(name)
        if use_diversity is not None and "use_diversity" in parameters:
            parameters["use_diversity"] = use_diversity
        context = SelectionContext(embeddings=embeddings, labelled=labelled, degree=self.degree, rng=rng, graph=self.graph)
        return make_strategy(name, **parameters)(pool, context, n)

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

    def score_table(self, embeddings: torch.Tensor, labelled: np.ndarray, rejected: np.ndarray) -> ScoreTable:
        """The whole pair's CSLS view that calibration, pseudo-labels and the export share."""
        return score_table(embeddings, self.pair.n1, labelled, rejected, self.config.selection.csls_k,
                           indexes=self.indexes(embeddings))

    def pseudo_labels(
        self, table: ScoreTable, calibrator: Calibrator, blocked: np.ndarray, trained: np.ndarray | None = None
    ) -> PseudoLabels:
        """This round's pseudo-labels; ``blocked`` (T, 2) test links stay out unless the
        self-training config lets test entities in; ``trained`` (Q, 2) are the pseudo-labels
        the table's model was trained with (what the calibrator needs to know)."""
        cfg = self.config.self_training
        entities = None if cfg.include_test else np.asarray(blocked, np.int64).reshape(-1)
        return pseudo_labels(table, calibrator, cfg, self.config.selection.k_max, entities, trained)

    def select_verified(
        self,
        table: ScoreTable,
        calibrator: Calibrator,
        threshold: float,
        n: int,
        labelled: np.ndarray,
        answered: np.ndarray,
        blocked: np.ndarray,
        rng: np.random.Generator,
        strategy: str | None = None,
        trained: np.ndarray | None = None,
    ) -> tuple[Selection, np.ndarray]:
        """A batch under self-training: the strategy below the pseudo-label ``threshold``, a
        random audit above it; returns the batch and its (n,) audit mask. Arguments as in
        ``select`` and ``pseudo_labels``. The pool is the table's own mutual pairs whose source
        is not blocked (``verification_pool``), so the answers sample the population the
        pseudo-labels and the exported alignment come from; the strategy's share is capped at k_max."""
        cfg = self.config.selection
        pool = verification_pool(table, np.asarray(blocked, np.int64).reshape(-1, 2)[:, 0], answered)
        probability = calibrator.probability(table.features(pool.pairs, trained))
        with np.errstate(invalid="ignore"):
            above = probability >= threshold

        def choose(part: CandidatePool, size: int) -> Selection:
            return self.choose(part, table.embeddings, size, labelled, rng, strategy)

        return verified_batch(pool, above, n, choose, rng, self.config.self_training.audit_share, cfg.k_max)

    @torch.no_grad()
    def evidence(self, pairs: np.ndarray, top: int = 5, table: ScoreTable | None = None) -> list[dict]:
        """Why the model believes each pair: its top alternative targets and modality shares.

        Alternatives are the ``top`` KG2 entities by CSLS against all of KG2, and ``csls`` is
        the proposed pair's own CSLS on that same view, so the card shows one similarity (the
        pool's score is computed among free entities only and differs). With the concat
        joint each modality's share of the pair's similarity is its block's term of the
        cosine (``Fusion.similarity_shares``); ``shares_exact`` says whether the blocks are the
        modalities' own (global, MIMEA) or mix them (MPSEA's attention outputs). ``imputed``
        names the modalities that one side lacks; ``filled`` maps each of them to the
        missing-modality strategy part that completes it (``vae``, ``maco``), if any.
        ``table``: this model's score table, whose KG2 r terms are reused instead of searched
        again (the one all-pairs step here: without it they come through ``indexes``); the
        few sources are scored against all of KG2 densely.
        """
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        if len(pairs) == 0:
            return []
        n1, n, k = self.pair.n1, self.pair.n_entities, self.config.selection.csls_k
        if table is None:
            indexes = self.indexes(self.embeddings())
            emb = indexes.embeddings
            r_targets = neighbourhood_means(emb[n1:], indexes.index(torch.arange(n1, device=emb.device), n - n1), k)
        else:
            emb, r_targets = table.embeddings, table.r_target
        sources, all_targets = emb[pairs[:, 0]], emb[n1:]
        r_sources = neighbourhood_means(sources, ExactIndex(all_targets), k)
        shares = self._modality_shares(sources, emb[pairs[:, 1]])
        filled = self.model.filled_by(self.inputs)
        records = []
        for lo, csls in csls_blocks(sources, all_targets, r_sources, r_targets):
            best = csls.topk(min(top, csls.shape[1]), dim=1)
            for row, (values, ids) in enumerate(zip(best.values.tolist(), best.indices.tolist())):
                source, target = pairs[lo + row]
                records.append({
                    "csls": float(csls[row, target - n1]),
                    "alternatives": [{"target": n1 + i, "csls": v} for i, v in zip(ids, values)],
                    "modalities": shares[lo + row],
                    "shares_exact": self.model.fusion.shares_are_exact,
                    "imputed": self._imputed(int(source), int(target)),
                    "filled": self._filled(int(source), int(target), filled),
                })
        return records

    def _modality_shares(self, sources: torch.Tensor, targets: torch.Tensor) -> list[dict[str, float]]:
        """Each pair's per-modality terms of its cosine, for L2-normalised joint rows (P, D)
        (none for the sum joint)."""
        split = self.model.fusion.similarity_shares(sources, targets)
        if split is None:
            return [{} for _ in range(len(sources))]
        return [dict(zip(self.model.modalities, row)) for row in split.tolist()]

    def _imputed(self, source: int, target: int) -> list[str]:
        """Modalities missing on either side of the pair (imputed when the model imputes)."""
        present = self.inputs.present
        return [m for m in self.model.modalities if m in present and not (present[m][source] and present[m][target])]

    def _filled(self, source: int, target: int, filled: dict[str, torch.Tensor]) -> dict[str, str]:
        """Modality -> the strategy part (first in its order) that completes it on either side
        of the pair, from ``ALMEA.filled_by``'s (N, M) masks."""
        out = {}
        for part, mask in filled.items():
            for i, m in enumerate(self.model.modalities):
                if m not in out and (mask[source, i] or mask[target, i]):
                    out[m] = part
        return out

    def modality_weights(self) -> dict[str, float]:
        """The fusion's global weights; a per-entity fusion's are the mean weights of its latest
        evaluation-mode pass (``embeddings``, ``evaluate`` or ``entity_weights``)."""
        return self.model.modality_weights()

    def entity_weights(self) -> torch.Tensor:
        """(N, M) fusion weights of every entity in evaluation mode, columns in the model's
        modality order, rows summing to 1."""
        self.model.eval()
        return self.model.entity_weights(self.inputs)

    def save(self, path: Path) -> None:
        self.trainer.save(path)

    def load(self, path: Path) -> None:
        self._embeddings = None
        self.trainer.load(path)
