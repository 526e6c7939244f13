"""Model and training configs refuse a bad value at construction, saying what was expected."""
from __future__ import annotations

import pytest

from almea.model.config import ModelConfig, TrainConfig


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"joint": "cat"}, r"ModelConfig.joint must be one of \('concat', 'sum'\), got 'cat'"),
        ({"dim": 0}, r"ModelConfig.dim must be an integer >= 1, got 0"),
        ({"dim": 30.5}, r"ModelConfig.dim must be an integer"),
        ({"gat_heads": 0}, r"ModelConfig.gat_heads must be an integer >= 1"),
        ({"gat_layers": -1}, r"ModelConfig.gat_layers must be an integer >= 0"),
        ({"dropout": 1.0}, r"ModelConfig.dropout must be a number in \[0.0, 1.0\), got 1.0"),
        ({"mask_rate": -0.1}, r"ModelConfig.mask_rate must be a number in \[0.0, 1.0\)"),
        ({"temperature": 0}, r"ModelConfig.temperature must be a number in \(0.0, inf\)"),
        ({"latent_batch": 0}, r"ModelConfig.latent_batch must be an integer >= 1"),
        ({"use_lsl": "false"}, r"ModelConfig.use_lsl must be True or False, got 'false'"),
        ({"modalities": ("graph", "visiual")}, r"ModelConfig.modalities must be one of .*got 'visiual'"),
        ({"modalities": "graph"}, r"ModelConfig.modalities must be a non-empty tuple"),
        ({"modalities": ()}, r"ModelConfig.modalities must be a non-empty tuple"),
        ({"modalities": ("graph", "graph")}, r"ModelConfig.modalities must not repeat"),
        ({"loss_weights": (1.0, 1.0)}, r"ModelConfig.loss_weights must be 4 numbers"),
        ({"loss_weights": (1.0, -1.0, 1.0, 1.0)}, r"ModelConfig.loss_weights must be a number in \[0.0, inf\)"),
    ],
)
def test_model_config_typos_fail_at_construction(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ModelConfig(**changes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"device": "cuda0"}, r"TrainConfig.device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'cuda0'"),
        ({"device": "gpu"}, r"TrainConfig.device must be"),
        ({"epochs": -1}, r"TrainConfig.epochs must be an integer >= 0, got -1"),
        ({"batch_size": 0}, r"TrainConfig.batch_size must be an integer >= 1"),
        ({"eval_every": 2.5}, r"TrainConfig.eval_every must be an integer >= 0"),
        ({"lr": 0.0}, r"TrainConfig.lr must be a number in \(0.0, inf\), got 0.0"),
        ({"round_lr": float("inf")}, r"TrainConfig.round_lr must be a number"),
        ({"seed": -1}, r"TrainConfig.seed must be an integer >= 0"),
        ({"seed": 2**32}, r"TrainConfig.seed must be below 2\*\*32"),
    ],
)
def test_train_config_typos_fail_at_construction(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes)


def test_valid_configs_keep_their_values() -> None:
    assert TrainConfig(device="cuda:1").device == "cuda:1"
    assert {TrainConfig(device=d).device for d in ("auto", "cpu", "cuda")} == {"auto", "cpu", "cuda"}
    config = ModelConfig(modalities=["graph", "name"], loss_weights=[1, 0.5, 0, 2], joint="sum", gat_layers=0)
    assert config.modalities == ("graph", "name") and config.loss_weights == (1, 0.5, 0, 2)
    assert hash(config) == hash(ModelConfig(modalities=("graph", "name"), loss_weights=(1, 0.5, 0, 2), joint="sum",
                                            gat_layers=0))
    assert ModelConfig() == ModelConfig(**ModelConfig().to_dict())
