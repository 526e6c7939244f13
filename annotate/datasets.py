"""Datasets as the app sees them: the embedded demo and summaries of loaded pairs."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from almea.data import load_dataset
from almea.data.kg_pair import MODALITIES, KGPair
from almea.data.rdf_terms import compact
from almea.data.synthetic import DemoConfig, generate_demo, write_openea

DEMO_SIZE = 250


def home_dir() -> Path:
    """Where projects and the demo live: ``$ALMEA_HOME`` or ``./projects``."""
    return Path(os.environ.get("ALMEA_HOME", "projects")).resolve()


def demo_dataset(home: Path | None = None, size: int = DEMO_SIZE) -> Path:
    """The synthetic demo pair on disk (OpenEA + images/), generated once.

    Written to a temporary folder and renamed, so an interrupted first launch never
    leaves a half-written demo behind.
    """
    target = (home or home_dir()) / f"demo-{size}"
    if (target / "ent_links").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        staging = Path(scratch) / "staging"
        pair = generate_demo(DemoConfig(n_entities=size), image_dir=Path(scratch) / "drawn")
        write_openea(pair, staging)
        staging.rename(target)
    return target


@dataclass(frozen=True)
class EntityCard:
    """What the overview shows of one entity."""

    uri: str
    name: str | None
    image: Path | None
    attributes: pd.DataFrame
    """One row per attribute triple: ``attribute``, ``value`` and, for RDF input, its ``type``
    (``xsd:date``, ``@en``)."""


@dataclass(frozen=True)
class DatasetOverview:
    summary: dict
    modalities: tuple[str, ...]
    examples: list[tuple[EntityCard, EntityCard]]


def _card(pair: KGPair, entity: int) -> EntityCard:
    rows = (pair.attr_triples[:, 0] == entity).nonzero()[0]
    return EntityCard(
        uri=pair.entities[entity],
        name=pair.names[entity] if pair.names is not None else None,
        image=pair.image_paths[entity] if pair.image_paths is not None else None,
        attributes=_attributes(pair, rows),
    )


def _attributes(pair: KGPair, rows: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"attribute": [pair.attr_keys[pair.attr_triples[r, 1]] for r in rows],
                          "value": [pair.attr_values[r] for r in rows]})
    if pair.attr_types is not None:
        frame["type"] = [compact(pair.attr_types[r]) for r in rows]
    return frame


def overview(folder: Path, layout: str, n_examples: int = 3, images: Path | None = None) -> DatasetOverview:
    """Summary counts and a few gold pairs side by side (none without gold links)."""
    pair = load_dataset(folder, layout, images=images)
    examples = [(_card(pair, int(a)), _card(pair, int(b))) for a, b in pair.links[:n_examples]]
    return DatasetOverview(pair.summary(), MODALITIES, examples)


def datasets_in(root: Path, depth: int = 3) -> list[str]:
    """Folders under ``root`` (down to ``depth`` levels) that hold files, relative to it: what a
    team may create projects from. Hidden folders and symbolic links are left out, so nothing
    outside ``root`` is ever offered."""
    found = []
    for here, folders, files in os.walk(root):
        relative = Path(here).relative_to(root)
        folders[:] = sorted(f for f in folders if not f.startswith(".") and not (Path(here) / f).is_symlink()
                            and len(relative.parts) < depth)
        if relative.parts and files:
            found.append(relative.as_posix())
    return sorted(found)


def dataset_folder(root: Path, relative: str) -> Path:
    """``root / relative``, refused (ValueError) when it resolves outside ``root``."""
    base = root.resolve()
    folder = (base / relative).resolve()
    if not folder.is_relative_to(base):
        raise ValueError(f"{relative!r} is outside the data folder {base}")
    if not folder.is_dir():
        raise ValueError(f"{relative!r} is not a folder of the data folder {base}")
    return folder
