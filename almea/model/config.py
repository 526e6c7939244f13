"""Model configuration with the paper's defaults (Table 9, appendix F.3; spec sections 1-5)."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from almea.config_checks import check_bool, check_choice, check_int, check_number

#: Modalities the model can encode: the graph plus every feature block (``almea.features``).
MODEL_MODALITIES = ("graph", "relation", "attribute", "value", "visual", "name")
JOINTS = ("concat", "sum")
DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and loss switches; every ALMEA component can be turned off for ablations."""

    dim: int = 300
    """Width of every modality embedding, latent and decoder (the paper's d = 300)."""
    gat_layers: int = 2
    """Graph attention layers over the union graph."""
    gat_heads: int = 2
    """Attention heads per layer (averaged)."""
    dropout: float = 0.0
    """Dropout on GAT inputs."""
    modalities: tuple[str, ...] = ("graph", "relation", "attribute", "value", "visual")
    """Modalities to use when the data has them; ``name`` is opt-in (names may leak or be one-sided)."""
    joint: str = "concat"
    """How weighted, normalised modality embeddings are joined: ``concat`` (the MCLEA
    backbone; cosine becomes a pi^2-weighted sum of per-modality cosines) or ``sum``."""
    temperature: float = 0.1
    """InfoNCE temperature of the alignment loss (section 3)."""
    same_kg_negatives: bool = False
    """Also use the other entities of the anchor's own KG in the batch as negatives (MCLEA).
    Off by default: on FB15K237-DB15K at 20% seeds they cost two of the three (B x B x d)
    products of every contrastive term (4.0 -> 1.9 s/epoch without them) and Hits@1 after
    40 epochs was 0.552 with them vs 0.583 without (bench/train_benchmark.py, variant
    same-kg-negatives)."""
    intra_modal: bool = True
    """Also apply the alignment loss to each modality embedding (MCLEA's intra-modal loss)."""
    use_lsl: bool = True
    """Latent Semantic Learning: per-modality VAE with masking (section 4)."""
    use_lsc: bool = True
    """Latent Semantic Calibration: calibration layer, latent fusion, L_SCL and L_JAL (section 5)."""
    impute: bool = True
    """At inference, replace really-missing modality embeddings by the VAE decoding (needs LSL)."""
    mask_rate: float = 0.45
    """Share of entities whose modality rows are zeroed for LSL (0.45 on FB-DB, 0.50 on FB-YAGO)."""
    latent_batch: int = 512
    """Labelled pairs per step that go through the VAE path (it costs ~10 d x d matmuls per
    entity and modality, so a sample keeps CPU steps short; the alignment loss uses all)."""
    loss_weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    """lambda_1..4 for L_SCL, L_DML, L_URL, L_JAL."""

    def __post_init__(self) -> None:
        owner = "ModelConfig"
        for name, minimum in (("dim", 1), ("gat_layers", 0), ("gat_heads", 1), ("latent_batch", 1)):
            check_int(owner, name, getattr(self, name), minimum)
        check_number(owner, "dropout", self.dropout, 0.0, 1.0, open_high=True)
        check_number(owner, "temperature", self.temperature, 0.0, open_low=True)
        check_number(owner, "mask_rate", self.mask_rate, 0.0, 1.0, open_high=True)
        check_choice(owner, "joint", self.joint, JOINTS)
        for name in ("same_kg_negatives", "intra_modal", "use_lsl", "use_lsc", "impute"):
            check_bool(owner, name, getattr(self, name))
        if not isinstance(self.modalities, (tuple, list)) or not self.modalities:
            raise ValueError(f"{owner}.modalities must be a non-empty tuple of names, got {self.modalities!r}")
        for modality in self.modalities:
            check_choice(owner, "modalities", modality, MODEL_MODALITIES)
        if len(set(self.modalities)) != len(self.modalities):
            raise ValueError(f"{owner}.modalities must not repeat a modality, got {self.modalities!r}")
        if not isinstance(self.loss_weights, (tuple, list)) or len(self.loss_weights) != 4:
            raise ValueError(f"{owner}.loss_weights must be 4 numbers (lambda_1..4), got {self.loss_weights!r}")
        for weight in self.loss_weights:
            check_number(owner, "loss_weights", weight, 0.0)
        # JSON gives lists; tuples keep the frozen config hashable.
        object.__setattr__(self, "modalities", tuple(self.modalities))
        object.__setattr__(self, "loss_weights", tuple(self.loss_weights))

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation schedule; the paper uses Adam, lr 1e-3, batch 3,500, 500 base epochs."""

    epochs: int = 60
    """Training epochs (one pass over the labelled pairs each)."""
    lr: float = 1e-3
    """Adam learning rate of the base training."""
    round_lr: float = 3e-4
    """Adam learning rate of the warm-started rounds of active learning. At 1e-3 the rounds
    overfit once the model has had ~70 full-batch epochs: on FB15K237-DB15K (random, seed 1)
    Hits@1 fell from 0.582 to 0.536 over rounds 3-5 while the loss kept falling; at 3e-4 it
    rose in every round, to 0.595 (``bench/round_lr.py``)."""
    batch_size: int = 3500
    """Labelled pairs per step."""
    eval_every: int = 25
    """Evaluate on the test links every N epochs (0: only at the end)."""
    seed: int = 0
    """Seeds torch and numpy for a deterministic run."""
    device: str = field(default="auto")
    """``auto`` picks CUDA when present, else ``cpu``, ``cuda`` or ``cuda:N``."""

    def __post_init__(self) -> None:
        owner = "TrainConfig"
        for name, minimum in (("epochs", 0), ("batch_size", 1), ("eval_every", 0), ("seed", 0)):
            check_int(owner, name, getattr(self, name), minimum)
        if self.seed >= 2**32:
            raise ValueError(f"{owner}.seed must be below 2**32 (numpy's seed range), got {self.seed!r}")
        for name in ("lr", "round_lr"):
            check_number(owner, name, getattr(self, name), 0.0, open_low=True)
        if not isinstance(self.device, str) or not DEVICE_PATTERN.fullmatch(self.device):
            raise ValueError(f"{owner}.device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")

    def to_dict(self) -> dict:
        return asdict(self)
