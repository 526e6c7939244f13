"""A project's dataset in memory, loaded once per process and shared by every session."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from almea.data import load_dataset
from almea.data.kg_pair import KGPair
from almea.training.split import LinkSplit, split_entities
from annotate.pair_view import EntityIndex
from storage import LabelledPair


@dataclass(frozen=True, eq=False)
class ProjectData:
    pair: KGPair
    index: EntityIndex
    ids: dict[str, int]
    """Entity URI -> global id (KG1 and KG2 URIs may coincide, so per KG below)."""
    ids2: dict[str, int]

    def source_id(self, uri: str) -> int:
        return self.ids[uri]

    def target_id(self, uri: str) -> int:
        return self.ids2[uri]

    def pair_ids(self, pairs: Iterable[LabelledPair]) -> np.ndarray:
        """(n, 2) global ids of stored pairs; seed labels carry URIs only."""
        rows = [
            (p.source_id, p.target_id) if p.source_id is not None else (self.source_id(p.source_uri), self.target_id(p.target_uri))
            for p in pairs
        ]
        return np.asarray(rows, dtype=np.int64).reshape(-1, 2)

    def held_out(self, eval_ratio: float, seed: int, seeds: np.ndarray | None = None) -> np.ndarray:
        """(T, 2) gold links that score models (empty without gold); see ``evaluation_split``."""
        return self.evaluation_split(eval_ratio, seed, seeds).test

    def blocked(self, eval_ratio: float, seed: int, seeds: np.ndarray | None = None) -> np.ndarray:
        """(B, 2) what is never proposed nor trained on: the held-out links, then one
        ``(source, NO_COUNTERPART)`` row per held-out KG1 entity without a gold link."""
        return self.evaluation_split(eval_ratio, seed, seeds).blocked

    def evaluation_split(self, eval_ratio: float, seed: int, seeds: np.ndarray | None = None) -> LinkSplit:
        """``eval_ratio`` of the KG1 entities, linked or not, held out to score models.

        Entities rather than links are drawn so that the entities people answer about are a
        sample of those the held-out precision is measured on: a link split keeps every
        unlinked entity askable, and the calibrator fitted on the answers then understates
        the precision of the held-out ones. Links sharing an entity with a ``seeds`` pair
        (labels trained on: seed links, accepted answers) are left out: scoring a model on
        links it was trained on would overstate its accuracy.
        """
        links = self.pair.links
        if eval_ratio <= 0 or len(links) < 2:
            return LinkSplit(test=np.zeros((0, 2), np.int64), pool=links, n_links=len(links))
        split = split_entities(links, self.pair.n1, eval_ratio, seed)
        if seeds is None or len(seeds) == 0:
            return split
        test = split.test
        seeded = np.isin(test[:, 0], seeds[:, 0]) | np.isin(test[:, 1], seeds[:, 1])
        return replace(split, test=test[~seeded], unlinked=np.setdiff1d(split.unlinked, seeds[:, 0]))


@lru_cache(maxsize=4)
def _load(folder: str, layout: str, images: str | None) -> ProjectData:
    pair = load_dataset(Path(folder), layout, images=Path(images) if images else None)
    ids = {uri: i for i, uri in enumerate(pair.entities[: pair.n1])}
    ids2 = {uri: pair.n1 + i for i, uri in enumerate(pair.entities[pair.n1 :])}
    return ProjectData(pair, EntityIndex(pair), ids, ids2)


def project_data(dataset: dict) -> ProjectData:
    """The dataset described by a project's ``dataset`` dict ({folder, layout, images})."""
    return _load(str(dataset["folder"]), dataset["layout"], dataset.get("images"))
