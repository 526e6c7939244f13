"""Model configuration with the paper's defaults (Table 9, appendix F.3; spec sections 1-5)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


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
    """``auto`` picks CUDA when present, else CPU."""

    def to_dict(self) -> dict:
        return asdict(self)
