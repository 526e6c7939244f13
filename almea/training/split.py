"""The honest evaluation protocol (spec section 8): one fixed test set per seed."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LinkSplit:
    """Gold links split once per seed; ``pool`` is in a seeded order so budgets nest."""

    test: np.ndarray
    """(T, 2) links never used for training nor proposed by selection."""
    pool: np.ndarray
    """(P, 2) links from which base labels are drawn, in a fixed random order."""
    n_links: int
    """All gold links; budgets are fractions of this number."""

    def base(self, ratio: float) -> np.ndarray:
        """The first ``ratio`` x all-links pairs of the pool (a 5% base is inside a 10% base)."""
        count = int(round(ratio * self.n_links))
        if count > len(self.pool):
            raise ValueError(
                f"a {ratio:.0%} base needs {count} links but the train pool has {len(self.pool)}; "
                f"lower the test ratio"
            )
        return self.pool[:count]


def split_links(links: np.ndarray, test_ratio: float, seed: int) -> LinkSplit:
    """Shuffle ``links`` with ``seed`` and hold out ``test_ratio`` of them as the test set."""
    if not 0.0 < test_ratio < 1.0:
        raise ValueError(f"test_ratio must lie in (0, 1), got {test_ratio}")
    order = np.random.default_rng(seed).permutation(len(links))
    n_test = int(round(test_ratio * len(links)))
    return LinkSplit(test=links[order[:n_test]], pool=links[order[n_test:]], n_links=len(links))
