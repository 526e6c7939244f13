"""Write a KG pair as RDF files that :mod:`almea.data.rdf` reads back to the same counts.

For ``python -m almea data ... --to-rdf OUT`` and ``bench/rdf_roundtrip.py``. A pair holds
strings, neither IRIs nor datatypes, so both are made here:

- An entity, relation or attribute key that is an absolute IRI stays as it is; any other
  string (a Freebase MID ``/m/0abc``, a DBpedia key ``birthDate``) is appended to its KG's
  base IRI. Characters an IRI may not hold (``"``, a backtick, a space, a lone ``%``) are
  percent-encoded. Two strings that would become one IRI are an error: the counts would change.
- A literal keeps the datatype or language tag the pair holds (``KGPair.attr_types``, from an
  RDF load); a pair without them types each literal by its form: ``xsd:integer``,
  ``xsd:decimal``, ``xsd:double``, ``xsd:date``, otherwise a plain string. The loader keeps
  the lexical form, so values come back unchanged.
- Names become ``rdfs:label`` literals tagged ``name_language``; images are copied into
  ``images/`` and named by ``foaf:depiction`` ``file:`` IRIs, relative in Turtle (the folder
  may move) and absolute in N-Triples (which has no relative IRIs).

Triples are written relations first, then attributes, names and images, the order in which
the OpenEA loader meets entities, so a pair loaded from OpenEA keeps its entity ids.
"""
from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyoxigraph
from pyoxigraph import Literal, NamedNode, Triple

from almea.data.images import image_file_name
from almea.data.kg_pair import KGPair
from almea.data.rdf_terms import FOAF_DEPICTION, OWL_SAME_AS, PREFIXES, RDF_SUFFIXES, RDFS_LABEL, XSD, rdf_suffix
from almea.data.synthetic_images import copy_pictures

DEFAULT_BASES = ("http://example.org/kg1/", "http://example.org/kg2/")
"""Base IRIs for strings of KG1 and KG2 that are not IRIs already."""
_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_NOT_IN_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]|%(?![0-9A-Fa-f]{2})')
_LITERAL_TYPES = (
    (re.compile(r"-?[0-9]+"), NamedNode(XSD + "integer")),
    (re.compile(r"-?[0-9]+\.[0-9]+"), NamedNode(XSD + "decimal")),
    (re.compile(r"-?[0-9]+(?:\.[0-9]+)?[eE][-+]?[0-9]+"), NamedNode(XSD + "double")),
    (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), NamedNode(XSD + "date")),
)


def mint_iri(text: str, base: str) -> str:
    """The IRI written for ``text``: itself if absolute, else ``base`` + text; bad characters
    percent-encoded."""
    iri = text if _ABSOLUTE_IRI.match(text) else base + text.lstrip("/")
    return _NOT_IN_IRI.sub(lambda m: "".join(f"%{byte:02X}" for byte in m.group().encode()), iri)


def typed_literal(value: str) -> Literal:
    """``value`` with the XSD datatype its form shows (plain string when none fits)."""
    datatype = next((t for pattern, t in _LITERAL_TYPES if pattern.fullmatch(value)), None)
    return Literal(value) if datatype is None else Literal(value, datatype=datatype)


def kept_literal(value: str, kind: str) -> Literal:
    """``value`` with the datatype IRI or ``@`` + language tag ``kind`` it was loaded with."""
    if kind.startswith("@"):
        return Literal(value, language=kind[1:])
    return Literal(value, datatype=NamedNode(kind))


def write_rdf(
    pair: KGPair,
    out_dir: Path,
    *,
    suffixes: tuple[str, str] = (".nt", ".nt"),
    links_suffix: str = ".nt",
    bases: tuple[str, str] = DEFAULT_BASES,
    name_language: str | None = "en",
) -> list[Path]:
    """Write ``kg1<suffix>``, ``kg2<suffix>``, ``links<links_suffix>`` (if the pair has links)
    and ``images/`` into ``out_dir``; returns the RDF files written."""
    for suffix in (*suffixes, links_suffix):
        if suffix not in RDF_SUFFIXES:
            raise ValueError(f"cannot write RDF as {suffix!r}: choose one of {', '.join(RDF_SUFFIXES)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images = _copy_images(pair, out_dir)
    nodes, written = [], []
    for side, (lo, hi) in enumerate(((0, pair.n1), (pair.n1, pair.n_entities))):
        base = bases[side]
        entities = _named_nodes(pair.entities[lo:hi], base, "entity")
        nodes.append(entities)
        triples = _kg_triples(pair, lo, hi, entities, _named_nodes(pair.relations, base, "relation"),
                              _named_nodes(pair.attr_keys, base, "attribute key"), name_language, images)
        written.append(_serialize(triples, out_dir / f"kg{side + 1}{suffixes[side]}", base))
    if len(pair.links):
        same_as = NamedNode(OWL_SAME_AS)
        links = (Triple(nodes[0][a], same_as, nodes[1][b - pair.n1]) for a, b in pair.links.tolist())
        written.append(_serialize(links, out_dir / f"links{links_suffix}", bases[0]))
    return written


def _named_nodes(strings: list[str], base: str, what: str) -> list[NamedNode]:
    iris = [mint_iri(s, base) for s in strings]
    first: dict[str, str] = {}
    for text, iri in zip(strings, iris):
        if first.setdefault(iri, text) != text:
            raise ValueError(f"cannot write RDF: {what}s {first[iri]!r} and {text!r} would both become <{iri}>")
    try:
        return [NamedNode(iri) for iri in iris]
    except ValueError as err:
        raise ValueError(f"cannot write RDF: an {what} is not a valid IRI ({err})") from None


def _kg_triples(pair: KGPair, lo: int, hi: int, entities: list[NamedNode], relations: list[NamedNode],
                keys: list[NamedNode], name_language: str | None, images: list[str | None]) -> Iterator[Triple]:
    """One KG's triples (global ids ``lo .. hi-1``) in the order the module docstring gives."""
    in_kg = (pair.rel_triples[:, 0] >= lo) & (pair.rel_triples[:, 0] < hi)
    for h, r, t in pair.rel_triples[in_kg].tolist():
        yield Triple(entities[h - lo], relations[r], entities[t - lo])
    for row in np.flatnonzero((pair.attr_triples[:, 0] >= lo) & (pair.attr_triples[:, 0] < hi)).tolist():
        entity, key = pair.attr_triples[row].tolist()
        value = pair.attr_values[row]
        literal = typed_literal(value) if pair.attr_types is None else kept_literal(value, pair.attr_types[row])
        yield Triple(entities[entity - lo], keys[key], literal)
    label, depiction = NamedNode(RDFS_LABEL), NamedNode(FOAF_DEPICTION)
    names = pair.names or [None] * pair.n_entities
    for entity in range(lo, hi):
        if names[entity]:
            yield Triple(entities[entity - lo], label, Literal(names[entity], language=name_language))
    for entity in range(lo, hi):
        if images[entity] is not None:
            yield Triple(entities[entity - lo], depiction, NamedNode(images[entity]))


def _copy_images(pair: KGPair, out_dir: Path) -> list[str | None]:
    """Copy the pair's images into ``out_dir/images``; the ``file:`` IRI of each entity's copy."""
    if pair.image_paths is None:
        return [None] * pair.n_entities
    folder = out_dir / "images"
    copy_pictures(pair.entities, pair.image_paths, folder)
    return [None if source is None else (folder / image_file_name(entity, Path(source).suffix)).resolve().as_uri()
            for entity, source in zip(pair.entities, pair.image_paths)]


def _serialize(triples: Iterator[Triple], path: Path, base: str) -> Path:
    """Write ``triples`` in the format ``path``'s name gives; gzip without a timestamp, so
    equal pairs give equal bytes."""
    syntax = RDF_SUFFIXES[rdf_suffix(path.name)]
    handle = gzip.GzipFile(path, "wb", mtime=0) if path.name.endswith(".gz") else path.open("wb")
    with handle:
        if syntax == pyoxigraph.RdfFormat.TURTLE:
            handle.write(_turtle(triples, path.parent, base))
        else:
            pyoxigraph.serialize(triples, handle, syntax)
    return path


def _turtle(triples: Iterator[Triple], folder: Path, base: str) -> bytes:
    """Turtle whose IRIs inside ``folder`` are relative, without an ``@base``: they resolve
    against wherever the file lies then, so the folder can move."""
    location = folder.resolve().as_uri() + "/"
    text = pyoxigraph.serialize(triples, None, pyoxigraph.RdfFormat.TURTLE, prefixes={**PREFIXES, "kg": base},
                                base_iri=location)
    return text.removeprefix(f"@base <{location}> .\n".encode())
