"""Budget strings and the simulated oracle."""
from __future__ import annotations

import numpy as np
import pytest

from almea.active import Budget, GoldOracle, parse_budget


@pytest.mark.parametrize("text, budget", [
    ("15%+1%x5", Budget(0.15, 0.01, 5)),
    ("5% + 1% x 15", Budget(0.05, 0.01, 15)),
    ("20%", Budget(0.2, 0.0, 0)),
    ("2.5%+0.5%×4", Budget(0.025, 0.005, 4)),
])
def test_budgets_parse_as_in_the_paper(text: str, budget: Budget) -> None:
    parsed = parse_budget(text)
    assert (parsed.base, parsed.step, parsed.rounds) == pytest.approx((budget.base, budget.step, budget.rounds))
    assert parse_budget(str(parsed)) == parsed


def test_budget_sizes() -> None:
    budget = parse_budget("15%+1%x5")
    assert budget.total == pytest.approx(0.20)
    assert budget.batch_size(12650) == 126
    assert parse_budget("20%").batch_size(12650) == 0


@pytest.mark.parametrize("text", ["15", "15%+1%", "0%+1%x5", "15%+1%x0", "60%+10%x5", "abc"])
def test_bad_budgets_are_explained(text: str) -> None:
    with pytest.raises(ValueError, match="budget"):
        parse_budget(text)


def test_oracle_answers_from_gold_links() -> None:
    links = np.array([[0, 10], [1, 11], [2, 12]])
    oracle = GoldOracle(links)
    pairs = np.array([[0, 10], [0, 11], [2, 12], [5, 15]])
    assert oracle.answer(pairs, 1).tolist() == [True, False, True, False]
    assert GoldOracle(links, accept_all=True).answer(pairs, 1).all()


def test_oracle_error_rate_flips_that_share_reproducibly() -> None:
    links = np.stack([np.arange(5000), np.arange(5000) + 5000], axis=1)
    oracle = GoldOracle(links, error_rate=0.1, seed=3)
    answers = oracle.answer(links, round_index=2)
    assert 0.08 < 1 - answers.mean() < 0.12
    assert (oracle.answer(links, round_index=2) == answers).all()
    assert (oracle.answer(links, round_index=3) != answers).any()
    assert oracle.is_gold(links).all()
    with pytest.raises(ValueError, match="error_rate"):
        GoldOracle(links, error_rate=1.5)
