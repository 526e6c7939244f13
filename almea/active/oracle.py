"""The simulated oracle (spec section 7): answers proposed pairs from gold links."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class GoldOracle:
    """Accepts a pair iff it is a gold link; ``error_rate`` flips that many answers at random.

    ``accept_all`` reproduces the paper's reference code, where nobody checks the selected
    pairs: every proposal is accepted (the error rate is then irrelevant).
    """

    links: np.ndarray
    error_rate: float = 0.0
    accept_all: bool = False
    seed: int = 0
    _gold: set[tuple[int, int]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error_rate must lie in [0, 1], got {self.error_rate}")
        self._gold = {(int(s), int(t)) for s, t in np.asarray(self.links, dtype=np.int64)}

    def is_gold(self, pairs: np.ndarray) -> np.ndarray:
        """(n,) bool: which pairs are gold links (the batch precision uses this, not the answers)."""
        return np.array([(int(s), int(t)) in self._gold for s, t in pairs], dtype=bool)

    def answer(self, pairs: np.ndarray, round_index: int) -> np.ndarray:
        """(n,) bool accept decisions; seeded per round so a resumed run answers the same."""
        if self.accept_all:
            return np.ones(len(pairs), dtype=bool)
        truth = self.is_gold(pairs)
        flips = np.random.default_rng([self.seed, round_index]).random(len(pairs)) < self.error_rate
        return truth ^ flips
