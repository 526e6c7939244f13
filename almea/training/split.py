"""The honest evaluation protocol (spec section 8): one fixed test set per seed.

Two ways to hold out: ``split_links`` draws test links (the paper's protocol), so every
held-out entity has a counterpart while the entities left to ask about keep all the unlinked
ones; ``split_entities`` draws KG1 entities, linked or not, so the entities a run may ask
about are a sample of the same population as those it is judged on. The second is the one
under which calibration fitted on answers can be checked against held-out gold.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SPLITS = ("links", "entities")
NO_COUNTERPART = -1
"""Target of a ``LinkSplit.blocked`` row whose held-out source has no gold link."""


@dataclass(frozen=True)
class LinkSplit:
    """Gold links split once per seed; ``pool`` is in a seeded order so budgets nest."""

    test: np.ndarray
    """(T, 2) links never used for training nor proposed by selection."""
    pool: np.ndarray
    """(P, 2) links from which base labels are drawn, in a fixed random order."""
    n_links: int
    """All gold links; budgets are fractions of this number."""
    unlinked: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """(U,) held-out KG1 entities without a gold link (only an entity split has them)."""

    @property
    def blocked(self) -> np.ndarray:
        """(T + U, 2) what selection must never ask about: the test links, then one
        ``(source, NO_COUNTERPART)`` row per unlinked held-out source."""
        rows = np.column_stack([self.unlinked, np.full(len(self.unlinked), NO_COUNTERPART)]).astype(np.int64)
        return np.concatenate([self.test.astype(np.int64).reshape(-1, 2), rows])

    def base(self, ratio: float) -> np.ndarray:
        """The first ``ratio`` x all-links pairs of the pool (a 5% base is inside a 10% base)."""
        count = int(round(ratio * self.n_links))
        if count > len(self.pool):
            raise ValueError(
                f"a {ratio:.0%} base needs {count} links but the train pool has {len(self.pool)}; "
                f"lower the test ratio"
            )
        return self.pool[:count]


def _check_ratio(test_ratio: float) -> None:
    if not 0.0 < test_ratio < 1.0:
        raise ValueError(f"test_ratio must lie in (0, 1), got {test_ratio}")


def split_links(links: np.ndarray, test_ratio: float, seed: int) -> LinkSplit:
    """Shuffle ``links`` with ``seed`` and hold out ``test_ratio`` of them as the test set."""
    _check_ratio(test_ratio)
    order = np.random.default_rng(seed).permutation(len(links))
    n_test = int(round(test_ratio * len(links)))
    return LinkSplit(test=links[order[:n_test]], pool=links[order[n_test:]], n_links=len(links))


def split_entities(links: np.ndarray, n1: int, test_ratio: float, seed: int) -> LinkSplit:
    """Hold out ``test_ratio`` of the ``n1`` KG1 entities, linked or not, drawn with ``seed``:
    the test links are the gold links of the held-out sources, the pool the others'."""
    _check_ratio(test_ratio)
    held = np.random.default_rng(seed).permutation(n1)[: int(round(test_ratio * n1))]
    links = np.asarray(links, np.int64).reshape(-1, 2)
    out = np.isin(links[:, 0], held)
    pool = links[~out]
    order = np.random.default_rng([seed, 1]).permutation(len(pool))
    return LinkSplit(test=links[out], pool=pool[order], n_links=len(links),
                     unlinked=np.setdiff1d(held, links[:, 0]))


def make_split(kind: str, links: np.ndarray, n1: int, test_ratio: float, seed: int) -> LinkSplit:
    """The ``kind`` split (one of ``SPLITS``) of ``links``."""
    if kind == "entities":
        return split_entities(links, n1, test_ratio, seed)
    if kind == "links":
        return split_links(links, test_ratio, seed)
    raise ValueError(f"split must be one of {SPLITS}, got {kind!r}")
