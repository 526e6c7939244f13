"""A project's settings: the learner plus the annotation schedule, stored as JSON."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from almea.active import LearnerConfig, SelectionConfig
from almea.active.self_training import SelfTrainingConfig
# FUSIONS and MISSING_STRATEGIES re-exported: pages import annotate only.
from almea.model.config import FUSIONS, MISSING_STRATEGIES, TrainConfig  # noqa: F401

FUSION_TEXT = {
    "global": "global (ALMEA): one weight per modality, the same for every entity",
    "mimea": "MIMEA: per-entity weights from how far each modality's distribution lies from the graph's",
    "mpsea": "MPSEA: per-entity weights from cross-modal attention between an entity's modalities",
}
"""Each fusion (``almea.model.fusion``) in the words of the Projects and Insights pages."""

_MISSING_PARTS = {
    "zero": "none: a missing modality stays empty",
    "vae": "ALMEA's VAE imputes it from the entity's other modalities",
    "rmmea": "rMMEA trains the model to rank alike without it or with a wrong one",
    "maco": "MACO generates it from the entity's place in the graph",
}
MISSING_TEXT = {name: "; ".join(_MISSING_PARTS[part] for part in name.split("+")) for name in MISSING_STRATEGIES}
"""Each missing-modality strategy (``almea.model.missing``) in the words of the Projects page."""


def default_learner() -> LearnerConfig:
    """The app's learner: random picks from the verification pool with self-training under
    verification. On FB15K237-DB15K (15%+1%x5, link split, 3 seeds) random, DS3 and
    uncertainty end level (Hits@1 0.668, 0.666, 0.664; ~0.59 without self-training), and
    random answers calibrate best (ECE 0.10, against 0.17 for DS3 and 0.15 for uncertainty)
    because they sample the whole population the quality is estimated on
    (``bench/self_training.py``; README "Measured figures")."""
    return LearnerConfig(selection=SelectionConfig(strategy="random"),
                         self_training=SelfTrainingConfig(enabled=True))


@dataclass(frozen=True)
class ProjectSettings:
    """How a project trains and proposes; the defaults are the backend's."""

    learner: LearnerConfig = field(default_factory=default_learner)
    """Model, training, selection and self-training (``default_learner``). A stored config
    without a ``self_training`` section (older projects) loads with it off, as it ran."""
    batch_size: int = 50
    """Pairs proposed per round."""
    warm_epochs: int = TrainConfig.epochs
    """Epochs of the first model, on the seed labels alone (T_warm): the backend's base training."""
    round_epochs: int = 10
    """Epochs added after each round, from the current weights (T_inter): the simulated runs'
    schedule, which keeps a round on FB15K237-DB15K within a minute (``bench/worker_round.py``)."""
    checkpoint_every: int = 10
    """Epochs between the worker's epoch checkpoints (0: none), so a job whose worker dies
    resumes from the last one when retried instead of from its first epoch."""
    eval_ratio: float = 0.3
    """Share of the dataset's KG1 entities held out to score each model on their gold links
    (0: no scoring). They are never proposed, so the learning curve stays honest."""
    standby_size: int | None = None
    """Pairs the model proposes beyond its batch, served while the next model trains
    (``annotate.standby``); None: as many as ``batch_size``, 0: none (annotators wait)."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.warm_epochs < 1 or self.round_epochs < 0 or self.checkpoint_every < 0:
            raise ValueError("batch_size and warm_epochs must be >= 1, round_epochs and checkpoint_every >= 0")
        if self.standby_size is not None and self.standby_size < 0:
            raise ValueError(f"standby_size must be >= 0 (or None: the batch size), got {self.standby_size}")
        if not 0.0 <= self.eval_ratio < 1.0:
            raise ValueError(f"eval_ratio must lie in [0, 1), got {self.eval_ratio}")

    @property
    def fusion(self) -> str:
        """The modality fusion the project's model uses (``ModelConfig.fusion``)."""
        return self.learner.model.fusion

    def with_fusion(self, fusion: str) -> ProjectSettings:
        """These settings with another fusion (checked by ``ModelConfig``). A project keeps its
        fusion: a checkpoint of one fusion never loads into another."""
        model = replace(self.learner.model, fusion=fusion)
        return replace(self, learner=replace(self.learner, model=model))

    @property
    def missing(self) -> str:
        """The missing-modality strategy of the project's model (``ModelConfig.missing``)."""
        return self.learner.model.missing

    def with_missing(self, missing: str) -> ProjectSettings:
        """These settings with another missing-modality strategy (checked by ``ModelConfig``);
        fixed for a project like the fusion, for the same reason."""
        model = replace(self.learner.model, missing=missing)
        return replace(self, learner=replace(self.learner, model=model))

    @property
    def standby_pairs(self) -> int:
        """How many standby pairs each model proposes."""
        return self.batch_size if self.standby_size is None else self.standby_size

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ProjectSettings:
        values = {k: v for k, v in data.items() if k != "learner"}
        return cls(learner=LearnerConfig.from_dict(data.get("learner", {})), **values)
