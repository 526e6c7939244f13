"""Loader for RDF dumps: one N-Triples or Turtle file per KG (optionally gzipped), plus links.

Layout ``rdf``: a folder with ``kg1.*``, ``kg2.*`` and an optional ``links.*`` (each
``.nt``, ``.ttl``, ``.nt.gz`` or ``.ttl.gz``); or three files named on their own
(:func:`load_rdf_files`, ``--kg1/--kg2/--links`` on the command line).

What each triple of a KG file becomes:

- A triple with a blank node (subject or object) or an RDF 1.2 triple term is skipped and
  counted. Blank nodes have no identity outside their file, so nothing can be aligned to
  them; skolemising them would add entities with neither a name nor a counterpart.
- ``owl:sameAs`` inside a KG file is skipped and counted: dumps use it for links to
  outside knowledge bases, and the links between the two KGs belong in the links file, so
  what is gold stays explicit.
- A literal of ``skos:prefLabel``, ``rdfs:label``, ``schema:name`` or ``foaf:name`` (that
  order of preference; untagged or English before other languages; the first on a tie) is
  the entity's name (``KGPair.names``), not an attribute.
- ``foaf:depiction`` or ``schema:image`` with a ``file:`` object is the entity's image
  (``KGPair.image_paths``), checked to decode and to lie inside the file's folder (Turtle's
  relative IRIs such as ``<images/a.png>`` resolve against that folder; N-Triples allows
  absolute IRIs only). The first one counts, further ones are counted as skipped. Any other
  object (a web URL) stays an ordinary relation triple, as in the OpenEA DBpedia files
  (FB15K237-DB15K has ``foaf:depiction`` between two resources).
- Any other literal is an attribute triple: the predicate IRI is the key, the literal's
  lexical form the value.
- Any other IRI object makes a relation triple, ``rdf:type`` included (classes become
  entities, as in the OpenEA DBpedia files).

Entities are the subjects of the triples kept plus the IRI objects of relation triples, in
order of first appearance, so every entity has a relation, an attribute, a name or an image.
Relations and attribute keys share one vocabulary over both KGs, as in the OpenEA loader. A
triple repeated in a file is kept twice, as a repeated OpenEA row.

Attribute values are the literal's lexical form; its datatype IRI or language tag is kept
beside it in :attr:`KGPair.attr_types` (shown on the Dataset page, written back by
:mod:`almea.data.rdf_export`) rather than in the text: the value block
(:mod:`almea.features.values`) reads dates, numbers and words from the text, and typed
literals are exactly the forms it parses (``xsd:date`` ``1960-07-01``, ``xsd:gYear``
``1960``, ``xsd:dateTime``, ``xsd:integer``/``decimal``/``double``). A ``^^xsd:date``
suffix would break its date pattern, which is anchored at the end, and add the same tokens
to every literal of a type. Datatypes and languages are counted in
:attr:`RdfLoad.literal_types` (``python -m almea data`` prints them).

The links file holds ``owl:sameAs`` triples between IRIs only. sameAs is symmetric, so
either direction is accepted and oriented KG1 -> KG2; a link naming an IRI that is an entity
of neither KG, or joining two entities of one KG, is a DataFormatError with the line, and
the links must be 1-to-1, as in the other layouts.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyoxigraph import NamedNode

from almea.data.errors import DataFormatError, excerpt
from almea.data.kg_pair import KGPair
from almea.data.links import check_one_to_one
from almea.data.rdf_files import find_rdf_files, read_triples
from almea.data.rdf_kg import read_kg
from almea.data.rdf_terms import OWL_SAME_AS, rdf_suffix


@dataclass(frozen=True)
class RdfLoad:
    """A pair read from RDF, with what the mapping left out and the literal types it saw."""

    pair: KGPair
    skipped: dict[str, int]
    """Reason -> triples of both KG files left out (see the module docstring)."""
    literal_types: dict[str, int]
    """``xsd:date``, ``@en``, ... -> attribute literals of that datatype or language tag."""


def load_rdf(folder: Path) -> RdfLoad:
    """Load an ``rdf``-layout folder: ``kg1.*``, ``kg2.*``, optional ``links.*``."""
    folder = Path(folder)
    kg1, kg2, links = find_rdf_files(folder)
    return load_rdf_files(kg1, kg2, links, name=folder.name, source=folder)


def load_rdf_files(
    kg1: Path, kg2: Path, links: Path | None = None, *, name: str | None = None, source: Path | None = None
) -> RdfLoad:
    """Load two KG files and optional sameAs links; ``name`` defaults to ``<kg1>-<kg2>``."""
    kg1, kg2 = Path(kg1), Path(kg2)
    relations: dict[str, int] = {}
    keys: dict[str, int] = {}
    first, second = read_kg(kg1, relations, keys), read_kg(kg2, relations, keys)
    n1 = len(first.entities)
    entities = [*first.entities, *second.entities]
    gold = np.zeros((0, 2), dtype=np.int64)
    if links is not None:
        gold = read_links(Path(links), first.entities, second.entities, entities)
    names = [{entity: text for entity, (_, text) in kg.names.items()} for kg in (first, second)]
    pair = KGPair(
        name=name or f"{_stem(kg1)}-{_stem(kg2)}",
        entities=entities,
        n1=n1,
        relations=list(relations),
        rel_triples=np.concatenate([_global(first.rel, 3, 0, (0, 2)), _global(second.rel, 3, n1, (0, 2))]),
        attr_keys=list(keys),
        attr_triples=np.concatenate([_global(first.attrs, 2, 0, (0,)), _global(second.attrs, 2, n1, (0,))]),
        attr_values=first.values + second.values,
        attr_types=first.types + second.types,
        links=gold,
        names=_per_entity(names, n1, len(entities)),
        image_paths=_per_entity([first.images, second.images], n1, len(entities)),
        source=source,
    )
    return RdfLoad(pair, dict(first.skipped + second.skipped), dict(first.literal_types + second.literal_types))


def read_links(path: Path, kg1: dict[str, int], kg2: dict[str, int], entities: list[str]) -> np.ndarray:
    """(L, 2) global ids of the file's owl:sameAs links, oriented KG1 -> KG2 and checked 1-to-1."""
    n1 = len(kg1)
    rows = []
    for line, quad in read_triples(path):
        a, b = quad.subject, quad.object
        if quad.predicate.value != OWL_SAME_AS or not isinstance(a, NamedNode) or not isinstance(b, NamedNode):
            raise DataFormatError(path, f"expected owl:sameAs triples between two IRIs, got {excerpt(quad.triple)}",
                                  line=line)
        if a.value in kg1 and b.value in kg2:
            rows.append((line, kg1[a.value], n1 + kg2[b.value]))
        elif b.value in kg1 and a.value in kg2:
            rows.append((line, kg1[b.value], n1 + kg2[a.value]))
        else:
            raise DataFormatError(path, _bad_link(a.value, b.value, kg1, kg2), line=line)
    if not rows:
        raise DataFormatError(path, "no owl:sameAs triples: the links file is empty")
    return check_one_to_one(path, rows, entities, n1)


def _bad_link(a: str, b: str, kg1: dict[str, int], kg2: dict[str, int]) -> str:
    for iri in (a, b):
        if iri not in kg1 and iri not in kg2:
            return f"link names {excerpt(iri)}, which is not an entity of KG1 or KG2"
    kg = "KG1" if a in kg1 else "KG2"
    return f"link joins two entities of {kg} ({excerpt(a)}, {excerpt(b)}); links go from KG1 to KG2"


def _global(rows: list[tuple[int, ...]], width: int, shift: int, id_columns: tuple[int, ...]) -> np.ndarray:
    """(len(rows), width) int64 of local ids, ``shift`` added to the entity columns."""
    array = np.array(rows, dtype=np.int64).reshape(-1, width)
    array[:, list(id_columns)] += shift
    return array


def _per_entity(per_kg: Sequence[dict], n1: int, n: int) -> list | None:
    """One entry per global entity (None where a KG has none), or None if no KG has any."""
    if not any(per_kg):
        return None
    out: list = [None] * n
    for offset, values in zip((0, n1), per_kg):
        for entity, value in values.items():
            out[offset + entity] = value
    return out


def _stem(path: Path) -> str:
    return path.name.removesuffix(rdf_suffix(path.name) or "")
