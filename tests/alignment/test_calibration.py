from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from almea.alignment import Calibrator, precision_threshold, score_table


def _space(n=40, dim=12, noise=0.4, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(n, dim, generator=g)
    return torch.cat([base + noise * torch.randn(n, dim, generator=g), base]), n


def _scores(q_csls, q_margin, trained=None) -> pd.DataFrame:
    trained = np.zeros(len(q_csls), bool) if trained is None else trained
    return pd.DataFrame({"csls_quantile": q_csls, "margin_quantile": q_margin, "trained": trained})


def _sample(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    q_csls, q_margin, trained = rng.uniform(0, 1, n), rng.uniform(0, 1, n), rng.random(n) < 0.4
    logit = 5 * q_csls + 3 * q_margin - 4 + trained * (-2 + 1.5 * q_csls)
    truth = 1 / (1 + np.exp(-logit))
    return _scores(q_csls, q_margin, trained), truth, rng.random(n) < truth


def test_recovers_a_known_curve_with_its_own_slope_for_trained_pairs():
    scores, truth, accepted = _sample(6000)
    calibrator = Calibrator.fit(scores, accepted)
    grid, grid_truth, _ = _sample(500, seed=1)
    error = np.abs(calibrator.probability(grid) - grid_truth)
    assert error.mean() < 0.02 and error.max() < 0.08
    trained = grid["trained"].to_numpy()
    assert calibrator.probability(grid)[trained].mean() < calibrator.probability(grid.assign(trained=False))[trained].mean()


def test_too_few_answers_give_no_estimate_and_one_class_gives_the_smoothed_rate():
    few = Calibrator.fit(_scores(np.zeros(5), np.zeros(5)), np.ones(5, bool))
    assert not few.fitted and np.isnan(few.probability(_scores(np.zeros(3), np.zeros(3)))).all()
    accepted_only = Calibrator.fit(_scores(np.zeros(40), np.zeros(40)), np.ones(40, bool))
    assert accepted_only.fitted
    np.testing.assert_allclose(accepted_only.probability(_scores(np.zeros(2), np.zeros(2))), 41 / 42)
    assert not Calibrator.unfitted().fitted


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="trained"):
        Calibrator.fit(pd.DataFrame({"csls_quantile": np.zeros(40), "margin_quantile": np.zeros(40)}), np.ones(40, bool))


def test_quantiles_make_a_rescaled_model_read_the_same():
    """Scores of a later model that are all lifted (the drift of training) give the same
    quantiles, so the calibrated probability of the same ranking does not change."""
    emb, n1 = _space()
    table = score_table(emb, n1, np.zeros((0, 2), np.int64))
    pairs = np.stack([np.arange(10), table.top_targets[:10, 0]], axis=1)
    lifted = replace(table, best_sorted=table.best_sorted + 0.3, r_source=table.r_source - 0.15, r_target=table.r_target - 0.15)
    before, after = table.features(pairs), lifted.features(pairs)
    np.testing.assert_allclose(after["csls"], before["csls"] + 0.3, atol=1e-5)
    # a pair's own score is in the reference; float rounding may move it across itself
    np.testing.assert_allclose(after["csls_quantile"], before["csls_quantile"], atol=1.01 / len(table.best_sorted))
    assert before["csls_quantile"].between(0, 1).all()


def test_threshold_holds_the_target_precision():
    p = np.array([0.99, 0.98, 0.97, 0.9, 0.8, 0.5])
    t = precision_threshold(p, 0.95)
    kept = p[p >= t]
    assert t == 0.9 and kept.mean() >= 0.95
    assert precision_threshold(p, 0.999) == float("inf")
    assert precision_threshold(np.array([]), 0.9) == float("inf")
    with pytest.raises(ValueError, match="target precision"):
        precision_threshold(p, 1.5)
