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
#: Missing-modality strategies (``almea.model.missing``) and their combinations; a combination
#: runs its parts in this order: MACO generates first, so the VAE imputes only what is left.
MISSING_STRATEGIES = ("zero", "vae", "rmmea", "maco", "rmmea+vae", "maco+vae", "maco+rmmea", "maco+rmmea+vae")
#: Modalities a strategy may complete or corrupt by default: every feature block (not the graph).
FEATURE_MODALITIES = ("relation", "attribute", "value", "visual", "name")
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
    missing: str = "vae"
    """How missing modalities are handled (``almea.model.missing``): ``zero`` (an absent
    modality keeps the encoding of its empty feature row), ``vae`` (ALMEA's LSL/LSC and
    imputation), ``rmmea`` (ranking distillation and MI estimation against corrupted views),
    ``maco`` (adversarially generated rows for missing ones), or a combination of
    ``MISSING_STRATEGIES``. The switches below marked (vae), (rmmea) or (maco) are ignored by
    strategies without that part."""
    use_lsl: bool = True
    """(vae) Latent Semantic Learning: per-modality VAE with masking (section 4)."""
    use_lsc: bool = True
    """(vae) Latent Semantic Calibration: calibration layer, latent fusion, L_SCL and L_JAL (section 5)."""
    impute: bool = True
    """(vae) At inference, replace really-missing modality embeddings by the VAE decoding (needs LSL)."""
    mask_rate: float = 0.45
    """(vae) Share of entities whose modality rows are zeroed for LSL (0.45 on FB-DB, 0.50 on FB-YAGO)."""
    latent_batch: int = 512
    """(vae) Labelled pairs per step that go through the VAE path (it costs ~10 d x d matmuls per
    entity and modality, so a sample keeps CPU steps short; the alignment loss uses all)."""
    loss_weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    """(vae) lambda_1..4 for L_SCL, L_DML, L_URL, L_JAL."""
    rmmea_modalities: tuple[str, ...] = FEATURE_MODALITIES
    """(rmmea) Modalities the student view loses or gets another entity's of (those the data
    has). All feature blocks, as the paper's "other modality-missing data"; the graph may be
    added (its absent row is zero)."""
    rmmea_missing_rate: float = 0.3
    """(rmmea) Chance that a student loses each of its present modalities (zeroed to the absent
    row, as a really-missing one). The paper gives no value."""
    rmmea_noise_rate: float = 0.2
    """(rmmea) Chance that a student's present modality is another entity's instead (noise)."""
    rmmea_alpha: float = 10.0
    """(rmmea) alpha of eq. 11: how hard sigma pushes lower-scored candidates towards 0 (> 1)."""
    rmmea_beta: float = 1.0
    """(rmmea) beta of eq. 11: sigma(0) = 1 / (1 + beta)."""
    rmmea_negatives: int = 32
    """(rmmea) Negatives sampled from the other KG per step for the candidate sets N_i (eq. 7)."""
    rmmea_batch: int = 512
    """(rmmea) Labelled pairs per step whose two entities get a student view."""
    rmmea_rd_weight: float = 0.03
    """(rmmea) Weight of L_rd (eq. 9); 0 ablates it. Eq. 9 sums rank gaps over the 1 + K
    candidates, so about 1 / (1 + K) makes it a mean gap: at 1.0 it was ~30x the alignment
    loss and on the synthetic pair (300 entities, 30% seeds, 60 epochs, seed 0) Hits@1 was
    0.590 at 1.0, 0.705 at 0.1, 0.735 at 0.03 (zero-filling: 0.729)."""
    rmmea_mi_weight: float = 1.0
    """(rmmea) Weight of L_mi (eq. 13); 0 ablates it."""
    maco_modalities: tuple[str, ...] = FEATURE_MODALITIES
    """(maco) Modalities MACO generates for entities that lack them (those the data has),
    conditioned on the graph embedding; the paper generates images only."""
    maco_noise_dim: int = 128
    """(maco) Width of the generator's Gaussian noise z (the paper's 128)."""
    maco_hidden: int = 256
    """(maco) Hidden width of the generator and the discriminator (the paper's 256)."""
    maco_candidates: int = 16
    """(maco) K generated candidates per missing row at completion (section 3.3). The paper's
    512 costs 32 generator passes per entity more at every evaluation of a CPU run."""
    maco_temperature: float = 4.0
    """(maco) tau of eq. 7 (the paper's parameter analysis finds its best near 4.0)."""
    maco_contrastive_weight: float = 0.01
    """(maco) alpha of eq. 8, the weight of L_con (the paper's best, 0.01); 0 ablates it."""
    maco_adversarial_weight: float = 1.0
    """(maco) Weight of L_adv (eq. 4) in the model's objective."""
    maco_batch: int = 512
    """(maco) Entities per step the generator and discriminator train on."""
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
                              ("mimea_ot_rows", 2), ("mimea_ot_iterations", 1), ("mpsea_heads", 1),
                              ("rmmea_negatives", 1), ("rmmea_batch", 1), ("maco_noise_dim", 1), ("maco_hidden", 1),
                              ("maco_candidates", 1), ("maco_batch", 2)):
            check_int(owner, name, getattr(self, name), minimum)
        check_number(owner, "dropout", self.dropout, 0.0, 1.0, open_high=True)
        check_number(owner, "temperature", self.temperature, 0.0, open_low=True)
        check_number(owner, "mask_rate", self.mask_rate, 0.0, 1.0, open_high=True)
        check_choice(owner, "joint", self.joint, JOINTS)
        check_choice(owner, "fusion", self.fusion, FUSIONS)
        self._check_missing(owner)
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
        for name in ("modalities", "rmmea_modalities", "maco_modalities"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "loss_weights", tuple(self.loss_weights))

    def _check_missing(self, owner: str) -> None:
        check_choice(owner, "missing", self.missing, MISSING_STRATEGIES)
        for name in ("rmmea_missing_rate", "rmmea_noise_rate"):
            check_number(owner, name, getattr(self, name), 0.0, 1.0)
        if self.rmmea_missing_rate + self.rmmea_noise_rate > 1.0:
            raise ValueError(f"{owner}.rmmea_missing_rate + rmmea_noise_rate must be at most 1, got "
                             f"{self.rmmea_missing_rate!r} + {self.rmmea_noise_rate!r}")
        for name in ("rmmea_alpha", "rmmea_beta", "maco_temperature"):
            check_number(owner, name, getattr(self, name), 0.0, open_low=True)
        for name in ("rmmea_rd_weight", "rmmea_mi_weight", "maco_contrastive_weight", "maco_adversarial_weight"):
            check_number(owner, name, getattr(self, name), 0.0)
        for name, allowed in (("rmmea_modalities", MODEL_MODALITIES), ("maco_modalities", FEATURE_MODALITIES)):
            value = getattr(self, name)
            if not isinstance(value, (tuple, list)):
                raise ValueError(f"{owner}.{name} must be a tuple of modality names, got {value!r}")
            for modality in value:
                check_choice(owner, name, modality, allowed)
        if "maco" in self.missing.split("+") and "graph" not in self.modalities:
            raise ValueError(f"{owner}.missing {self.missing!r} needs the graph modality: MACO generates "
                             f"features from the graph embedding, and modalities are {self.modalities!r}")

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
    batch_rows_above: int = 50_000
    """Above this many entities a step encodes only its batch's rows and their GAT
    neighbourhood (``almea.training.batch_rows``) instead of the whole pair, when the
    missing-modality strategy's losses read only those rows (all but rMMEA and MACO): the
    same losses and gradients, at a fraction of the cost of a 100k-per-side step. 0: every
    step. The default keeps the shared benchmarks (27k-40k entities) on the whole-pair
    step, so their earlier runs repeat exactly (the two draw dropout masks differently)."""
    eval_every: int = 25
    """Evaluate on the test links every N epochs (0: only at the end)."""
    seed: int = 0
    """Seeds torch and numpy for a deterministic run."""
    device: str = field(default="auto")
    """``auto`` picks CUDA when present, else ``cpu``, ``cuda`` or ``cuda:N``."""

    def __post_init__(self) -> None:
        owner = "TrainConfig"
        for name, minimum in (("epochs", 0), ("batch_size", 1), ("batch_rows_above", 0), ("eval_every", 0), ("seed", 0)):
            check_int(owner, name, getattr(self, name), minimum)
        if self.seed >= 2**32:
            raise ValueError(f"{owner}.seed must be below 2**32 (numpy's seed range), got {self.seed!r}")
        for name in ("lr", "round_lr"):
            check_number(owner, name, getattr(self, name), 0.0, open_low=True)
        if not isinstance(self.device, str) or not DEVICE_PATTERN.fullmatch(self.device):
            raise ValueError(f"{owner}.device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")

    def to_dict(self) -> dict:
        return asdict(self)
