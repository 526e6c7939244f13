"""Checks that configs run in ``__post_init__``, so a typo fails at construction, not after
an hour of training. Every message names the field, what was expected and what was given."""
from __future__ import annotations

import math
import numbers
from collections.abc import Collection


def _interval(low: float | None, high: float | None, open_low: bool, open_high: bool) -> str:
    left = "(-inf" if low is None else f"{'(' if open_low else '['}{low}"
    right = "inf)" if high is None else f"{high}{')' if open_high else ']'}"
    return f"{left}, {right}"


def check_choice(owner: str, name: str, value: object, choices: Collection[object]) -> None:
    """``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{owner}.{name} must be one of {tuple(choices)}, got {value!r}")


def check_bool(owner: str, name: str, value: object) -> None:
    """``value`` is True or False (a string such as "false" would silently count as true)."""
    if not isinstance(value, bool):
        raise ValueError(f"{owner}.{name} must be True or False, got {value!r}")


def check_int(owner: str, name: str, value: object, minimum: int) -> None:
    """``value`` is an integer (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{owner}.{name} must be an integer >= {minimum}, got {value!r}")


def check_number(
    owner: str,
    name: str,
    value: object,
    low: float | None = None,
    high: float | None = None,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> None:
    """``value`` is a finite real number in the interval from ``low`` to ``high``."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if open_low else value >= low
    if ok and high is not None:
        ok = value < high if open_high else value <= high
    if not ok:
        interval = _interval(low, high, open_low, open_high)
        raise ValueError(f"{owner}.{name} must be a number in {interval}, got {value!r}")
