"""Model configuration with the paper's defaults (Table 9, appendix F.3; spec sections 1-5)."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from almea.config_checks import check_bool, check_choice, check_int, check_number

#: Modalities the model can encode: the graph plus every feature block (``almea.features``).
MODEL_MODALITIES = ("graph", "relation", "attribute", "value", "visual", "name")
JOINTS = ("concat", "sum")
#: Modality fusions (``almea.model.fusion``): ALMEA's global weights, MIMEA's PMF/OTMA/MCL, MPSEA's MMPF.
FUSIONS = ("global", "mimea", "mpsea")
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
    fusion: str = "global"
    """How modality embeddings become the joint one (``almea.model.fusion``): ``global`` (ALMEA,
    one weight per modality), ``mimea`` (per-entity Beta-KL weights, MIMEA section 4) or
    ``mpsea`` (per-entity cross-modal attention weights, MPSEA section 3.4)."""
    mimea_pmf: bool = True
    """MIMEA's probability-guided modal fusion (4.2); off: only the learnable prior weights remain."""
    mimea_otma: bool = True
    """MIMEA's optimal-transport modal alignment (4.3) of the uni-modal embeddings in the losses."""
    mimea_mcl: bool = True
    """MIMEA's modal-adaptive contrastive loss (4.4); off: ALMEA's joint + intra-modal InfoNCE."""
    mimea_rate: float = 0.1
    """Incremental rate lambda of w = lambda (2 - delta)^2 (MIMEA 4.2; the paper's 0.1)."""
    mimea_inner_weight: float = 0.8
    """gamma of eq. 9: weight of the inner-graph negatives (the paper's 0.8)."""
    mimea_ot_rows: int = 256
    """Rows per transport problem: the batch is cut into random groups of this size (the paper
    samples fewer rows than the embedding width)."""
    mimea_ot_epsilon: float = 0.05
    """Entropic regularisation of the Sinkhorn solve, on a cosine-distance cost in [0, 2]."""
    mimea_ot_iterations: int = 50
    """Sinkhorn iterations (log domain, fixed count: deterministic and cheap)."""
    mpsea_heads: int = 5
    """Attention heads of the cross-modal transformer (MPSEA's five); must divide ``dim``."""
    mpsea_presynergy: bool = True
    """Pre-synergistic keys/values (MPSEA eq. 6): graph and visual keys join the textual ones."""
    mpsea_rl: bool = False
    """The mutual-information-rewarded REINFORCE policy (MPSEA 3.5). Off by default: its reward
    does not depend on the action, so its expected gradient is zero, and on the synthetic pair
    (300 entities, 30% seeds, 60 epochs, seed 0) Hits@1 was 0.627 with it and 0.645 without
    (``bench/fusion.py`` variant mpsea-rl measures it on the benchmarks)."""
    mpsea_rl_threshold: float = 0.63
    """theta of eqs. 11-12, the cosine above which the joint embedding earns a reward (paper: 0.63)."""
    mpsea_rl_mi_weight: float = 0.34
    """alpha of eq. 11, the weight of the mutual-information score (paper: 0.34)."""
    mpsea_rl_penalty: float = 0.5
    """beta of eq. 12, the penalty coefficient (the paper gives no value)."""

    def __post_init__(self) -> None:
        owner = "ModelConfig"
        for name, minimum in (("dim", 1), ("gat_layers", 0), ("gat_heads", 1), ("latent_batch", 1),
                              ("mimea_ot_rows", 2), ("mimea_ot_iterations", 1), ("mpsea_heads", 1)):
            check_int(owner, name, getattr(self, name), minimum)
        check_number(owner, "dropout", self.dropout, 0.0, 1.0, open_high=True)
        check_number(owner, "temperature", self.temperature, 0.0, open_low=True)
        check_number(owner, "mask_rate", self.mask_rate, 0.0, 1.0, open_high=True)
        check_choice(owner, "joint", self.joint, JOINTS)
        check_choice(owner, "fusion", self.fusion, FUSIONS)
        for name in ("mimea_rate", "mpsea_rl_mi_weight", "mpsea_rl_penalty"):
            check_number(owner, name, getattr(self, name), 0.0)
        for name in ("mimea_inner_weight", "mimea_ot_epsilon"):
            check_number(owner, name, getattr(self, name), 0.0, open_low=True)
        check_number(owner, "mpsea_rl_threshold", self.mpsea_rl_threshold, -1.0, 1.0)
        if self.fusion == "mpsea" and self.dim % self.mpsea_heads:
            raise ValueError(f"{owner}.mpsea_heads must divide dim ({self.dim}), got {self.mpsea_heads!r}")
        for name in ("same_kg_negatives", "intra_modal", "use_lsl", "use_lsc", "impute", "mimea_pmf", "mimea_otma",
                     "mimea_mcl", "mpsea_presynergy", "mpsea_rl"):
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
