"""Seeded synthetic multi-modal KG pair: the embedded demo, the test fixture, the scale probe.

A hidden world of typed entities with numeric attributes, skewed typed relations and a
picture each is seen through two noisy views mimicking FB15K-DB15K: view 1 speaks Freebase
(MIDs, no names, decimal-year dates), view 2 DBpedia (URIs carrying names, ISO dates, other
units). Entities both views see are the gold links. One seed gives byte-identical files.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from almea.data.kg_pair import KGPair
from almea.data.synthetic_images import copy_pictures, draw_views, swap_pictures

TYPES: tuple[str, ...] = ("person", "city", "country", "film", "organisation", "band")
PERSON, CITY, COUNTRY, FILM, ORGANISATION, BAND = range(len(TYPES))
_TYPE_SHARES = np.array([0.45, 0.15, 0.02, 0.20, 0.10, 0.08])
_POPULARITY_EXPONENT = 0.8  # Zipf tail: a few hub cities, countries and stars take many edges
_DBO = "http://dbpedia.org/ontology/"
DBPEDIA_RESOURCE = "http://dbpedia.org/resource/"
_MID_ALPHABET = np.frombuffer(b"0123456789bcdfghjklmnpqrstvwxyz_", dtype=np.uint8)
_SYLLABLES = np.array([o + v for o in "b d f g k l m n p r s t v z".split() + ["br", "tr", "st", "sh"]
                       for v in ("a", "e", "i", "o", "u", "ar", "en", "ol")])
_NAME_FORMS = ("{} {}", "{}", "{}ia", "The {} {}", "{} Group", "The {}s")  # per type, in TYPES order


@dataclass(frozen=True)
class DemoConfig:
    """Size, noise and seed of the synthetic pair; validated on construction."""

    n_entities: int = 400
    """Entities in the hidden world (at least 10)."""
    overlap: float = 0.8
    """Share of world entities seen by both views: the gold 1-to-1 links (less the rare entity
    whose every triple one view dropped, since an entity without triples cannot exist in a view)."""
    dangling: float = 0.1
    """Extra share of world entities seen by one view only, split evenly (KG2 gets the odd one)."""
    triple_drop: float = 0.15
    """Share of relation and attribute triples each view drops, independently per view."""
    missing_images: tuple[float, float] = (0.05, 0.20)
    """Share of KG1's, then KG2's, entities without a picture (exact up to rounding)."""
    swapped_images: float = 0.0
    """Share of each view's pictured entities shown another one's picture (noisy images, as
    rMMEA's noise setting), passed round among the chosen; missing pictures stay missing."""
    value_noise: float = 0.01
    """Relative (log-normal) perturbation of view 2's measured quantities; dates stay exact."""
    images: bool = True
    """Draw PNG pictures; turn off for 100k-scale benchmarks."""
    image_size: int = 64
    """Side of the square pictures in pixels."""
    seed: int = 0
    """Seed of ``numpy.random.default_rng``; the only source of randomness."""

    def __post_init__(self) -> None:
        _check("n_entities", self.n_entities, "an integer >= 10", numbers.Integral, 10)
        for name in ("overlap", "dangling", "value_noise", "swapped_images"):
            _check(name, getattr(self, name), "a number in [0, 1]", numbers.Real, 0, 1)
        _check("triple_drop", self.triple_drop, "a number in [0, 1)", numbers.Real, 0, 1, open_high=True)
        _check("overlap + dangling", self.overlap + self.dangling, "in (0, 1]", numbers.Real, 0, 1, open_low=True)
        if len(self.missing_images) != 2:
            raise ValueError(f"DemoConfig.missing_images must be a pair (KG1, KG2), got {self.missing_images!r}")
        for rate in self.missing_images:
            _check("missing_images", rate, "a pair of numbers in [0, 1]", numbers.Real, 0, 1)
        _check("image_size", self.image_size, "an integer in [16, 1024]", numbers.Integral, 16, 1024)
        _check("seed", self.seed, "an integer >= 0", numbers.Integral, 0)


def _check(name: str, value: object, allowed: str, kind: type, low: float, high: float = np.inf,
           open_low: bool = False, open_high: bool = False) -> None:
    ok = isinstance(value, kind) and not isinstance(value, bool)
    ok = ok and (value > low if open_low else value >= low) and (value < high if open_high else value <= high)
    if not ok:
        raise ValueError(f"DemoConfig.{name} must be {allowed}, got {value!r}")


class _Relation(NamedTuple):
    """A world relation and its Freebase and DBpedia-ontology names; ``flip`` stores it tail -> head there."""

    head: int
    tail: int
    p_any: float  # share of head entities having at least one such edge
    extra: float  # Poisson mean of further edges per head having one
    fb: str
    db: str
    flip_fb: bool = False
    flip_db: bool = False


_RELATIONS: tuple[_Relation, ...] = (
    _Relation(PERSON, CITY, 0.9, 0.0, "/people/person/place_of_birth", "birthPlace"),
    _Relation(PERSON, CITY, 0.25, 0.0, "/people/deceased_person/place_of_death", "deathPlace"),
    _Relation(PERSON, COUNTRY, 0.8, 0.0, "/people/person/nationality", "nationality"),
    _Relation(PERSON, ORGANISATION, 0.3, 0.2,
              "/people/person/employment_history./business/employment_tenure/company", "employer"),
    _Relation(PERSON, BAND, 0.15, 0.1, "/music/group_member/membership./music/group_membership/group", "bandMember",
              flip_db=True),
    # DBpedia reuses ``country`` for places and films; Freebase stores containment downwards.
    _Relation(CITY, COUNTRY, 1.0, 0.0, "/location/location/contains", "country", flip_fb=True),
    _Relation(FILM, PERSON, 1.0, 0.1, "/film/film/directed_by", "director"),
    _Relation(FILM, PERSON, 0.95, 2.5, "/film/film/starring./film/performance/actor", "starring"),
    _Relation(FILM, ORGANISATION, 0.7, 0.2, "/film/film/production_companies", "studio"),
    _Relation(FILM, COUNTRY, 0.8, 0.0, "/film/film/country", "country"),
    _Relation(ORGANISATION, CITY, 1.0, 0.0, "/organization/organization/headquarters./location/mailing_address/citytown",
              "locationCity"),
    _Relation(BAND, CITY, 1.0, 0.0, "/music/artist/origin", "hometown"),
    _Relation(BAND, ORGANISATION, 0.6, 0.3, "/music/artist/label", "recordLabel"),
    # Capitals are derived (one located city per country), not sampled, so they stay consistent.
    _Relation(COUNTRY, CITY, 0.0, 0.0, "/location/country/capital", "capital"),
)
_LOCATED_IN = next(i for i, r in enumerate(_RELATIONS) if (r.head, r.tail) == (CITY, COUNTRY))


class _Key(NamedTuple):
    """An attribute key in both vocabularies, with view 2's unit and rounding."""

    fb: str
    db: str
    kind: str  # "date": ISO date in view 2, "year": year only, "float", "count": integer
    db_scale: float = 1.0
    decimals: int = 8


_KEYS: dict[str, _Key] = {
    "birth": _Key("people.person.date_of_birth", "birthDate", "date"),
    "death": _Key("people.deceased_person.date_of_death", "deathDate", "date"),
    "height": _Key("people.person.height_meters", "height", "float", decimals=4),
    "latitude": _Key("location.geocode.latitude", "lat", "float", decimals=6),
    "longitude": _Key("location.geocode.longitude", "long", "float", decimals=6),
    "population": _Key("topic_server.population_number", "populationTotal", "count"),
    "area": _Key("location.location.area", "areaTotal", "float", 1e6, 3),  # km2 vs m2
    "city_founded": _Key("location.dated_location.date_founded", "foundingDate", "date"),
    "release": _Key("film.film.initial_release_date", "releaseDate", "date"),
    "runtime": _Key("film.film.runtime", "runtime", "float", 60.0, 1),  # minutes vs seconds
    "budget": _Key("film.film.estimated_budget", "budget", "float", decimals=0),
    "org_founded": _Key("organization.organization.date_founded", "foundingYear", "year"),
    "active_start": _Key("music.artist.active_start", "activeYearsStartYear", "year"),
}
_KEY_NAMES = tuple(_KEYS)

# (type, key, share present, distribution, a, b); "lifespan" adds a..b years to the birth date.
_ATTRIBUTE_SPECS = (
    (PERSON, "birth", 1.0, "date", 1900, 2000), (PERSON, "death", 0.5, "lifespan", 40, 95),
    (PERSON, "height", 0.6, "normal", 1.75, 0.09),
    (CITY, "latitude", 1.0, "uniform", -55, 70), (CITY, "longitude", 1.0, "uniform", -180, 180),
    (CITY, "population", 0.9, "lognormal", 11, 1.5), (CITY, "area", 0.7, "lognormal", 5, 1.2),
    (CITY, "city_founded", 0.4, "date", 1100, 1950),
    (COUNTRY, "latitude", 1.0, "uniform", -55, 70), (COUNTRY, "longitude", 1.0, "uniform", -180, 180),
    (COUNTRY, "population", 1.0, "lognormal", 16, 1.5), (COUNTRY, "area", 1.0, "lognormal", 11, 1.5),
    (FILM, "release", 1.0, "date", 1920, 2020), (FILM, "runtime", 0.8, "lognormal", 4.65, 0.18),
    (FILM, "budget", 0.5, "lognormal", 16.5, 1.0),
    (ORGANISATION, "org_founded", 1.0, "date", 1800, 2015), (BAND, "active_start", 1.0, "date", 1950, 2020),
)


@dataclass(frozen=True)
class _World:
    """The hidden ground truth; arrays indexed by world entity id."""

    types: np.ndarray  # (N,) int
    names: np.ndarray  # (N,) str, unique
    mids: np.ndarray  # (N,) str, unique Freebase-style ids
    rel: np.ndarray  # (T, 3) int64: head, index into _RELATIONS, tail
    attr: np.ndarray  # (A, 2) int64: entity, index into _KEY_NAMES
    values: np.ndarray  # (A,) float64; dates as days since 1970-01-01


def _words(rng: np.random.Generator, n: int) -> np.ndarray:
    """Pronounceable capitalised words of two or three syllables."""
    syllables = _SYLLABLES[rng.integers(0, len(_SYLLABLES), size=(n, 3))]
    syllables[:, 2] = np.where(rng.random(n) < 0.5, syllables[:, 2], "")
    return np.char.capitalize(np.char.add(np.char.add(syllables[:, 0], syllables[:, 1]), syllables[:, 2]))


def _typed_names(rng: np.random.Generator, types: np.ndarray) -> np.ndarray:
    first, second = _words(rng, len(types)).tolist(), _words(rng, len(types)).tolist()
    return np.array([_NAME_FORMS[t].format(a, b) for t, a, b in zip(types.tolist(), first, second)], dtype=object)


def _unique_names(rng: np.random.Generator, types: np.ndarray) -> np.ndarray:
    """Names for every entity, redrawing clashes until all are distinct (few rounds)."""
    names = _typed_names(rng, types)  # object dtype: a redrawn name may be longer than the old one
    while True:
        _, first = np.unique(names, return_index=True)
        clash = np.setdiff1d(np.arange(len(names)), first)
        if clash.size == 0:
            return names.astype(str)
        names[clash] = _typed_names(rng, types[clash])


def _mids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct ``/m/0xxxxxx`` ids that, like real MIDs, say nothing about the entity."""
    codes = rng.choice(32**6, size=n, replace=False)
    digits = (codes[:, None] // 32 ** np.arange(5, -1, -1)) % 32
    return np.char.add("/m/0", _MID_ALPHABET[digits].view("S6").ravel().astype(str))


def _sample_edges(rng, blocks, popularity, rid, rel: _Relation) -> np.ndarray:
    heads = np.arange(blocks[rel.head], blocks[rel.head + 1])
    count = (rng.random(len(heads)) < rel.p_any) * (1 + rng.poisson(rel.extra, len(heads)))
    tails = np.arange(blocks[rel.tail], blocks[rel.tail + 1])
    weight = popularity[tails] / popularity[tails].sum()
    head = np.repeat(heads, count)
    return np.stack([head, np.full(len(head), rid), rng.choice(tails, size=len(head), p=weight)], axis=1)


def _capitals(rng: np.random.Generator, located: np.ndarray) -> np.ndarray:
    """One random city per country among those located in it (rows of ``located``: city, rel, country)."""
    shuffled = located[rng.permutation(len(located))]
    _, first = np.unique(shuffled[:, 2], return_index=True)
    picked = shuffled[first]
    return np.stack([picked[:, 2], np.full(len(picked), len(_RELATIONS) - 1), picked[:, 0]], axis=1)


def _relation_triples(rng: np.random.Generator, blocks: np.ndarray) -> np.ndarray:
    """(T, 3) unique world triples; tails follow Zipf popularity for KG-like degree skew."""
    popularity = (rng.permutation(blocks[-1]) + 1.0) ** -_POPULARITY_EXPONENT
    edges = [_sample_edges(rng, blocks, popularity, rid, rel) for rid, rel in enumerate(_RELATIONS)]
    edges.append(_capitals(rng, edges[_LOCATED_IN]))
    return np.unique(np.concatenate(edges).astype(np.int64), axis=0)


def _attribute_values(rng: np.random.Generator, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows, values, drawn = [], [], {}
    for etype, key, share, dist, a, b in _ATTRIBUTE_SPECS:
        n = blocks[etype + 1] - blocks[etype]
        if dist == "date":
            value = np.floor(rng.uniform(a - 1970, b - 1970, n) * 365.25)  # days since the 1970 epoch
        elif dist == "lifespan":
            value = drawn[etype, "birth"] + np.floor(rng.uniform(a, b, n) * 365.25)
        else:
            value = getattr(rng, dist)(a, b, n)
        drawn[etype, key] = value
        keep = rng.random(n) < share
        if dist == "lifespan":  # the living have no death date
            keep &= value < (2025 - 1970) * 365.25
        entity = np.arange(blocks[etype], blocks[etype + 1])[keep]
        rows.append(np.stack([entity, np.full(len(entity), _KEY_NAMES.index(key))], axis=1))
        values.append(value[keep])
    return np.concatenate(rows).astype(np.int64), np.concatenate(values)


def _make_world(rng: np.random.Generator, n: int) -> _World:
    # World ids come in one block per type, every type present; blocks[t] is where type t starts.
    counts = np.maximum(np.floor(_TYPE_SHARES * n).astype(np.int64), 1)
    counts[PERSON] += n - counts.sum()
    blocks = np.concatenate([[0], np.cumsum(counts)])
    types = np.repeat(np.arange(len(TYPES)), np.diff(blocks))
    attr, values = _attribute_values(rng, blocks)
    return _World(types, _unique_names(rng, types), _mids(rng, n), _relation_triples(rng, blocks), attr, values)


def _format_values(side: str, key: _Key, values: np.ndarray, noise: np.ndarray) -> list[str]:
    """Literal strings of one key's values as view ``side`` ("fb" or "db") writes them."""
    if key.kind in ("date", "year"):
        dates = values.astype("datetime64[D]")
        if side == "db":
            return np.datetime_as_string(dates, unit="D" if key.kind == "date" else "Y").tolist()
        months = dates.astype("datetime64[M]").astype(np.int64)  # Freebase: year + month / 12
        return [repr(round(v, 8)) for v in (1970 + months // 12 + (months % 12 + 1) / 12).tolist()]
    measured = values if side == "fb" else values * noise * key.db_scale
    if key.kind == "count":  # Freebase writes counts as floats (69121.0), DBpedia as integers
        return [repr(v) if side == "fb" else str(int(v)) for v in np.rint(measured).tolist()]
    return [repr(round(v, key.decimals)) for v in measured.tolist()]


class _View(NamedTuple):
    world_ids: np.ndarray  # (n_view,) world ids in view order (sorted by entity string)
    entities: list[str]
    local: np.ndarray  # (N,) world id -> global id in the pair, -1 where absent
    rel: np.ndarray  # (T_v, 3) world triples kept
    attr_rows: np.ndarray  # indices into world.attr kept


def _observe(rng: np.random.Generator, world: _World, member: np.ndarray, drop: float, ids: np.ndarray,
             offset: int) -> _View:
    """One view: triples among members survive ``drop``; members left with no triple vanish,
    as an entity absent from every triple file does not exist in the OpenEA layout."""
    rel_ok = member[world.rel[:, 0]] & member[world.rel[:, 2]] & (rng.random(len(world.rel)) >= drop)
    attr_ok = member[world.attr[:, 0]] & (rng.random(len(world.attr)) >= drop)
    alive = np.zeros(len(member), dtype=bool)
    alive[world.rel[rel_ok][:, [0, 2]].ravel()] = True
    alive[world.attr[attr_ok, 0]] = True
    world_ids = np.flatnonzero(alive)
    world_ids = world_ids[np.argsort(ids[world_ids], kind="stable")]
    local = np.full(len(member), -1, dtype=np.int64)
    local[world_ids] = offset + np.arange(len(world_ids))
    return _View(world_ids, ids[world_ids].tolist(), local, world.rel[rel_ok], np.flatnonzero(attr_ok))


def _split_members(rng: np.random.Generator, config: DemoConfig) -> tuple[np.ndarray, np.ndarray]:
    """Membership masks of views 1 and 2: exactly the configured overlap and dangling counts."""
    n = config.n_entities
    shared, end = round(config.overlap * n), round((config.overlap + config.dangling) * n)
    only1_end = shared + (end - shared) // 2
    rank = rng.permutation(n)  # a random rank per world entity
    return rank < only1_end, (rank < shared) | ((rank >= only1_end) & (rank < end))


def _vocabulary(used: np.ndarray, names: list[str], offset: int) -> tuple[list[str], np.ndarray]:
    """Sorted names of the used world ids, and a world id -> global id lookup."""
    vocab = sorted({names[i] for i in used.tolist()})
    index = {name: offset + k for k, name in enumerate(vocab)}
    return vocab, np.array([index.get(name, -1) for name in names], dtype=np.int64)


def _view_triples(view: _View, side: str, offset: int) -> tuple[list[str], np.ndarray]:
    """The view's relation names and its (T_v, 3) triples in global ids, sorted."""
    names = [r.fb if side == "fb" else _DBO + r.db for r in _RELATIONS]
    flip = np.array([getattr(r, f"flip_{side}") for r in _RELATIONS])[view.rel[:, 1]]
    vocab, lookup = _vocabulary(np.unique(view.rel[:, 1]), names, offset)
    h, r, t = view.rel.T
    heads, tails = view.local[np.where(flip, t, h)], view.local[np.where(flip, h, t)]
    return vocab, np.unique(np.stack([heads, lookup[r], tails], axis=1), axis=0)


def _view_attributes(world: _World, view: _View, side: str, offset: int, noise: np.ndarray):
    """The view's key names, its (A_v, 2) attribute triples sorted by entity, and their literals."""
    rows = world.attr[view.attr_rows]
    vocab, lookup = _vocabulary(np.unique(rows[:, 1]), [getattr(_KEYS[k], side) for k in _KEY_NAMES], offset)
    values = np.empty(len(rows), dtype=object)
    for key_id in np.unique(rows[:, 1]).tolist():
        sel = rows[:, 1] == key_id
        picked = view.attr_rows[sel]
        values[sel] = _format_values(side, _KEYS[_KEY_NAMES[key_id]], world.values[picked], noise[picked])
    triples = np.stack([view.local[rows[:, 0]], lookup[rows[:, 1]]], axis=1)
    order = np.lexsort((triples[:, 1], triples[:, 0]))
    return vocab, triples[order], values[order].tolist()


def generate_demo(config: DemoConfig = DemoConfig(), image_dir: Path | None = None) -> KGPair:
    """Build the synthetic pair; pictures (if ``config.images``) are written into ``image_dir``."""
    if config.images and image_dir is None:
        raise ValueError("generate_demo needs an image_dir to write pictures into when config.images is True")
    # Separate streams: switching images off or changing a noise or swap share changes nothing else.
    world_rng, view_rng, noise_rng, image_rng, swap_rng = np.random.default_rng(config.seed).spawn(5)
    world = _make_world(world_rng, config.n_entities)
    uris = np.char.add(DBPEDIA_RESOURCE, np.char.replace(world.names, " ", "_"))
    member1, member2 = _split_members(view_rng, config)
    view1 = _observe(view_rng, world, member1, config.triple_drop, world.mids, 0)
    view2 = _observe(view_rng, world, member2, config.triple_drop, uris, len(view1.world_ids))
    noise = np.exp(config.value_noise * noise_rng.standard_normal(len(world.attr)))
    relations1, triples1 = _view_triples(view1, "fb", 0)
    relations2, triples2 = _view_triples(view2, "db", len(relations1))
    keys1, attr1, values1 = _view_attributes(world, view1, "fb", 0, noise)
    keys2, attr2, values2 = _view_attributes(world, view2, "db", len(keys1), noise)
    both = (view1.local >= 0) & (view2.local >= 0)
    links = np.stack([view1.local[both], view2.local[both]], axis=1)
    views = [(view1.world_ids, view1.entities), (view2.world_ids, view2.entities)]
    images = draw_views(world.types, views, config.missing_images, Path(image_dir), config.image_size,
                        image_rng) if config.images else None
    if images is not None and config.swapped_images:
        images = swap_pictures(images, len(view1.entities), config.swapped_images, swap_rng)
    return KGPair(
        name="synthetic-demo",
        entities=view1.entities + view2.entities,
        n1=len(view1.entities),
        relations=relations1 + relations2,
        rel_triples=np.concatenate([triples1, triples2]),  # KG1 ids precede KG2 ids: still sorted
        attr_keys=keys1 + keys2,
        attr_triples=np.concatenate([attr1, attr2]),
        attr_values=values1 + values2,
        links=links[np.argsort(links[:, 0])],
        names=[None] * len(view1.entities) + world.names[view2.world_ids].tolist(),
        image_paths=images,
    )


def _write_rows(path: Path, rows) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.writelines("\t".join(row) + "\n" for row in rows)


def write_openea(pair: KGPair, out_dir: Path) -> None:
    """Write ``pair`` in the OpenEA layout (plus ``images/``) so any OpenEA loader can read it.

    Rows follow the pair's array order, so equal pairs give byte-identical files.
    """
    for strings, what in ((pair.entities, "entity"), (pair.relations, "relation"),
                          (pair.attr_keys, "attribute key"), (pair.attr_values, "attribute value")):
        # A tab or line break inside a field would silently shift the TSV columns.
        bad = next((s for s in strings if "\t" in s or "\n" in s or "\r" in s), None)
        if bad is not None:
            raise ValueError(f"cannot write OpenEA files: {what} {bad!r} contains a tab or line break")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ent, rel, keys, values = pair.entities, pair.relations, pair.attr_keys, pair.attr_values
    attr = pair.attr_triples.tolist()
    for side, in_kg in ((1, lambda e: e < pair.n1), (2, lambda e: e >= pair.n1)):
        triples = pair.rel_triples[in_kg(pair.rel_triples[:, 0])].tolist()
        _write_rows(out_dir / f"rel_triples_{side}", ((ent[h], rel[r], ent[t]) for h, r, t in triples))
        rows = np.flatnonzero(in_kg(pair.attr_triples[:, 0])).tolist()
        _write_rows(out_dir / f"attr_triples_{side}", ((ent[attr[i][0]], keys[attr[i][1]], values[i]) for i in rows))
    _write_rows(out_dir / "ent_links", ((ent[a], ent[b]) for a, b in pair.links.tolist()))
    if pair.image_paths is not None:
        copy_pictures(ent, pair.image_paths, out_dir / "images")
