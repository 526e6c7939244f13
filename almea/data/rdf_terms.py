"""The RDF vocabulary the loader and the exporter give a meaning to, and the file formats.

One place for these IRIs so that what is read as a name, an image or a link is exactly what
is written as one.
"""
from __future__ import annotations

from pyoxigraph import RdfFormat

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
FOAF = "http://xmlns.com/foaf/0.1/"
SCHEMA = "http://schema.org/"

OWL_SAME_AS = OWL + "sameAs"
RDFS_LABEL = RDFS + "label"
FOAF_DEPICTION = FOAF + "depiction"

NAME_PREDICATES: tuple[str, ...] = (SKOS + "prefLabel", RDFS_LABEL, SCHEMA + "name", FOAF + "name")
"""Literals of these name their subject; earlier ones win when an entity has several."""
IMAGE_PREDICATES = frozenset({FOAF_DEPICTION, SCHEMA + "image"})
"""Objects of these that are local files (``file:`` IRIs) are the subject's picture."""

PREFIXES = {"rdf": RDF, "rdfs": RDFS, "xsd": XSD, "owl": OWL, "skos": SKOS, "foaf": FOAF, "schema": SCHEMA}
"""Prefixes used to write Turtle and to shorten IRIs in reports."""

RDF_SUFFIXES: dict[str, RdfFormat] = {
    ".nt": RdfFormat.N_TRIPLES,
    ".ttl": RdfFormat.TURTLE,
    ".nt.gz": RdfFormat.N_TRIPLES,
    ".ttl.gz": RdfFormat.TURTLE,
}
"""File name endings the loader reads and the exporter writes."""


def rdf_suffix(name: str) -> str | None:
    """The ``RDF_SUFFIXES`` ending of a file name, or None."""
    return next((s for s in RDF_SUFFIXES if name.endswith(s) and len(name) > len(s)), None)


def compact(iri: str) -> str:
    """``xsd:date`` for ``http://www.w3.org/2001/XMLSchema#date``; other IRIs unchanged."""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    return iri
