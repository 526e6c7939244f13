import numpy as np
import pytest

from almea.alignment import Calibrator, precision_threshold


def _sample(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    csls = rng.uniform(-0.2, 0.8, n)
    margin = rng.uniform(0.0, 0.4, n)
    truth = 1 / (1 + np.exp(-(8 * csls + 10 * margin - 3)))
    return csls, margin, truth, rng.random(n) < truth


def test_recovers_a_known_curve():
    csls, margin, truth, accepted = _sample(4000)
    calibrator = Calibrator.fit(csls, margin, accepted)
    grid_csls, grid_margin, grid_truth, _ = _sample(500, seed=1)
    error = np.abs(calibrator.probability(grid_csls, grid_margin) - grid_truth)
    assert error.mean() < 0.02 and error.max() < 0.08


def test_too_few_answers_give_no_estimate_and_one_class_gives_the_smoothed_rate():
    few = Calibrator.fit(np.zeros(5), np.zeros(5), np.ones(5, bool))
    assert not few.fitted and np.isnan(few.probability(np.zeros(3), np.zeros(3))).all()
    accepted_only = Calibrator.fit(np.zeros(40), np.zeros(40), np.ones(40, bool))
    assert accepted_only.fitted
    np.testing.assert_allclose(accepted_only.probability(np.zeros(2), np.zeros(2)), 41 / 42)


def test_infinite_margins_are_capped_not_nan():
    csls, margin, _, accepted = _sample(200)
    calibrator = Calibrator.fit(csls, margin, accepted)
    p = calibrator.probability(np.array([0.5]), np.array([np.inf]))
    assert np.isfinite(p).all() and p[0] > 0.9


def test_threshold_holds_the_target_precision():
    p = np.array([0.99, 0.98, 0.97, 0.9, 0.8, 0.5])
    t = precision_threshold(p, 0.95)
    kept = p[p >= t]
    assert t == 0.9 and kept.mean() >= 0.95
    assert precision_threshold(p, 0.999) == float("inf")
    assert precision_threshold(np.array([]), 0.9) == float("inf")
    with pytest.raises(ValueError, match="target precision"):
        precision_threshold(p, 1.5)
