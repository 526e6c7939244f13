"""Missing-modality strategies (almea.model.missing): one contract for zero, vae, rmmea, maco
and their combinations; real missingness only; checkpoints keep their strategy."""
from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from almea.features import FeatureConfig, build_features
from almea.model.almea import ALMEA
from almea.model.config import FEATURE_MODALITIES, MISSING_STRATEGIES, ModelConfig, TrainConfig
from almea.model.inputs import AlignmentInputs
from almea.model.missing import STRATEGY_CLASSES
from almea.model.missing.base import TrainingStep
from almea.training.pipeline import train_and_evaluate
from almea.training.trainer import Trainer, seed_everything

SMALL = ModelConfig(dim=32, latent_batch=64, rmmea_batch=64, maco_batch=128, maco_hidden=32, maco_noise_dim=8)
TERMS = {
    "zero": set(),
    "vae": {"dml", "url", "scl", "jal"},
    "rmmea": {"rmmea_rd", "rmmea_mi"},
    "maco": {"maco_d", "maco_g", "maco_con"},
}


@pytest.fixture
def inputs(demo_pair, cache_dir: Path) -> AlignmentInputs:
    features = build_features(demo_pair, FeatureConfig(value_dim=256), cache_dir=cache_dir)
    return AlignmentInputs.build(demo_pair, features, SMALL.modalities, torch.device("cpu"))


def model_of(name: str, inputs: AlignmentInputs, **changes) -> ALMEA:
    seed_everything(0)
    return ALMEA(replace(SMALL, missing=name, **changes), inputs)


def test_every_strategy_part_has_a_class() -> None:
    parts = {part for name in MISSING_STRATEGIES for part in name.split("+")}
    assert parts == set(STRATEGY_CLASSES) == {"zero", "vae", "rmmea", "maco"}


@pytest.mark.parametrize("name", MISSING_STRATEGIES)
def test_losses_are_finite_and_every_parameter_gets_a_gradient(name: str, inputs, demo_pair) -> None:
    model = model_of(name, inputs)
    terms = model.losses(inputs, torch.as_tensor(demo_pair.links[:40]))
    assert set(terms) == {"align", "intra"}.union(*(TERMS[part] for part in name.split("+")))
    assert all(torch.isfinite(t) for t in terms.values())
    sum(terms.values()).backward()
    assert [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0] == []


@pytest.mark.parametrize("name", MISSING_STRATEGIES)
def test_a_completed_row_is_never_marked_present(name: str, inputs, demo_pair) -> None:
    before = {m: p.clone() for m, p in inputs.present.items()}
    model = model_of(name, inputs)
    model.losses(inputs, torch.as_tensor(demo_pair.links[:40]))
    model.eval()
    model.embed(inputs)
    generated = model.generated_mask(inputs)
    present = torch.stack([inputs.present[m] for m in model.modalities], dim=1)
    assert all(torch.equal(inputs.present[m], before[m]) for m in before)
    assert not (generated & present).any()
    assert generated.any() == (name != "zero" and name != "rmmea")
    for part, filled in model.filled_by(inputs).items():
        assert part in name.split("+") and not (filled & present).any()


def test_maco_generates_exactly_the_missing_rows_of_entities_with_structure(inputs) -> None:
    model = model_of("maco", inputs).eval()
    filled = model.filled_by(inputs)["maco"]
    graph = inputs.present["graph"]
    for i, m in enumerate(model.modalities):
        expected = ~inputs.present[m] & graph if m in FEATURE_MODALITIES else torch.zeros_like(graph)
        assert torch.equal(filled[:, i], expected), m
    assert filled.any()
    hidden = model.encoders(inputs)
    completed = model.missing.complete(hidden, inputs.present)
    for i, m in enumerate(model.modalities):
        assert torch.equal(completed[m][~filled[:, i]], hidden[m][~filled[:, i]])
        if filled[:, i].any():
            assert not torch.allclose(completed[m][filled[:, i]], hidden[m][filled[:, i]]), m


def test_maco_completion_is_a_function_of_the_weights(inputs) -> None:
    model = model_of("maco", inputs).eval()
    state = torch.get_rng_state()
    first = model.embed(inputs)
    assert torch.equal(torch.get_rng_state(), state), "completion draws from its own generator"
    assert torch.equal(first, model.embed(inputs))


def test_maco_keeps_the_candidates_the_discriminator_accepts(inputs) -> None:
    maco = model_of("maco", inputs).missing.parts["maco"].eval()
    discriminator = maco.discriminators["value"]
    with torch.no_grad():                                   # accept a candidate iff its first coordinate > 0
        discriminator.out.weight.zero_()
        discriminator.out.weight[0, SMALL.maco_hidden] = 1.0
        discriminator.out.bias.zero_()
    structure = torch.nn.functional.normalize(torch.randn(5, SMALL.dim), dim=1)
    repeated = structure.unsqueeze(1).expand(-1, SMALL.maco_candidates, -1)
    candidates = maco.generators["value"](repeated, torch.Generator().manual_seed(0))
    pooled = maco.pooled("value", structure)
    for row in range(5):
        accepted = candidates[row][candidates[row, :, 0] > 0]
        expected = accepted.mean(dim=0) if len(accepted) else candidates[row].mean(dim=0)
        assert torch.allclose(pooled[row], expected, atol=1e-6)
    with torch.no_grad():
        discriminator.out.bias.fill_(-100.0)                # accepts none: the mean of all K
    assert torch.allclose(maco.pooled("value", structure), candidates.mean(dim=1), atol=1e-6)


def test_maco_contrastive_loss_trains_a_generator_without_real_rows_in_the_sample(inputs, demo_pair) -> None:
    """L_con (eq. 6) is over every sampled entity; only L_adv needs the complete ones."""
    model = model_of("maco", inputs)
    hidden = model.missing.complete(model.encoders(inputs), inputs.present)
    present = {**inputs.present, "value": torch.zeros_like(inputs.present["value"])}
    step = TrainingStep(hidden, present, torch.as_tensor(demo_pair.links[:40]), inputs.n1, model.join,
                        model.encoders.absent_rows())
    with_con = model.missing.parts["maco"].losses(step)["maco_con"]
    grads = torch.autograd.grad(with_con, list(model.missing.parts["maco"].generators["value"].parameters()),
                                allow_unused=True)
    assert all(g is not None and g.abs().sum() > 0 for g in grads)


def test_maco_contrastive_weight_changes_the_generator_and_the_embedding(inputs, demo_pair) -> None:
    """The ablation is wired end to end: same seed, same random draws, only alpha differs."""
    config = TrainConfig(epochs=1, batch_size=64, eval_every=0)
    runs = []
    for weight in (1.0, 0.0):
        model = model_of("maco", inputs, maco_contrastive_weight=weight)
        seed_everything(0)
        Trainer(model, inputs, config, progress=False).fit(demo_pair.links[:64])
        runs.append((model.missing.parts["maco"].generators["value"].layers[0].weight.detach().clone(),
                     model.eval().embed(inputs)))
    (g1, e1), (g0, e0) = runs
    assert not torch.equal(g1, g0)
    assert not torch.equal(e1, e0)


def test_maco_contrastive_settings_reach_the_config() -> None:
    from almea.cli.main import build_parser
    from almea.cli.train_cmd import configs

    def model_config(*extra: str) -> ModelConfig:
        return configs(build_parser().parse_args(["train", "--layout", "demo", "--missing", "maco", *extra]))[1]

    assert model_config().maco_contrastive_weight == ModelConfig.maco_contrastive_weight
    assert model_config("--no-maco-contrastive").maco_contrastive_weight == 0.0
    tuned = model_config("--maco-contrastive-weight", "1", "--maco-temperature", "0.5")
    assert (tuned.maco_contrastive_weight, tuned.maco_temperature) == (1.0, 0.5)


def test_maco_plus_vae_imputes_only_what_maco_left(inputs) -> None:
    model = model_of("maco+vae", inputs).eval()
    filled = model.filled_by(inputs)
    assert not (filled["maco"] & filled["vae"]).any()
    graph_only = model.modalities.index("graph")
    assert filled["vae"][:, graph_only].any(), "entities without structure still get the VAE's estimate"


def test_rmmea_students_lose_or_swap_only_modalities_they_have(inputs, demo_pair) -> None:
    model = model_of("rmmea", inputs, rmmea_missing_rate=1.0, rmmea_noise_rate=0.0)
    rmmea = model.missing.parts["rmmea"]
    hidden = model.encoders(inputs)
    pairs = torch.as_tensor(demo_pair.links[:60])
    anchors = torch.cat([pairs[:, 0], pairs[:, 1]])
    step = TrainingStep(hidden, inputs.present, pairs, inputs.n1, model.join, model.encoders.absent_rows())
    dropped = rmmea.student_view(step, anchors)
    for m in model.modalities:
        has = inputs.present[m][anchors]
        if m in rmmea.corrupted:
            assert torch.equal(dropped[m][has], step.absent[m].expand(int(has.sum()), -1))
        else:
            assert torch.equal(dropped[m], hidden[m][anchors])
        assert torch.equal(dropped[m][~has], hidden[m][anchors][~has])
    rmmea.config = replace(rmmea.config, rmmea_missing_rate=0.0, rmmea_noise_rate=1.0)
    swapped = rmmea.student_view(step, anchors)
    half = len(pairs)
    for m in rmmea.corrupted:
        changed = ~(swapped[m] == hidden[m][anchors]).all(dim=1)
        assert changed.any() and not changed[~inputs.present[m][anchors]].any()
        for side in (slice(0, half), slice(half, 2 * half)):            # donors come from the same KG
            own = hidden[m][anchors[side]]
            rows = swapped[m][side][changed[side]]
            assert all((own == row).all(dim=1).any() for row in rows)


def test_the_vae_strategy_gives_the_numbers_of_the_model_before_strategies(inputs, demo_pair) -> None:
    """Values recorded from the model whose VAE lived in almea.py (same seed, same data)."""
    recorded = {
        "lsc": ({"align": 3.333066701889038, "intra": 17.074323654174805, "dml": 2.224741220474243,
                 "url": 0.21573854982852936, "scl": 32.478179931640625, "jal": 0.001290548825636506},
                (66.6405123974215, 126.49999893886077)),
        "no-lsc": ({"align": 3.333066701889038, "intra": 17.074323654174805, "dml": 2.2232038974761963,
                    "url": 0.3913728892803192}, (76.80898272055458, 121.74999903404604)),
    }
    for name, (values, (total, squares)) in recorded.items():
        seed_everything(0)
        model = ALMEA(ModelConfig(dim=32, latent_batch=64, use_lsc=name == "lsc"), inputs)
        terms = model.losses(inputs, torch.as_tensor(demo_pair.links[:40]), torch.as_tensor(demo_pair.links[50:55, 1]),
                             torch.linspace(0.5, 1.0, 40))
        assert set(terms) == set(values)
        for term, value in values.items():
            assert math.isclose(terms[term].item(), value, rel_tol=1e-5), (name, term)
        embedding = model.eval().embed(inputs).double()
        assert math.isclose(embedding.sum().item(), total, rel_tol=1e-5)
        assert math.isclose(embedding.square().sum().item(), squares, rel_tol=1e-5)
    seed_everything(3)
    trainer = Trainer(ALMEA(ModelConfig(dim=32, latent_batch=64), inputs), inputs,
                      TrainConfig(epochs=3, batch_size=64, eval_every=0), progress=False)
    trainer.fit(demo_pair.links[:100])
    assert math.isclose(trainer.history.losses[-1]["scl"], 61.819942474365234, rel_tol=1e-4)
    embedding = trainer.model.eval().embed(inputs).double()
    assert math.isclose(embedding.sum().item(), -32.12274871864372, rel_tol=1e-4)


def test_a_checkpoint_from_before_strategies_loads_into_vae(inputs, tmp_path: Path) -> None:
    model = model_of("vae", inputs)
    state = {k.replace("missing.parts.vae.", ""): v for k, v in model.state_dict().items() if "_extra_state" not in k}
    assert any(k.startswith("vae.") for k in state) and any(k.startswith("latent.") for k in state)
    config = {k: v for k, v in SMALL.to_dict().items() if not k.startswith(("missing", "rmmea", "maco"))}
    trainer = Trainer(model_of("vae", inputs), inputs, TrainConfig(), progress=False)
    torch.save({"model": state, "optimizer": trainer.optimizer.state_dict(), "model_config": config, "epoch": 3},
               tmp_path / "old.pt")
    trainer.load(tmp_path / "old.pt")
    assert torch.equal(trainer.model.eval().embed(inputs), model.eval().embed(inputs))


def test_checkpoint_of_another_strategy_is_refused(inputs, demo_pair, tmp_path: Path) -> None:
    config = TrainConfig(epochs=1, batch_size=64, eval_every=0)
    trainer = Trainer(model_of("maco", inputs), inputs, config, progress=False)
    trainer.fit(demo_pair.links[:100])
    trainer.save(tmp_path / "maco.pt")
    for other in ("vae", "zero", "maco+vae"):
        refused = Trainer(model_of(other, inputs), inputs, config, progress=False)
        with pytest.raises(ValueError, match=rf"trained with missing-modality strategy 'maco', but this model uses "
                                             rf"'{re.escape(other)}': build the model with ModelConfig\(missing='maco'\)"):
            refused.load(tmp_path / "maco.pt")
    same = Trainer(model_of("maco", inputs), inputs, config, progress=False)
    same.load(tmp_path / "maco.pt")
    assert torch.equal(same.model.eval().embed(inputs), trainer.model.eval().embed(inputs))


def test_switching_the_strategy_changes_nothing_else_in_the_config() -> None:
    base = ModelConfig().to_dict()
    for name in MISSING_STRATEGIES:
        changed = {k for k, v in ModelConfig(missing=name).to_dict().items() if base[k] != v}
        assert changed == ({"missing"} if name != ModelConfig.missing else set())


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"missing": "gan"}, r"ModelConfig.missing must be one of \('zero', 'vae', 'rmmea', 'maco', "),
        ({"missing": "vae+maco"}, r"ModelConfig.missing must be one of"),
        ({"rmmea_missing_rate": 0.7, "rmmea_noise_rate": 0.5}, r"rmmea_missing_rate \+ rmmea_noise_rate must be at most 1"),
        ({"rmmea_alpha": 0.0}, r"ModelConfig.rmmea_alpha must be a number in \(0.0, inf\)"),
        ({"rmmea_modalities": ("visual", "sound")}, r"ModelConfig.rmmea_modalities must be one of"),
        ({"maco_modalities": ("graph",)}, r"ModelConfig.maco_modalities must be one of \('relation'"),
        ({"missing": "maco", "modalities": ("relation", "visual")}, r"needs the graph modality"),
        ({"maco_candidates": 0}, r"ModelConfig.maco_candidates must be an integer >= 1"),
    ],
)
def test_strategy_settings_fail_at_construction(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ModelConfig(**changes)


@pytest.mark.parametrize("name", MISSING_STRATEGIES)
def test_each_strategy_trains_on_the_synthetic_pair(name: str, demo_pair) -> None:
    result = train_and_evaluate(
        demo_pair,
        0.3,
        feature_config=FeatureConfig(value_dim=1024),
        model_config=ModelConfig(dim=64, latent_batch=128, missing=name),
        train_config=TrainConfig(epochs=60, batch_size=256, eval_every=0),
        progress=False,
    )
    chance = 1 / result.n_test
    assert result.config["model"]["missing"] == name
    assert result.final["l2r"]["hits@1"] >= 0.6 > 50 * chance
    assert result.final["r2l"]["hits@1"] >= 0.6
