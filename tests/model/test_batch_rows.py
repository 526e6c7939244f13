"""A step on its batch's rows (``AlignmentInputs.batch``, ``almea.training.batch_rows``) gives
the whole-pair step's embeddings, losses and gradients."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from almea.features import FeatureConfig, build_features
from almea.model.almea import ALMEA
from almea.model.config import ModelConfig, TrainConfig
from almea.model.inputs import AlignmentInputs
from almea.training.batch_rows import batch_inputs
from almea.training.trainer import Trainer, seed_everything

SMALL = ModelConfig(dim=32, latent_batch=64, dropout=0.0, missing="zero")


@pytest.fixture
def inputs(demo_pair, cache_dir: Path) -> AlignmentInputs:
    features = build_features(demo_pair, FeatureConfig(value_dim=256), cache_dir=cache_dir)
    return AlignmentInputs.build(demo_pair, features, SMALL.modalities, torch.device("cpu"))


def gradients(model: ALMEA) -> dict[str, torch.Tensor]:
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


def test_a_batch_encodes_its_rows_as_the_whole_pair_does(inputs, demo_pair) -> None:
    seed_everything(0)
    model = ALMEA(SMALL, inputs).train()
    rows = torch.unique(torch.as_tensor(demo_pair.links[:40]).flatten())
    whole = model.encoders(inputs)
    batch = inputs.batch(rows, SMALL.gat_layers)
    part = model.encoders(batch)
    assert batch.n_entities == len(rows) and batch.n1 == int((rows < inputs.n1).sum())
    assert len(batch.nodes) < inputs.n_entities                     # a neighbourhood, not the whole graph
    for modality in model.modalities:
        torch.testing.assert_close(part[modality], whole[modality][rows], atol=1e-5, rtol=1e-5)


def test_a_batch_step_has_the_whole_steps_losses_and_gradients(inputs, demo_pair) -> None:
    seed_everything(0)
    model = ALMEA(SMALL, inputs).train()
    pairs = torch.as_tensor(demo_pair.links[:60])
    negatives = torch.as_tensor(demo_pair.links[60:70, 1])
    whole = model.losses(inputs, pairs, negatives)
    sum(whole.values()).backward()
    expected = gradients(model)
    model.zero_grad(set_to_none=True)
    local_inputs, local_pairs, local_negatives = batch_inputs(inputs, pairs, negatives, SMALL.gat_layers)
    part = model.losses(local_inputs, local_pairs, local_negatives)
    sum(part.values()).backward()
    assert part.keys() == whole.keys()
    for name in whole:
        torch.testing.assert_close(part[name], whole[name], atol=1e-5, rtol=1e-5)
    found = gradients(model)
    assert found.keys() == expected.keys()
    for name, grad in expected.items():
        torch.testing.assert_close(found[name], grad, atol=1e-5, rtol=1e-3)   # float32 sums in another order


@pytest.mark.parametrize(("missing", "above", "expected"), [
    ("vae", 0, True), ("zero", 0, True), ("rmmea", 0, False), ("maco+vae", 0, False), ("vae", 10**9, False),
])
def test_the_trainer_encodes_batch_rows_above_the_size_and_where_the_losses_allow(
    inputs, missing, above, expected
) -> None:
    seed_everything(0)
    model = ALMEA(replace(SMALL, missing=missing), inputs)
    trainer = Trainer(model, inputs, TrainConfig(batch_rows_above=above, eval_every=0), progress=False)
    assert trainer.encodes_batch_rows is expected


def test_training_on_batch_rows_learns(inputs, demo_pair) -> None:
    seed_everything(0)
    model = ALMEA(replace(SMALL, missing="vae"), inputs)
    trainer = Trainer(model, inputs, TrainConfig(batch_rows_above=0, eval_every=0, batch_size=64), progress=False)
    history = trainer.fit(demo_pair.links[:150], epochs=15)
    losses = [sum(terms.values()) for terms in history.losses]
    assert losses[-1] < 0.8 * losses[0]
    assert trainer.evaluate(demo_pair.links[150:])["l2r"]["hits@1"] > 0.3
