"""Selection and learner configs refuse typos at construction; the CLI says so before loading data."""
from __future__ import annotations

import pytest

from almea.active import LearnerConfig, SelectionConfig
from almea.cli.main import build_parser, main
from almea.cli.simulate_cmd import simulation_configs


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"strategy": "ds-3"}, r"SelectionConfig.strategy must be one of \('ds3', 'random'.*got 'ds-3'"),
        ({"solver": "cvx"}, r"ds3.solver must be one of \('admm', 'cvxpy'\), got 'cvx'"),
        ({"alpha": -0.35}, r"ds3.alpha must be a number in \(0.0, inf\), got -0.35"),
        ({"sigma": 0.9}, r"ds3.sigma must be a number in \[1.0, inf\)"),
        ({"use_diversity": "False"}, r"ds3.use_diversity must be True or False"),
        ({"k_max": 0}, r"SelectionConfig.k_max must be an integer >= 1, got 0"),
        ({"csls_k": 2.0}, r"SelectionConfig.csls_k must be an integer >= 1, got 2.0"),
    ],
)
def test_selection_config_typos_fail_at_construction(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SelectionConfig(**changes)


def test_ds3_parameters_are_checked_whatever_the_default_strategy() -> None:
    # A run may switch to DS3 (the app compares it with and without diversity), so its
    # parameters must be valid even when the default strategy is a baseline.
    with pytest.raises(ValueError, match="ds3.solver"):
        SelectionConfig(strategy="random", solver="magic")
    config = SelectionConfig(strategy="random", alpha=0.5, use_diversity=False)
    assert config.parameters("ds3") == {"alpha": 0.5, "sigma": 3.0, "use_diversity": False, "solver": "admm"}
    assert config.parameters("random") == {}


def test_stored_learner_config_with_an_unknown_key_is_refused() -> None:
    stored = LearnerConfig().to_dict()
    assert LearnerConfig.from_dict(stored) == LearnerConfig()
    stored["train"]["epoch"] = 10
    with pytest.raises(ValueError, match=r"unknown train settings \['epoch'\]; TrainConfig has \['epochs'"):
        LearnerConfig.from_dict(stored)
    with pytest.raises(ValueError, match=r"LearnerConfig.model must be a ModelConfig, got dict"):
        LearnerConfig(model={"dim": 3})


def test_simulate_flags_reach_the_ds3_parameters() -> None:
    args = build_parser().parse_args([
        "simulate", "--layout", "demo", "--strategy", "ds3", "random", "--seeds", "1",
        "--alpha", "0.5", "--k-max", "300", "--no-diversity", "--solver", "cvxpy",
    ])
    selections = [config.learner.selection for config in simulation_configs(args)]
    assert [s.strategy for s in selections] == ["ds3", "random"]
    assert all(s.parameters("ds3") == {"alpha": 0.5, "sigma": 3.0, "use_diversity": False, "solver": "cvxpy"}
               and s.k_max == 300 for s in selections)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--device", "cuda0"], "TrainConfig.device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'cuda0'"),
        (["simulate", "--alpha", "0"], "ds3.alpha must be a number in (0.0, inf), got 0.0"),
        (["simulate", "--k-max", "0"], "SelectionConfig.k_max must be an integer >= 1, got 0"),
    ],
)
def test_cli_reports_a_bad_setting_before_loading_data(argv, message, tmp_path, capsys) -> None:
    missing = tmp_path / "no-such-dataset"                # never opened: the configs fail first
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--data", str(missing), "--layout", "openea"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"
