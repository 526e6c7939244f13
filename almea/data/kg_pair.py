"""The in-memory KG pair that every later stage consumes (spec section 1).

Entities of both KGs share one index space, KG1 first: ids ``0 .. n1-1`` are KG1 and
``n1 .. n_entities-1`` are KG2. Every array below uses these global ids.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Modalities in the column order of :attr:`KGPair.present`.
MODALITIES: tuple[str, ...] = ("graph", "relation", "attribute", "visual", "name")


@dataclass(frozen=True, eq=False)
class KGPair:
    """Two knowledge graphs, their modalities, real missingness and gold links.

    Built by the loaders; treat it as immutable. Arrays are numpy so the object stays
    cheap to pickle-free cache and to hand to torch with ``torch.from_numpy``.
    """

    name: str
    """Dataset name shown to users (usually the folder name)."""
    entities: list[str]
    """Entity URI or id per global index, KG1 first."""
    n1: int
    """Number of KG1 entities; KG2 entities follow."""
    relations: list[str]
    """Relation names; KG-specific names stay distinct."""
    rel_triples: np.ndarray
    """(T, 3) int64: head, relation id, tail (global entity ids)."""
    attr_keys: list[str]
    """Attribute key names."""
    attr_triples: np.ndarray
    """(A, 2) int64: entity id, attribute key id."""
    attr_values: list[str]
    """Literal value of each attribute triple, aligned with ``attr_triples``."""
    links: np.ndarray
    """(L, 2) int64 gold 1-to-1 links: KG1 id, KG2 id."""
    names: list[str | None] | None = None
    """Optional surface name per entity (None where absent)."""
    image_paths: list[Path | None] | None = None
    """Optional image file per entity, already checked to lie inside its folder."""
    image_features: np.ndarray | None = None
    """Optional (N, F) float32 supplied image features; rows of entities without one are 0."""
    image_feature_present: np.ndarray | None = None
    """(N,) bool: which rows of ``image_features`` are real."""
    source: Path | None = None
    """Folder the pair was loaded from, if any."""
    attr_types: list[str] | None = None
    """Optional RDF type of each attribute value, aligned with ``attr_values``: a datatype IRI
    (``http://www.w3.org/2001/XMLSchema#date``) or ``@`` and a language tag (``@en``); None
    for layouts whose values are untyped text (OpenEA, EVA, synthetic)."""
    present: np.ndarray = field(init=False)
    """(N, len(MODALITIES)) bool mask of real (not imputed) modalities."""

    def __post_init__(self) -> None:
        if self.attr_types is not None and len(self.attr_types) != len(self.attr_values):
            raise ValueError(f"attr_types has {len(self.attr_types)} entries for {len(self.attr_values)} attribute values")
        object.__setattr__(self, "present", self._compute_present())

    @property
    def n_entities(self) -> int:
        return len(self.entities)

    @property
    def n2(self) -> int:
        return self.n_entities - self.n1

    def kg_of(self, entity: int) -> int:
        """1 or 2: which KG a global entity id belongs to."""
        return 1 if entity < self.n1 else 2

    def modality_present(self, modality: str) -> np.ndarray:
        """(N,) bool: entities that really have ``modality``."""
        return self.present[:, MODALITIES.index(modality)]

    def _compute_present(self) -> np.ndarray:
        n = self.n_entities
        present = np.zeros((n, len(MODALITIES)), dtype=bool)
        if len(self.rel_triples):
            touched = np.zeros(n, dtype=bool)
            touched[self.rel_triples[:, 0]] = True
            touched[self.rel_triples[:, 2]] = True
            present[:, 0] = touched
            present[:, 1] = touched
        if len(self.attr_triples):
            present[np.unique(self.attr_triples[:, 0]), 2] = True
        visual = np.zeros(n, dtype=bool)
        if self.image_paths is not None:
            visual |= np.array([p is not None for p in self.image_paths], dtype=bool)
        if self.image_feature_present is not None:
            visual |= self.image_feature_present
        present[:, 3] = visual
        if self.names is not None:
            present[:, 4] = np.array([bool(s) for s in self.names], dtype=bool)
        return present

    def summary(self) -> dict[str, object]:
        """Counts per KG and the share of entities having each modality."""
        kgs = {}
        for kg, rows in ((1, slice(0, self.n1)), (2, slice(self.n1, self.n_entities))):
            lo, hi = rows.start, rows.stop
            in_kg = (self.rel_triples[:, 0] >= lo) & (self.rel_triples[:, 0] < hi)
            attr_in = (self.attr_triples[:, 0] >= lo) & (self.attr_triples[:, 0] < hi)
            mask = self.present[rows]
            kgs[f"kg{kg}"] = {
                "entities": hi - lo,
                "relations": int(np.unique(self.rel_triples[in_kg, 1]).size),
                "relation_triples": int(in_kg.sum()),
                "attribute_keys": int(np.unique(self.attr_triples[attr_in, 1]).size),
                "attribute_triples": int(attr_in.sum()),
                "modality_share": {
                    m: round(float(mask[:, i].mean()) if hi > lo else 0.0, 4)
                    for i, m in enumerate(MODALITIES)
                },
            }
        return {"name": self.name, **kgs, "gold_links": int(len(self.links))}
