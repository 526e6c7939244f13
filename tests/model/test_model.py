"""ALMEA model: forward/backward, ablation switches, masking and imputation, checkpoints."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from almea.features import FeatureConfig, build_features
from almea.model.almea import ALMEA
from almea.model.config import ModelConfig, TrainConfig
from almea.model.inputs import AlignmentInputs
from almea.model.latent import ModalityVAE
from almea.training.trainer import Trainer, seed_everything

SMALL = ModelConfig(dim=32, latent_batch=64)


@pytest.fixture
def inputs(demo_pair, cache_dir: Path) -> AlignmentInputs:
    features = build_features(demo_pair, FeatureConfig(value_dim=256), cache_dir=cache_dir)
    return AlignmentInputs.build(demo_pair, features, SMALL.modalities, torch.device("cpu"))


def test_modalities_follow_data(inputs: AlignmentInputs) -> None:
    assert inputs.modalities == ("graph", "relation", "attribute", "value")   # no images in this pair


def test_all_losses_present_and_every_parameter_gets_a_gradient(inputs, demo_pair) -> None:
    seed_everything(0)
    model = ALMEA(SMALL, inputs)
    terms = model.losses(inputs, torch.as_tensor(demo_pair.links[:40]))
    assert set(terms) == {"align", "intra", "dml", "url", "scl", "jal"}
    assert all(torch.isfinite(t) and t >= 0 for t in terms.values())
    sum(terms.values()).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


@pytest.mark.parametrize(
    "switch, expected",
    [
        (dict(use_lsl=False), {"align", "intra"}),
        (dict(use_lsc=False), {"align", "intra", "dml", "url"}),
        (dict(intra_modal=False, use_lsl=False), {"align"}),
    ],
)
def test_ablation_switches(inputs, demo_pair, switch: dict, expected: set) -> None:
    model = ALMEA(replace(SMALL, **switch), inputs)
    assert set(model.losses(inputs, torch.as_tensor(demo_pair.links[:40]))) == expected
    assert hasattr(model.missing.parts["vae"], "vae") == switch.get("use_lsl", True)


def test_sum_joint_matches_spec_shape(inputs) -> None:
    concat = ALMEA(SMALL, inputs).embed(inputs)
    summed = ALMEA(replace(SMALL, joint="sum"), inputs).embed(inputs)
    assert concat.shape == (inputs.n_entities, 4 * 32) and summed.shape == (inputs.n_entities, 32)


def test_imputation_changes_only_missing_rows(inputs) -> None:
    seed_everything(0)
    model = ALMEA(SMALL, inputs).eval()
    hidden = model.encoders(inputs)
    imputed = model.missing.parts["vae"].impute(hidden, inputs.present)
    for m in model.modalities:
        missing = ~inputs.present[m]
        assert torch.equal(imputed[m][~missing], hidden[m][~missing])
        if missing.any():
            assert not torch.allclose(imputed[m][missing], hidden[m][missing])
    no_impute = ALMEA(replace(SMALL, impute=False), inputs).eval()
    no_impute.load_state_dict(model.state_dict())
    assert torch.equal(no_impute.embed(inputs), model.join(hidden))
    assert not torch.equal(model.embed(inputs), no_impute.embed(inputs))


def test_masked_encoding_equals_encoding_zeroed_rows() -> None:
    torch.manual_seed(0)
    vae = ModalityVAE(16)
    h = torch.randn(10, 16)
    keep = (torch.rand(10, 1) > 0.45).float()
    mu, logvar = vae.encode(h)
    fast = vae.encode_masked(mu, logvar, keep)
    slow = vae.encode(h * keep)
    assert torch.allclose(fast[0], slow[0], atol=1e-6) and torch.allclose(fast[1], slow[1], atol=1e-6)


def test_reparameterisation_is_gaussian_in_training_and_mean_in_eval() -> None:
    torch.manual_seed(0)
    vae = ModalityVAE(4)
    mu, logvar = torch.full((20000, 4), 2.0), torch.full((20000, 4), float(np.log(0.25)))
    z = vae.sample(mu, logvar)
    assert abs(float(z.mean()) - 2.0) < 0.02 and abs(float(z.std()) - 0.5) < 0.02
    assert abs(float(((z - 2.0) / 0.5).pow(4).mean()) - 3.0) < 0.15, "Gaussian kurtosis, not uniform (1.8)"
    assert torch.equal(vae.eval().sample(mu, logvar), mu)


def test_checkpoint_round_trip_and_warm_start(inputs, demo_pair, tmp_path: Path) -> None:
    seed_everything(0)
    config = TrainConfig(epochs=2, batch_size=64, eval_every=0)
    trainer = Trainer(ALMEA(SMALL, inputs), inputs, config, progress=False)
    trainer.fit(demo_pair.links[:100])
    trainer.save(tmp_path / "model.pt")
    fresh = Trainer(ALMEA(SMALL, inputs), inputs, config, progress=False)
    fresh.load(tmp_path / "model.pt")
    assert fresh.epoch == 2
    fresh.model.eval(), trainer.model.eval()
    assert torch.equal(fresh.model.embed(inputs), trainer.model.embed(inputs))
    fresh.fit(demo_pair.links[:100], epochs=1)
    assert fresh.epoch == 3


def test_each_fit_sets_its_learning_rate(inputs, demo_pair, tmp_path: Path) -> None:
    trainer = Trainer(ALMEA(SMALL, inputs), inputs, TrainConfig(epochs=1, batch_size=64, lr=1e-3), progress=False)
    trainer.fit(demo_pair.links[:100], lr=3e-4)
    assert [g["lr"] for g in trainer.optimizer.param_groups] == [3e-4]
    trainer.save(tmp_path / "model.pt")
    trainer.load(tmp_path / "model.pt")
    trainer.fit(demo_pair.links[:100])                            # not inherited from the last fit or the checkpoint
    assert [g["lr"] for g in trainer.optimizer.param_groups] == [1e-3]


def test_random_draws_while_building_features_leave_the_weights_alone(demo_pair, monkeypatch) -> None:
    """An uncached image encoder draws its own initial weights; the model's must not move."""
    from almea.training import pipeline

    def weights() -> list[torch.Tensor]:
        model, _ = pipeline.build_model(demo_pair, FeatureConfig(value_dim=256), SMALL, "cpu", seed=4)
        return [v for v in model.state_dict().values() if isinstance(v, torch.Tensor)]   # not the strategy's name

    plain = weights()
    original = pipeline.build_features
    monkeypatch.setattr(pipeline, "build_features", lambda *args: (torch.rand(1000), original(*args))[1])
    assert all(torch.equal(a, b) for a, b in zip(plain, weights(), strict=True))


def test_checkpoint_refuses_pickled_objects(inputs, tmp_path: Path) -> None:
    torch.save({"model": object()}, tmp_path / "evil.pt")
    trainer = Trainer(ALMEA(SMALL, inputs), inputs, TrainConfig(), progress=False)
    with pytest.raises(Exception, match="[Ww]eights only"):
        trainer.load(tmp_path / "evil.pt")


def test_training_is_deterministic(inputs, demo_pair) -> None:
    def run() -> np.ndarray:
        seed_everything(3)
        trainer = Trainer(ALMEA(SMALL, inputs), inputs, TrainConfig(epochs=2, batch_size=64), progress=False)
        trainer.fit(demo_pair.links[:100])
        trainer.model.eval()
        return trainer.model.embed(inputs).numpy()

    assert np.array_equal(run(), run())


def test_a_rejected_target_later_accepted_is_not_its_own_negative(inputs, demo_pair, monkeypatch) -> None:
    trainer = Trainer(ALMEA(SMALL, inputs), inputs, TrainConfig(epochs=1, batch_size=64), progress=False)
    seen = []
    monkeypatch.setattr(trainer, "_epoch", lambda pairs, negatives, weights: seen.append(negatives) or {"loss": 0.0})
    pairs = demo_pair.links[:100]
    other = demo_pair.links[100:103, 1]
    trainer.fit(pairs, hard_negatives=np.concatenate([pairs[:2, 1], other]))
    assert sorted(seen[0].tolist()) == sorted(other.tolist())
    trainer.fit(pairs, hard_negatives=pairs[:2, 1])
    assert seen[1] is None
