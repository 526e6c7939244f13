"""What an annotator sees of one proposed pair: both entities side by side (issue: the app).

Built from per-entity indexes computed once per dataset, so rendering the next pair costs
a few array slices, not a scan of the triples.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from almea.data.kg_pair import KGPair
from almea.features.values import value_tokens
from almea.model.missing import STRATEGY_CLASSES

WEAK_TOKENS = ("yd:", "s2:", "c1:", "m3:")
"""Coarse value tokens (decade, 2 significant digits, ...) too loose to call two values equal."""
MAX_NEIGHBOURS = 30


def _strong_tokens(literal: str) -> frozenset[str]:
    return frozenset(t for t in value_tokens(literal) if not t.startswith(WEAK_TOKENS))


def _tokens_match(a: frozenset[str], b: frozenset[str], left: str, right: str) -> bool:
    """``values_match`` on tokens computed once per value (attribute tables compare all pairs)."""
    dates_a, dates_b = {t for t in a if t.startswith("y")}, {t for t in b if t.startswith("y")}
    if dates_a and dates_b:                       # two dates: the same month, else the same year
        months_a, months_b = {t for t in dates_a if t.startswith("ym:")}, {t for t in dates_b if t.startswith("ym:")}
        return bool(months_a & months_b) if months_a and months_b else bool(dates_a & dates_b)
    if not a or not b:
        return left.strip().lower() == right.strip().lower()
    if all(t.startswith("w:") for t in a | b):
        return len(a & b) / len(a | b) >= 0.5
    return bool(a & b)


def values_match(left: str, right: str) -> bool:
    """Whether two literals state the same value in possibly different formats (dates,
    units by powers of ten, rounding), or share most of their words."""
    return _tokens_match(_strong_tokens(left), _strong_tokens(right), left, right)


def local_name(uri: str) -> str:
    """The readable tail of a URI or key: ``http://dbpedia.org/resource/Paris`` -> ``Paris``."""
    if uri.startswith("/m/"):
        return uri                                          # a Freebase mid has no readable tail
    tail = uri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    return tail.replace("_", " ") or uri


def _csr(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(order, offsets) so rows of entity e are order[offsets[e]:offsets[e + 1]]."""
    order = np.argsort(keys, kind="stable")
    offsets = np.concatenate([[0], np.cumsum(np.bincount(keys, minlength=n))])
    return order, offsets


class EntityIndex:
    """Attribute rows and neighbours of every entity of a pair, for O(degree) lookups."""

    def __init__(self, pair: KGPair) -> None:
        self.pair = pair
        n = pair.n_entities
        self._attr_order, self._attr_offsets = _csr(pair.attr_triples[:, 0], n)
        triples = pair.rel_triples
        ends = np.concatenate([triples[:, 0], triples[:, 2]])
        self._edges = np.concatenate([triples[:, [0, 1, 2]], triples[:, [2, 1, 0]]])   # (2T, 3) from-rel-to
        self._outgoing = np.concatenate([np.ones(len(triples), bool), np.zeros(len(triples), bool)])
        self._edge_order, self._edge_offsets = _csr(ends, n)

    def label(self, entity: int) -> str:
        names = self.pair.names
        name = names[entity] if names is not None else None
        return name or local_name(self.pair.entities[entity])

    def image(self, entity: int) -> Path | None:
        paths = self.pair.image_paths
        return paths[entity] if paths is not None else None

    def attributes(self, entity: int) -> list[tuple[str, str]]:
        rows = self._attr_order[self._attr_offsets[entity] : self._attr_offsets[entity + 1]]
        keys, values = self.pair.attr_keys, self.pair.attr_values
        return [(keys[self.pair.attr_triples[r, 1]], values[r]) for r in rows]

    def neighbours(self, entity: int) -> list[tuple[str, int, bool]]:
        """(relation, neighbour, outgoing) of every triple the entity is in."""
        rows = self._edge_order[self._edge_offsets[entity] : self._edge_offsets[entity + 1]]
        relations = self.pair.relations
        return [(relations[self._edges[r, 1]], int(self._edges[r, 2]), bool(self._outgoing[r])) for r in rows]


@dataclass(frozen=True)
class Neighbour:
    relation: str
    label: str
    outgoing: bool
    aligned_with: str | None
    """Label of its counterpart when it is already aligned (seed or accepted)."""
    aligned_here: bool
    """True when that counterpart is also a neighbour of the other entity of the pair."""


@dataclass(frozen=True)
class EntitySide:
    entity: int
    uri: str
    label: str
    image: Path | None
    neighbours: list[Neighbour]
    n_neighbours: int


@dataclass(frozen=True)
class AttributeRow:
    """One line of the aligned attribute table; either side may be empty."""

    source_key: str
    source_value: str
    target_key: str
    target_value: str
    match: bool


@dataclass(frozen=True)
class PairView:
    source: EntitySide
    target: EntitySide
    attributes: list[AttributeRow]
    shared_aligned_neighbours: int
    evidence: dict = field(default_factory=dict)

    @property
    def shares_exact(self) -> bool:
        """Whether the evidence's modality shares are each modality's own term of the cosine
        (``Fusion.shares_are_exact``). Records written before the flag existed came from the
        global fusion, whose shares are exact."""
        return bool(self.evidence.get("shares_exact", True))

    @property
    def completion(self) -> dict[str, str]:
        """Each imputed modality (missing on one side) -> what stands in for it, in the Label
        page's words ("generated by MACO"). Records written before the strategies existed came
        from the VAE, the only one then."""
        imputed = self.evidence.get("imputed", [])
        if "filled" not in self.evidence:
            return {m: STRATEGY_CLASSES["vae"].label for m in imputed}
        filled = self.evidence["filled"]
        return {m: STRATEGY_CLASSES[filled[m]].label if m in filled else "left empty" for m in imputed}


def _align_attributes(left: list[tuple[str, str]], right: list[tuple[str, str]]) -> list[AttributeRow]:
    """Matching values first (whatever their keys), then equal key names, then the rest."""
    rows, used = [], set()
    unmatched = []
    right_tokens = [_strong_tokens(v) for _, v in right]
    for key, value in left:
        tokens = _strong_tokens(value)
        partner = next((j for j, (_, v) in enumerate(right)
                        if j not in used and _tokens_match(tokens, right_tokens[j], value, v)), None)
        if partner is None:
            unmatched.append((key, value))
            continue
        used.add(partner)
        rows.append(AttributeRow(local_name(key), value, local_name(right[partner][0]), right[partner][1], True))
    for key, value in unmatched:
        partner = next((j for j, (k, _) in enumerate(right) if j not in used and local_name(k).lower() == local_name(key).lower()), None)
        if partner is None:
            rows.append(AttributeRow(local_name(key), value, "", "", False))
        else:
            used.add(partner)
            rows.append(AttributeRow(local_name(key), value, local_name(right[partner][0]), right[partner][1], False))
    rows += [AttributeRow("", "", local_name(k), v, False) for j, (k, v) in enumerate(right) if j not in used]
    return rows


def _side(index: EntityIndex, entity: int, aligned: dict[int, int], other_neighbours: set[int]) -> EntitySide:
    found = index.neighbours(entity)
    shown = []
    for relation, neighbour, outgoing in found:
        partner = aligned.get(neighbour)
        shown.append(Neighbour(
            relation=local_name(relation),
            label=index.label(neighbour),
            outgoing=outgoing,
            aligned_with=None if partner is None else index.label(partner),
            aligned_here=partner is not None and partner in other_neighbours,
        ))
    shown.sort(key=lambda n: (not n.aligned_here, n.aligned_with is None))
    return EntitySide(entity, index.pair.entities[entity], index.label(entity), index.image(entity), shown[:MAX_NEIGHBOURS], len(found))


def pair_view(index: EntityIndex, source: int, target: int, aligned: dict[int, int], evidence: dict | None = None) -> PairView:
    """Both entities with aligned attributes and neighbours; ``aligned`` maps every already
    aligned entity (either KG) to its counterpart. Aligned neighbours come first."""
    source_neighbours = {n for _, n, _ in index.neighbours(source)}
    target_neighbours = {n for _, n, _ in index.neighbours(target)}
    left = _side(index, source, aligned, target_neighbours)
    right = _side(index, target, aligned, source_neighbours)
    shared = sum(1 for n in source_neighbours if aligned.get(n) in target_neighbours)
    attributes = _align_attributes(index.attributes(source), index.attributes(target))
    return PairView(left, right, attributes, shared, evidence or {})
