"""Every selection strategy by name, and the one way to build a configured one."""
from __future__ import annotations

import dataclasses
from typing import Callable

from almea.config_checks import check_choice
from almea.selection.pool import CandidatePool
from almea.selection.strategies import (
    Selection,
    SelectionContext,
    degree_selection,
    ds3_selection,
    most_confident_selection,
    random_selection,
    uncertainty_selection,
)
from almea.selection.structure_uncertainty import structure_uncertainty_selection
from almea.selection.uncertain_ds3 import uncertain_ds3_selection

Strategy = Callable[[CandidatePool, SelectionContext, int], Selection]

STRATEGIES: dict[str, Strategy] = {
    "ds3": ds3_selection,
    "random": random_selection,
    "most-confident": most_confident_selection,
    "uncertainty": uncertainty_selection,
    "degree": degree_selection,
    "ds3-uncertain": uncertain_ds3_selection,
    "structure-uncertainty": structure_uncertainty_selection,
}


def strategy_parameters(name: str) -> tuple[str, ...]:
    """Names of the parameters strategy ``name`` owns (none for the plain-function baselines)."""
    check_choice("selection", "strategy", name, tuple(STRATEGIES))
    strategy = STRATEGIES[name]
    return tuple(f.name for f in dataclasses.fields(strategy)) if dataclasses.is_dataclass(strategy) else ()


def make_strategy(name: str, **parameters: object) -> Strategy:
    """Strategy ``name`` with ``parameters`` replacing its defaults, checked on the spot.

    A parameter the strategy does not own is an error rather than silently ignored, so
    ``make_strategy("random", alpha=0.5)`` or a misspelt ``alpah`` fails before any round.
    """
    known = strategy_parameters(name)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        takes = f"takes only {', '.join(known)}" if known else "takes no parameters"
        raise ValueError(f"strategy {name!r} {takes}; got unknown {', '.join(unknown)}")
    strategy = STRATEGIES[name]
    return dataclasses.replace(strategy, **parameters) if parameters else strategy
