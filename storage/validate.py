"""Checks of the values callers pass in, so bad input fails before anything is written.

numpy scalars are accepted wherever a Python number is: proposals come straight from
selection arrays.
"""
from __future__ import annotations

import math
import operator
from collections.abc import Mapping

from storage.errors import InvalidRequestError


def text(value: object, what: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(f"{what} must be a non-empty string, got {value!r}")
    return value


def integer(value: object, what: str, minimum: int | None = None) -> int:
    """An integer (Python or numpy, not bool), at least ``minimum`` when given."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = operator.index(value)
    except TypeError:
        raise InvalidRequestError(f"{what} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise InvalidRequestError(f"{what} must be at least {minimum}, got {number}")
    return number


def optional_integer(value: object, what: str, minimum: int | None = None) -> int | None:
    return None if value is None else integer(value, what, minimum)


def optional_real(value: object, what: str) -> float | None:
    """A finite number or None."""
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidRequestError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise InvalidRequestError(f"{what} must be finite, got {number}")
    return number


def mapping(value: object, what: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise InvalidRequestError(f"{what} must be a dict, got {type(value).__name__}")
    return value


def choice(value: object, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise InvalidRequestError(f"{what} must be one of {', '.join(allowed)}; got {value!r}")
    return str(value)


def positive_real(value: object, what: str) -> float:
    """A finite number above zero."""
    number = optional_real(value, what)
    if number is None or number <= 0:
        raise InvalidRequestError(f"{what} must be a positive number, got {value!r}")
    return number
