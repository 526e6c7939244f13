"""Key-agnostic attribute-value block (beyond the paper, spec section 1, modality a).

Attribute keys differ across KGs (Freebase ``location.geocode.latitude`` vs DBpedia ``lat``)
but the values agree: the same birth date, coordinates or population. Each literal becomes a
few tokens at several precisions, so equal values collide across KGs whatever their key
while unrelated values rarely do; tokens are hashed into buckets, IDF-weighted over both KGs
(the year 2000 or the number 0 say little) and each entity's row is L2-normalised.
"""
from __future__ import annotations

import math
import re

import numpy as np
import scipy.sparse as sp

from almea.data.kg_pair import KGPair
from almea.features.hashing import hashed_counts, tfidf_rows

_ISO_DATE = re.compile(r"^\s*(\d{3,4})-(\d{1,2})(?:-(\d{1,2}))?(?:[T\s].*)?$")
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?")
_WORD = re.compile(r"[^\W\d_]{2,}")
_YEARS = (1000, 2100)
#: Freebase stores dates as decimal years, month m of year y as y + (m - 1) / 12.
_MONTH_TOLERANCE = 1e-3
_COORDINATE_MAX = 180.0
_NUMERIC_PREFIXES = ("y:", "s2:")


def _date_tokens(year: int, month: int | None) -> list[str]:
    """Exact year, year-month, and two coarse bins (decade; year at 3 significant digits).

    The coarse bins overlap, so years one apart usually share one of them: on
    FB15K237-DB15K they lift value-only Hits@1 from 20.2 to 22.5 %.
    """
    tokens = [f"y:{year}", f"yd:{year // 10}", f"s3:{float(year):.2e}"]
    if month is not None and 1 <= month <= 12:
        tokens.append(f"ym:{year}-{month:02d}")
    return tokens


def _first_number(text: str) -> tuple[float, bool, int] | None:
    """The first number in ``text``: value, whether it has a fraction, significant digits."""
    for match in _NUMBER.finditer(text):
        token = match.group(0).replace(",", "")
        mantissa = token.lower().partition("e")[0].lstrip("+-")
        if not mantissa.strip("."):
            continue
        value = float(token)
        if math.isfinite(value):
            # Trailing zeros carry no precision we can trust ("22000", "1552.0").
            digits = mantissa.replace(".", "").strip("0")
            return value + 0.0, value != math.floor(value), len(digits)
    return None


def value_tokens(literal: str) -> list[str]:
    """Tokens of one attribute literal; equal values in different formats share tokens.

    - ISO dates (``1960-11-25``, ``1955-1-1``) and Freebase decimal years (``1960.91666667``,
      that is November 1960: the fraction is month / 12 in 5,686 of the 6,046 same-year
      decimal-year/date pairs on FB15K237-DB15K's gold links, (month - 1) / 12 in 54;
      ``bench/decimal_years.py``): year and year-month tokens plus coarse year bins.
    - Whole numbers in a plausible year range (``1970``, ``1953.0``): the year tokens, plus
      the number tokens below since they may also be counts.
    - Other numbers: the value at 2 and 3 significant digits; coordinate-like values
      (|x| <= 180 with decimals) also at 1 and 2 decimals, so ``33.216389`` and
      ``33.216388888888886`` meet; values written with at least 3 (4) significant digits
      also give their 3 (4) digit mantissa without exponent, so a unit change by a power of
      ten (Freebase km2 ``4395.2098`` vs DBpedia m2 ``4395209823.24``) still matches
      (value-only Hits@1 on FB15K237-DB15K 21.4 -> 22.5 %).
    - Text without a number: lower-cased words.
    """
    iso = _ISO_DATE.match(literal)
    if iso:
        return _date_tokens(int(iso.group(1)), int(iso.group(2)))
    parsed = _first_number(literal)
    if parsed is None:
        return [f"w:{w}" for w in _WORD.findall(literal.lower())]
    value, fractional, significant = parsed
    in_years = _YEARS[0] <= value <= _YEARS[1]
    tokens: list[str] = []
    if in_years and fractional:
        months = (value - math.floor(value)) * 12
        if abs(months - round(months)) < _MONTH_TOLERANCE and round(months) >= 1:
            return _date_tokens(int(math.floor(value)), int(round(months)))
    if in_years and not fractional:
        tokens += _date_tokens(int(value), None)
    tokens += [f"s2:{value:.1e}", f"s3:{value:.2e}"]
    if fractional and abs(value) <= _COORDINATE_MAX:
        tokens += [f"c1:{value:.1f}", f"c2:{value:.2f}"]
    if significant >= 3:
        tokens.append(f"m3:{abs(value):.2e}"[:7])
    if significant >= 4:
        tokens.append(f"m4:{abs(value):.3e}"[:8])
    return list(dict.fromkeys(tokens))


def _is_numeric(tokens: list[str]) -> bool:
    return any(t.startswith(_NUMERIC_PREFIXES) for t in tokens)


def value_block(pair: KGPair, dim: int) -> tuple[sp.csr_matrix, np.ndarray] | None:
    """(N, dim) float32 IDF-weighted, L2-normalised value tokens and (N,) presence.

    None when no literal of the pair holds a number or a date: then the block would only
    repeat the words of text literals and is left out.
    """
    if not len(pair.attr_values):
        return None
    first_seen: dict[str, int] = {}
    inverse = [first_seen.setdefault(v, len(first_seen)) for v in pair.attr_values]
    unique_tokens = [value_tokens(v) for v in first_seen]  # many entities share a literal
    if not any(_is_numeric(t) for t in unique_tokens):
        return None
    has_literal = sp.csr_matrix(
        (np.ones(len(inverse), dtype=np.float32), (pair.attr_triples[:, 0], np.asarray(inverse))),
        shape=(pair.n_entities, len(unique_tokens)),
    )
    block = tfidf_rows(sp.csr_matrix(has_literal @ hashed_counts(unique_tokens, dim)))
    return block, block.getnnz(axis=1) > 0
