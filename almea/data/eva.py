"""Loader for the EVA/MCLEA layout (DBP15K and kin).

Files: ``ent_ids_1/2`` (``id<TAB>uri``), ``triples_1/2`` (``head<TAB>rel<TAB>tail`` ids),
``ill_ent_ids`` (gold links; optional: absent means none, but a file that is there must
hold links), optional ``training_attrs_1/2`` (``uri<TAB>attr...``),
``translated_ent_name.json`` and an image-feature file. Dataset ids are remapped to our
index space (KG1 first) so gaps or offsets in the files do not matter.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from almea.data.errors import DataFormatError, excerpt
from almea.data.files import is_present, read_json, read_lines
from almea.data.image_features import find_image_features, load_image_features
from almea.data.kg_pair import KGPair
from almea.data.links import check_one_to_one
from almea.data.tsv import parse_int, read_rows


def _read_ids(path: Path, index: dict[int, int], uris: list[str]) -> None:
    """Append this file's entities to ``uris``; ``index`` maps dataset id -> our id."""
    for line, (raw_id, uri) in read_rows(path, 2, "id<TAB>uri"):
        dataset_id = parse_int(path, line, raw_id, "entity id")
        if dataset_id in index:
            raise DataFormatError(path, f"entity id {dataset_id} is defined twice", line=line)
        index[dataset_id] = len(uris)
        uris.append(uri)


def _entity(path: Path, line: int, text: str, index: dict[int, int], lo: int, hi: int) -> int:
    dataset_id = parse_int(path, line, text, "entity id")
    found = index.get(dataset_id)
    if found is None or not (lo <= found < hi):
        raise DataFormatError(path, f"entity id {dataset_id} is not in this KG's ent_ids file", line=line)
    return found


def _read_triples(path: Path, index: dict[int, int], lo: int, hi: int, relations: dict[str, int]):
    rows = []
    for line, (h, r, t) in read_rows(path, 3, "head_id<TAB>relation_id<TAB>tail_id"):
        parse_int(path, line, r, "relation id")
        rel = relations.setdefault(r, len(relations))
        rows.append((_entity(path, line, h, index, lo, hi), rel, _entity(path, line, t, index, lo, hi)))
    return rows


def _read_attrs(path: Path, by_uri: dict[str, int], keys: dict[str, int]):
    """EVA's ``training_attrs`` list attribute names per entity URI, without values."""
    attrs: list[tuple[int, int]] = []
    if not is_present(path):
        return attrs
    for line, text in read_lines(path):
        fields = [f for f in text.split("\t") if f]
        if not fields:
            continue
        entity = by_uri.get(fields[0])
        if entity is None:
            raise DataFormatError(path, f"unknown entity URI {excerpt(fields[0])}", line=line)
        attrs.extend((entity, keys.setdefault(k, len(keys))) for k in fields[1:])
    return attrs


def _is_name_item(item: object) -> bool:
    """``[id, [token, ...]]`` with an integer id (``true`` is not one) and string tokens."""
    return (
        isinstance(item, list) and len(item) == 2 and type(item[0]) is int
        and isinstance(item[1], list) and all(isinstance(tok, str) for tok in item[1])
    )


def _read_names(path: Path, index: dict[int, int], n: int) -> list[str | None] | None:
    if not is_present(path):
        return None
    data = read_json(path)
    if not isinstance(data, list):
        raise DataFormatError(path, "expected a JSON list of [id, [token, ...]] items")
    names: list[str | None] = [None] * n
    named: set[int] = set()
    for item_no, item in enumerate(data):
        if not _is_name_item(item):
            raise DataFormatError(path, f"item {item_no}: expected [integer id, [token, ...]], got {excerpt(item)}")
        entity = index.get(item[0])
        if entity is None:
            raise DataFormatError(path, f"item {item_no}: unknown entity id {excerpt(item[0])}")
        if entity in named:
            raise DataFormatError(path, f"item {item_no}: entity id {item[0]} is named twice")
        named.add(entity)
        names[entity] = " ".join(item[1]) or None
    return names


def load_eva(folder: Path, image_features: Path | None = None, allow_pickle: bool = False) -> KGPair:
    """Load an EVA/MCLEA-layout pair.

    ``image_features`` overrides the auto-detected ``*img*``/``*image*`` feature file.
    Pickled features are refused unless ``allow_pickle`` (unpickling runs arbitrary code).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFormatError(folder, "dataset folder does not exist")
    index: dict[int, int] = {}
    uris: list[str] = []
    _read_ids(folder / "ent_ids_1", index, uris)
    n1 = len(uris)
    _read_ids(folder / "ent_ids_2", index, uris)
    n = len(uris)

    relations: dict[str, int] = {}
    rel = _read_triples(folder / "triples_1", index, 0, n1, relations)
    rel += _read_triples(folder / "triples_2", index, n1, n, relations)

    links_path = folder / "ill_ent_ids"
    gold = read_rows(links_path, 2, "kg1_id<TAB>kg2_id") if is_present(links_path) else ()
    rows = [
        (line, _entity(links_path, line, a, index, 0, n1), _entity(links_path, line, b, index, n1, n))
        for line, (a, b) in gold
    ]
    links = check_one_to_one(links_path, rows, uris, n1)

    by_uri = {u: i for i, u in enumerate(uris)}
    keys: dict[str, int] = {}
    attrs = _read_attrs(folder / "training_attrs_1", by_uri, keys)
    attrs += _read_attrs(folder / "training_attrs_2", by_uri, keys)

    feature_file = image_features or find_image_features(folder)
    features = present = None
    if feature_file is not None:
        features, present = load_image_features(Path(feature_file), index, n, allow_pickle)

    return KGPair(
        name=folder.name,
        entities=uris,
        n1=n1,
        relations=list(relations),
        rel_triples=np.array(rel, dtype=np.int64).reshape(-1, 3),
        attr_keys=list(keys),
        attr_triples=np.array(attrs, dtype=np.int64).reshape(-1, 2),
        attr_values=[""] * len(attrs),
        links=links,
        names=_read_names(folder / "translated_ent_name.json", index, n),
        image_features=features,
        image_feature_present=present,
        source=folder,
    )
