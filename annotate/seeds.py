"""Seed links for a project: an ``ent_links`` TSV checked against the dataset, or gold links."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from almea.data.errors import DataFormatError, excerpt
from almea.data.links import check_one_to_one
from almea.data.tsv import read_rows
from annotate.project_data import ProjectData

SEED_FORMAT = "KG1 entity<TAB>KG2 entity"


def read_seed_tsv(path: Path, data: ProjectData) -> list[tuple[str, str]]:
    """(source URI, target URI) rows of ``path``; unknown entities and non-1-to-1 links are
    errors naming the line, so a bad file stores nothing. A file without a single link is
    refused too: it is more likely a failed export than a wish to start from nothing (for
    that, upload no file: the project then starts cold)."""
    rows = []
    for line, (source, target) in read_rows(Path(path), 2, SEED_FORMAT, allow_empty=True):
        for uri, ids, side in ((source, data.ids, "KG1"), (target, data.ids2, "KG2")):
            if uri not in ids:
                raise DataFormatError(Path(path), f"{side} entity {excerpt(uri)} is not in the project's dataset", line=line)
        rows.append((line, data.source_id(source), data.target_id(target)))
    if not rows:
        raise DataFormatError(Path(path), f"no seed links: the file is empty or blank (expected lines of {SEED_FORMAT}; "
                                          "to start without seeds, upload no file)")
    links = check_one_to_one(Path(path), rows, data.pair.entities, data.pair.n1)
    return [(data.pair.entities[a], data.pair.entities[b]) for a, b in links]


def gold_seeds(data: ProjectData, ratio: float, held_out: np.ndarray, seed: int) -> list[tuple[str, str]]:
    """``ratio`` x all gold links drawn at random outside the held-out set (demo, simulations);
    none when the dataset has no gold links (``create_project`` refuses a ratio then)."""
    blocked = {tuple(p) for p in held_out.tolist()}
    pool = np.array([p for p in data.pair.links.tolist() if tuple(p) not in blocked], dtype=np.int64).reshape(-1, 2)
    count = min(len(pool), int(round(ratio * len(data.pair.links))))
    chosen = pool[np.random.default_rng(seed).permutation(len(pool))[:count]]
    return [(data.pair.entities[a], data.pair.entities[b]) for a, b in chosen]
