"""Modality fusions (almea.model.fusion): one contract for global, MIMEA and MPSEA."""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import ot
import pytest
import torch
from torch.nn import functional as F

from almea.features import FeatureConfig, build_features
from almea.model.almea import ALMEA
from almea.model.config import FUSIONS, ModelConfig, TrainConfig
from almea.model.fusion import FUSION_CLASSES
from almea.model.fusion.mimea import BETA_MAX, BETA_MIN, beta_kl, beta_parameters
from almea.model.fusion.transport import random_groups, sinkhorn, sinkhorn_kernel, sinkhorn_log, transport_to_joint
from almea.model.inputs import AlignmentInputs
from almea.training.pipeline import train_and_evaluate
from almea.training.trainer import Trainer, seed_everything

SMALL = ModelConfig(dim=32, latent_batch=64, mpsea_heads=4)
CONFIGS = {
    "global": SMALL,
    "mimea": replace(SMALL, fusion="mimea"),
    "mpsea": replace(SMALL, fusion="mpsea"),
    "mpsea-rl": replace(SMALL, fusion="mpsea", mpsea_rl=True),
}


@pytest.fixture
def inputs(demo_pair, cache_dir: Path) -> AlignmentInputs:
    features = build_features(demo_pair, FeatureConfig(value_dim=256), cache_dir=cache_dir)
    return AlignmentInputs.build(demo_pair, features, SMALL.modalities, torch.device("cpu"))


def test_every_configurable_fusion_has_a_class() -> None:
    assert tuple(FUSION_CLASSES) == FUSIONS


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_weights_sum_to_one_per_entity(name: str, inputs: AlignmentInputs) -> None:
    seed_everything(0)
    model = ALMEA(CONFIGS[name], inputs).eval()
    weights = model.entity_weights(inputs)
    assert weights.shape == (inputs.n_entities, len(model.modalities))
    assert (weights >= 0).all() and torch.allclose(weights.sum(dim=1), torch.ones(inputs.n_entities), atol=1e-5)
    assert math.isclose(sum(model.modality_weights().values()), 1.0, abs_tol=1e-5)
    if name != "global":
        assert weights.std(dim=0).max() > 0, "per-entity weights differ between entities"
        assert torch.allclose(torch.tensor(list(model.modality_weights().values())), weights.mean(dim=0), atol=1e-6)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_similarity_shares_add_up_to_the_cosine(name: str, inputs: AlignmentInputs) -> None:
    seed_everything(0)
    model = ALMEA(CONFIGS[name], inputs).eval()
    joint = F.normalize(model.embed(inputs), dim=1)
    source, target = joint[:10], joint[-10:]
    shares = model.fusion.similarity_shares(source, target)
    assert shares.shape == (10, len(model.modalities))
    assert torch.allclose(shares.sum(dim=1), (source * target).sum(dim=1), atol=1e-5)
    assert model.fusion.shares_are_exact                    # every ranked joint's block m reads modality m only
    summed = ALMEA(replace(CONFIGS[name], joint="sum"), inputs)
    assert summed.fusion.similarity_shares(source[:, : SMALL.dim], target[:, : SMALL.dim]) is None


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_losses_are_finite_and_every_parameter_gets_a_gradient(name: str, inputs, demo_pair) -> None:
    seed_everything(0)
    model = ALMEA(CONFIGS[name], inputs)
    terms = model.losses(inputs, torch.as_tensor(demo_pair.links[:40]), torch.as_tensor(demo_pair.links[50:53, 1]))
    assert all(torch.isfinite(t) for t in terms.values())
    sum(terms.values()).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


@pytest.mark.parametrize(
    "changes, expected",
    [
        (dict(fusion="mimea"), {"mcl"}),
        (dict(fusion="mimea", mimea_mcl=False), {"align", "intra"}),
        (dict(fusion="mimea", mimea_otma=False, mimea_pmf=False), {"mcl"}),
        (dict(fusion="mpsea"), {"align", "late_align", "intra", "late_intra"}),
        (dict(fusion="mpsea", mpsea_presynergy=False, intra_modal=False), {"align", "late_align"}),
        (dict(fusion="mpsea", mpsea_rl=True), {"align", "late_align", "intra", "late_intra", "rl"}),
    ],
)
def test_ablation_switches(changes: dict, expected: set, inputs, demo_pair) -> None:
    model = ALMEA(replace(SMALL, use_lsl=False, **changes), inputs)
    assert set(model.losses(inputs, torch.as_tensor(demo_pair.links[:40]))) == expected
    assert hasattr(model.fusion, "uncertainty") == (changes.get("fusion") == "mimea" and changes.get("mimea_mcl", True))
    if changes["fusion"] == "mpsea":
        assert set(model.fusion.synergy) == ({"graph"} if changes.get("mpsea_presynergy", True) else set())


def test_mpsea_ranks_the_graph_embedding_itself_and_keeps_its_late_output_its_own(inputs) -> None:
    """MPSEA 3.4.1: the graph is its own transformer, so its late output and beta_g ignore
    the other modalities; the ranked (early) joint's graph block is w_g normalize(h_g)."""
    seed_everything(0)
    fusion = ALMEA(CONFIGS["mpsea"], inputs).fusion.eval()
    mods, g, n = fusion.modalities, fusion.modalities.index("graph"), 50
    hidden = {m: torch.randn(n, SMALL.dim) for m in mods}
    others = {m: h if m == "graph" else torch.randn_like(h) for m, h in hidden.items()}
    (late, weights), (late_others, _) = fusion.late(hidden), fusion.late(others)
    assert torch.allclose(late[:, g], late_others[:, g], atol=1e-6)
    textual = [i for i, m in enumerate(mods) if m != "graph"]
    moved = fusion.late({m: torch.randn_like(h) if m == "graph" else h for m, h in hidden.items()})[0]
    assert not torch.allclose(late[:, textual], moved[:, textual])   # eq. 6: the graph informs them
    joint, fused_weights = fusion.fuse(hidden)
    block = joint.view(n, len(mods), -1)[:, g]
    assert torch.allclose(fused_weights, weights)
    assert torch.allclose(block, weights[:, g : g + 1] * F.normalize(hidden["graph"], dim=1), atol=1e-6)


def test_sinkhorn_marginals_and_plan_match_pot() -> None:
    torch.manual_seed(0)
    cost = torch.rand(7, 5, dtype=torch.float64)
    plan = sinkhorn(cost, 0.1, 500)
    assert torch.allclose(plan.sum(dim=1), torch.full((7,), 1 / 7, dtype=torch.float64), atol=1e-8)
    assert torch.allclose(plan.sum(dim=0), torch.full((5,), 1 / 5, dtype=torch.float64), atol=1e-8)
    reference = ot.sinkhorn(np.full(7, 1 / 7), np.full(5, 1 / 5), cost.numpy(), 0.1, numItermax=10000, stopThr=1e-13)
    assert np.allclose(plan.numpy(), reference, atol=1e-8)
    assert torch.allclose(sinkhorn_log(cost, 0.1, 500), sinkhorn_kernel(cost, 0.1, 500), atol=1e-10)


def test_sinkhorn_stays_finite_at_small_epsilon_and_batches() -> None:
    torch.manual_seed(0)
    cost = 2 * torch.rand(3, 16, 16)
    plan = sinkhorn(cost, 0.01, 500)                            # exp(-2 / 0.01) underflows: the log domain
    assert torch.isfinite(plan).all()
    assert torch.allclose(plan.sum(dim=-2), torch.full((3, 16), 1 / 16), atol=1e-5)
    assert torch.allclose(plan.sum(dim=-1), torch.full((3, 16), 1 / 16), atol=5e-4)
    assert torch.allclose(plan[1], sinkhorn(cost[1], 0.01, 500))


def test_transport_keeps_row_order_and_mixes_within_groups() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(10, 4), torch.randn(10, 4)
    groups = random_groups(10, 4, x.device)
    assert sorted(torch.cat([g.flatten() for g in groups]).tolist()) == list(range(10))
    assert [tuple(g.shape) for g in groups] == [(2, 4), (1, 2)]
    singletons = [torch.arange(10).view(10, 1)]
    assert torch.allclose(transport_to_joint(x, y, singletons, 0.05, 10), x)
    moved = transport_to_joint(x, 2 * x, [torch.arange(10).view(1, 10)], 0.01, 300)  # cost 0 on the diagonal
    assert torch.allclose(moved, x, atol=1e-2)


@pytest.mark.parametrize("value", [0.0, 1.0, -1.0, 1e30, -1e30, float("inf"), float("-inf")])
def test_beta_parameters_stay_finite_at_the_boundaries(value: float) -> None:
    h = torch.full((2, 8), value, requires_grad=True)
    alpha, beta = beta_parameters(h)
    assert alpha.shape == beta.shape == (2, 4)
    assert ((alpha >= BETA_MIN) & (alpha <= BETA_MAX) & (beta >= BETA_MIN) & (beta <= BETA_MAX)).all()
    pivot = beta_parameters(torch.zeros(2, 8))
    for kl in (beta_kl((alpha, beta), pivot), beta_kl(pivot, (alpha, beta))):
        assert torch.isfinite(kl).all() and (kl >= -1e-4).all()
    beta_kl((alpha, beta), pivot).sum().backward()
    assert torch.isfinite(h.grad).all()


def test_beta_kl_matches_torch_distributions() -> None:
    torch.manual_seed(0)
    p, q = beta_parameters(torch.randn(3, 10)), beta_parameters(torch.randn(3, 10))
    expected = torch.distributions.kl_divergence(torch.distributions.Beta(*p), torch.distributions.Beta(*q)).sum(1)
    assert torch.allclose(beta_kl(p, q), expected, atol=1e-5)
    assert torch.allclose(beta_kl(p, p), torch.zeros(3), atol=1e-5)


def test_pmf_weights_follow_the_kl_formula(inputs) -> None:
    seed_everything(0)
    model = ALMEA(CONFIGS["mimea"], inputs).eval()
    hidden = model.encoders(inputs)
    pivot = beta_parameters(F.normalize(hidden["graph"], dim=1))
    delta = beta_kl(beta_parameters(F.normalize(hidden["value"], dim=1)), pivot)
    logits = model.fusion.pmf_logits(hidden)
    assert torch.allclose(logits[:, model.modalities.index("value")], 0.1 * (2 - delta).square())
    assert torch.allclose(logits[:, model.modalities.index("graph")], torch.full((inputs.n_entities,), 0.4))
    expected = torch.softmax(logits + 1.0, dim=1)                              # the prior starts at 1.0
    assert torch.allclose(model.fusion.weights(hidden), expected)


def test_global_fusion_gives_the_numbers_of_the_model_before_fusions(inputs, demo_pair) -> None:
    """Values recorded from the model whose fusion lived in almea.py (same seed, same data)."""
    recorded = {
        "concat": {"align": 3.333066463470459, "intra": 17.074321746826172, "jal": 0.001290548825636506},
        "sum": {"align": 4.2233052253723145, "intra": 17.074321746826172, "jal": 0.005171315278857946},
    }
    for joint, values in recorded.items():
        seed_everything(0)
        model = ALMEA(replace(SMALL, joint=joint), inputs)
        terms = model.losses(inputs, torch.as_tensor(demo_pair.links[:40]), torch.as_tensor(demo_pair.links[50:55, 1]),
                             torch.linspace(0.5, 1.0, 40))
        for name, value in values.items():
            assert math.isclose(terms[name].item(), value, rel_tol=1e-5), (joint, name)
        hidden = model.encoders(inputs)
        pi = torch.softmax(model.fusion.modality_logits, dim=0)
        parts = [pi[i] * F.normalize(hidden[m], dim=1) for i, m in enumerate(model.modalities)]
        old = torch.cat(parts, dim=1) if joint == "concat" else torch.stack(parts).sum(0)
        assert torch.equal(model.join(hidden), old)


def test_checkpoint_of_another_fusion_is_refused(inputs, demo_pair, tmp_path: Path) -> None:
    config = TrainConfig(epochs=1, batch_size=64, eval_every=0)
    trainer = Trainer(ALMEA(CONFIGS["mimea"], inputs), inputs, config, progress=False)
    trainer.fit(demo_pair.links[:100])
    trainer.save(tmp_path / "mimea.pt")
    other = Trainer(ALMEA(SMALL, inputs), inputs, config, progress=False)
    with pytest.raises(ValueError, match=r"trained with fusion 'mimea', but this model uses fusion 'global'"):
        other.load(tmp_path / "mimea.pt")
    same = Trainer(ALMEA(CONFIGS["mimea"], inputs), inputs, config, progress=False)
    same.load(tmp_path / "mimea.pt")
    assert torch.equal(same.model.fusion.prior, trainer.model.fusion.prior)


def test_a_checkpoint_from_before_fusions_loads_into_global(inputs, tmp_path: Path) -> None:
    model = ALMEA(SMALL, inputs)
    state = {k.replace("fusion.", ""): v for k, v in model.state_dict().items()}
    state["modality_logits"] = torch.tensor([0.5, 0.1, 0.2, 0.3])
    config = {k: v for k, v in SMALL.to_dict().items() if not k.startswith(("fusion", "mimea", "mpsea"))}
    trainer = Trainer(ALMEA(SMALL, inputs), inputs, TrainConfig(), progress=False)
    torch.save({"model": state, "optimizer": trainer.optimizer.state_dict(), "model_config": config, "epoch": 3},
               tmp_path / "old.pt")
    trainer.load(tmp_path / "old.pt")
    assert torch.equal(trainer.model.fusion.modality_logits, state["modality_logits"])


@pytest.mark.parametrize("name", ["global", "mimea", "mpsea"])
def test_each_fusion_trains_on_the_synthetic_pair(name: str, demo_pair) -> None:
    result = train_and_evaluate(
        demo_pair,
        0.3,
        feature_config=FeatureConfig(value_dim=1024),
        model_config=replace(CONFIGS[name], dim=64, latent_batch=128),
        train_config=TrainConfig(epochs=60, batch_size=256, eval_every=0),
        progress=False,
    )
    chance = 1 / result.n_test
    assert result.final["l2r"]["hits@1"] >= 0.5 > 50 * chance
    assert result.final["r2l"]["hits@1"] >= 0.5


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"fusion": "meaformer"}, r"ModelConfig.fusion must be one of \('global', 'mimea', 'mpsea'\), got 'meaformer'"),
        ({"fusion": "mpsea", "dim": 32, "mpsea_heads": 5}, r"ModelConfig.mpsea_heads must divide dim \(32\), got 5"),
        ({"mimea_inner_weight": 0.0}, r"ModelConfig.mimea_inner_weight must be a number in \(0.0, inf\)"),
        ({"mimea_ot_rows": 1}, r"ModelConfig.mimea_ot_rows must be an integer >= 2"),
        ({"mpsea_rl": "yes"}, r"ModelConfig.mpsea_rl must be True or False"),
    ],
)
def test_fusion_settings_fail_at_construction(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ModelConfig(**changes)
