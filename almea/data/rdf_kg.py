"""One KG file's triples sorted into relations, attributes, names and images (local ids).

The mapping itself is described in :mod:`almea.data.rdf`; this module applies it triple by
triple, so one pass over a stream is enough.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from pyoxigraph import Literal, NamedNode

from almea.data.errors import DataFormatError, excerpt
from almea.data.images import check_image
from almea.data.rdf_files import read_triples
from almea.data.rdf_terms import IMAGE_PREDICATES, NAME_PREDICATES, OWL_SAME_AS, compact

SKIPPED_BLANK = "triples with a blank node or a triple term"
SKIPPED_SAME_AS = "owl:sameAs triples inside a KG file (links go in the links file)"
SKIPPED_IMAGES = "further images of an entity that already has one"
_NAME_RANK = {predicate: rank for rank, predicate in enumerate(NAME_PREDICATES)}


@dataclass
class KgContent:
    """What one KG file holds, entity ids local to the file (0 .. len(entities) - 1)."""

    path: Path
    entities: dict[str, int] = field(default_factory=dict)
    """Entity IRI -> local id, in order of first appearance."""
    rel: list[tuple[int, int, int]] = field(default_factory=list)
    """Head, relation id (shared by both KGs), tail."""
    attrs: list[tuple[int, int]] = field(default_factory=list)
    """Entity, attribute key id (shared by both KGs)."""
    values: list[str] = field(default_factory=list)
    """Lexical form of each attribute literal, aligned with ``attrs``."""
    types: list[str] = field(default_factory=list)
    """Datatype IRI or ``@`` + language tag of each attribute literal, aligned with ``attrs``."""
    names: dict[int, tuple[tuple[int, int], str]] = field(default_factory=dict)
    """Entity -> (preference rank, name); the lowest rank seen so far."""
    images: dict[int, Path] = field(default_factory=dict)
    """Entity -> checked image file."""
    skipped: Counter = field(default_factory=Counter)
    """Reason -> triples left out."""
    literal_types: Counter = field(default_factory=Counter)
    """``xsd:date``, ``@en``, ... -> attribute literals of that datatype or language."""

    def entity(self, iri: str) -> int:
        return self.entities.setdefault(iri, len(self.entities))


def read_kg(path: Path, relations: dict[str, int], keys: dict[str, int]) -> KgContent:
    """Read one KG file; ``relations`` and ``keys`` are the pair's shared vocabularies."""
    kg = KgContent(Path(path))
    for line, quad in read_triples(kg.path):
        subject, predicate, obj = quad.subject, quad.predicate.value, quad.object
        if not isinstance(subject, NamedNode) or not isinstance(obj, (NamedNode, Literal)):
            kg.skipped[SKIPPED_BLANK] += 1
            continue
        if predicate == OWL_SAME_AS:
            kg.skipped[SKIPPED_SAME_AS] += 1
            continue
        entity = kg.entity(subject.value)
        if isinstance(obj, Literal):
            _add_literal(kg, entity, predicate, obj, keys)
        elif predicate in IMAGE_PREDICATES and obj.value.startswith("file:"):
            _add_image(kg, entity, _local_image(kg.path, line, obj.value))
        else:
            kg.rel.append((entity, relations.setdefault(predicate, len(relations)), kg.entity(obj.value)))
    if not kg.entities:
        raise DataFormatError(kg.path, "no usable triples: the file is empty or all its triples were skipped")
    return kg


def _add_literal(kg: KgContent, entity: int, predicate: str, literal: Literal, keys: dict[str, int]) -> None:
    rank = _NAME_RANK.get(predicate)
    if rank is not None:
        candidate = ((rank, 0 if _is_english(literal.language) else 1), literal.value)
        if entity not in kg.names or candidate[0] < kg.names[entity][0]:
            kg.names[entity] = candidate
        return
    kg.attrs.append((entity, keys.setdefault(predicate, len(keys))))
    kg.values.append(literal.value)
    kind = "@" + literal.language if literal.language else literal.datatype.value
    kg.types.append(kind)
    kg.literal_types[kind if literal.language else compact(kind)] += 1


def _is_english(language: str | None) -> bool:
    """Untagged or English names are preferred: a multilingual dump names every entity once."""
    return not language or language == "en" or language.startswith("en-")


def _add_image(kg: KgContent, entity: int, image: Path) -> None:
    if entity in kg.images:
        kg.skipped[SKIPPED_IMAGES] += 1
    else:
        kg.images[entity] = image


def _local_image(path: Path, line: int, iri: str) -> Path:
    """The checked image file a ``file:`` IRI names; it must decode and lie inside the folder
    of the KG file ``path``.

    The app serves these files, so one outside the dataset folder is refused, as the image
    folder of the other layouts does.
    """
    parts = urlsplit(iri)
    if parts.netloc not in ("", "localhost"):
        raise DataFormatError(path, f"image {excerpt(iri)} is on another host; use a local file", line=line)
    image = Path(url2pathname(parts.path))
    root = path.resolve().parent
    resolved = image.resolve()
    if not resolved.is_relative_to(root):
        raise DataFormatError(path, f"image {excerpt(str(image))} lies outside the dataset folder {root}", line=line)
    try:
        check_image(resolved)
    except DataFormatError as err:
        raise DataFormatError(path, f"image {excerpt(str(image))}: {err.problem}", line=line) from None
    return resolved
