"""Loader for the OpenEA layout (``rel_triples_1/2``, ``attr_triples_1/2``, ``ent_links``).

``ent_links`` (gold links) is optional: a pair nobody has aligned yet has none, and its
annotation project starts from uploaded seeds or from nothing. A file that is there is
checked as always (an empty one is still an error: it is more likely a failed export
than a statement that there is no gold).

Entities are the ones named in a KG's triple files, in order of first appearance, so a
link to an entity that no triple mentions is reported as unknown rather than invented.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from almea.data.errors import DataFormatError, excerpt
from almea.data.files import is_present
from almea.data.kg_pair import KGPair
from almea.data.links import check_one_to_one
from almea.data.tsv import read_rows

REL_FORMAT = "head<TAB>relation<TAB>tail"
ATTR_FORMAT = "entity<TAB>attribute<TAB>value"
DBPEDIA = "http://dbpedia.org/resource/"


class _Vocab(dict):
    """String -> dense id, assigned in order of first sight."""

    def id(self, key: str) -> int:
        found = self.get(key)
        if found is None:
            found = self[key] = len(self)
        return found


def _read_kg(folder: Path, side: int, entities: _Vocab, relations: _Vocab, keys: _Vocab):
    rel_path = folder / f"rel_triples_{side}"
    rel = [
        (entities.id(h), relations.id(r), entities.id(t))
        for _, (h, r, t) in read_rows(rel_path, 3, REL_FORMAT)
    ]
    attr_path = folder / f"attr_triples_{side}"
    attrs: list[tuple[int, int]] = []
    values: list[str] = []
    if is_present(attr_path):
        for _, (e, k, v) in read_rows(attr_path, 3, ATTR_FORMAT, allow_empty=True):
            attrs.append((entities.id(e), keys.id(k)))
            values.append(v)
    return rel, attrs, values


def load_openea(folder: Path) -> KGPair:
    """Load an OpenEA-layout pair; ``attr_triples_*`` and ``ent_links`` are optional (no
    ``ent_links``: ``links`` is (0, 2)), the rest required."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFormatError(folder, "dataset folder does not exist")
    relations, keys = _Vocab(), _Vocab()
    kg1, kg2 = _Vocab(), _Vocab()
    rel1, attr1, val1 = _read_kg(folder, 1, kg1, relations, keys)
    rel2, attr2, val2 = _read_kg(folder, 2, kg2, relations, keys)
    n1 = len(kg1)
    entities = list(kg1) + list(kg2)

    links_path = folder / "ent_links"
    rows = []
    gold = read_rows(links_path, 2, "kg1_entity<TAB>kg2_entity") if is_present(links_path) else ()
    for line, (a, b) in gold:
        for name, vocab, kg in ((a, kg1, 1), (b, kg2, 2)):
            if name not in vocab:
                raise DataFormatError(
                    links_path, f"link names {excerpt(name)}, which is not an entity of KG{kg}", line=line
                )
        rows.append((line, kg1[a], n1 + kg2[b]))
    links = check_one_to_one(links_path, rows, entities, n1)

    shift2 = np.array([n1, 0, n1], dtype=np.int64)
    rel = np.concatenate(
        [np.array(rel1, dtype=np.int64).reshape(-1, 3), np.array(rel2, dtype=np.int64).reshape(-1, 3) + shift2]
    )
    attr = np.concatenate(
        [
            np.array(attr1, dtype=np.int64).reshape(-1, 2),
            np.array(attr2, dtype=np.int64).reshape(-1, 2) + np.array([n1, 0], dtype=np.int64),
        ]
    )
    return KGPair(
        name=folder.name,
        entities=entities,
        n1=n1,
        relations=list(relations),
        rel_triples=rel,
        attr_keys=list(keys),
        attr_triples=attr,
        attr_values=val1 + val2,
        links=links,
        names=_uri_names(kg1) + _uri_names(kg2) if _all_dbpedia(kg1) or _all_dbpedia(kg2) else None,
        source=folder,
    )


def _all_dbpedia(entities: _Vocab) -> bool:
    return len(entities) > 0 and all(e.startswith(DBPEDIA) for e in entities)


def _uri_names(entities: _Vocab) -> list[str | None]:
    """DBpedia resource URIs carry the page title: ``.../Denton,_Texas`` -> ``Denton, Texas``.

    Other ids (Freebase MIDs) carry no name, so that side gets None.
    """
    if not _all_dbpedia(entities):
        return [None] * len(entities)
    return [e[len(DBPEDIA) :].replace("_", " ") for e in entities]
