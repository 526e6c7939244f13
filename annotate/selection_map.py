"""The selection map: a model version's candidate pool in 2-D, written by the worker and read
by the insights page.

One ``maps/map-v{version}.npz`` per model version (numpy arrays only, read with
``allow_pickle=False``): the file name ties a map to the rounds that version proposed, so
nothing else needs to record it, and an old project without maps simply shows none. A file
that is not such a map (truncated, edited, another file renamed) is refused on load with
``SelectionMapError``, never half-read.

The labelled layer is a fixed random sample of at most ``LABELLED_SHOWN`` pairs: a project at
100k entities per side has 20k seeds, and drawing them all made the Insights page 1.7x slower
than at 15k (320 vs 185 ms median, ``bench.insights_latency``) for a cloud no one can read.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA

from almea.atomic_write import write_atomically

MAPS_DIR = "maps"
LABELLED_SHOWN = 3_000
"""Most labelled pairs a map draws (a 15k-per-side project with 20% seeds has 3,000)."""


class SelectionMapError(ValueError):
    """A selection map file exists but cannot be read as one."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path, self.problem = Path(path), problem
        super().__init__(f"{self.path.name}: {problem}")


@dataclass(frozen=True, eq=False)
class SelectionMap:
    """A model version's candidate pool in 2-D, with what DS3 chose with and without D."""

    pairs: np.ndarray
    """(K, 2) int64 pool pairs (global ids), most confident first."""
    xy: np.ndarray
    """(K, 2) float32 coordinates of the pool pairs."""
    confidence: np.ndarray
    """(K,) float32 CSLS score."""
    chosen: np.ndarray
    """(K,) bool: proposed in the round (the strategy as configured)."""
    chosen_without_diversity: np.ndarray
    """(K,) bool: what DS3 picks from the same pool with D = 1 (the same as ``chosen`` when the
    strategy is not DS3 with a diversity penalty)."""
    labelled: np.ndarray
    """(L, 2) int64 pairs the model trained on (seed and accepted)."""
    labelled_xy: np.ndarray
    """(L, 2) float32 their coordinates."""
    labelled_total: np.ndarray
    """() int64: how many pairs the model trained on; ``labelled`` is a sample of them when
    there were more than ``LABELLED_SHOWN``."""

    def save(self, path: Path) -> None:
        """Written whole or not at all, so a page never reads half a map."""
        arrays = {f.name: getattr(self, f.name) for f in fields(self)}
        write_atomically(path, lambda file: np.savez_compressed(file, **arrays))

    @classmethod
    def load(cls, path: Path, n_entities: int | None = None) -> SelectionMap:
        """The map in ``path``; ``SelectionMapError`` when it is unreadable or its arrays do not
        fit together (or name entities beyond ``n_entities``)."""
        try:
            with np.load(path, allow_pickle=False) as arrays:
                found = {name: arrays[name] for name in arrays.files}
                if "labelled_total" not in found and "labelled" in found:     # maps drawn before the sample
                    found["labelled_total"] = np.asarray(len(found["labelled"]), np.int64)
                missing = [f.name for f in fields(cls) if f.name not in found]
                if missing:
                    raise SelectionMapError(path, f"arrays {missing} are missing")
                loaded = cls(**{f.name: found[f.name] for f in fields(cls)})
        except SelectionMapError:
            raise
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise SelectionMapError(path, f"not a readable map ({type(err).__name__}: {str(err)[:200]})") from err
        loaded._check(path, n_entities)
        return loaded

    def _check(self, path: Path, n_entities: int | None) -> None:
        k, n = len(self.pairs), len(self.labelled)
        shapes = {"pairs": (k, 2), "xy": (k, 2), "confidence": (k,), "chosen": (k,),
                  "chosen_without_diversity": (k,), "labelled": (n, 2), "labelled_xy": (n, 2)}
        for name, shape in shapes.items():
            if getattr(self, name).shape != shape:
                raise SelectionMapError(path, f"{name} has shape {getattr(self, name).shape}, expected {shape}")
        for name in ("pairs", "labelled"):
            ids = getattr(self, name)
            if ids.size and (ids.dtype.kind not in "iu" or ids.min() < 0 or (n_entities is not None and ids.max() >= n_entities)):
                raise SelectionMapError(path, f"{name} holds ids that are not entities of the dataset")
        for name in ("chosen", "chosen_without_diversity"):
            if getattr(self, name).dtype != np.bool_:
                raise SelectionMapError(path, f"{name} is {getattr(self, name).dtype}, expected bool")
        total = self.labelled_total
        if total.shape != () or total.dtype.kind not in "iu" or int(total) < n:
            raise SelectionMapError(path, f"labelled_total {total.tolist()} is not a count of at least {n} pairs")


def map_path(project_dir: Path, model_version: int) -> Path:
    return Path(project_dir) / MAPS_DIR / f"map-v{model_version}.npz"


def _rows(pairs: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """(K,) bool: which rows of ``pairs`` (K, 2) appear in ``chosen`` (n, 2)."""
    wanted = {tuple(p) for p in np.asarray(chosen).reshape(-1, 2).tolist()}
    return np.array([tuple(p) in wanted for p in pairs.tolist()], dtype=bool)


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def labelled_sample(labelled: np.ndarray, shown: int = LABELLED_SHOWN) -> np.ndarray:
    """At most ``shown`` rows of ``labelled`` (L, 2), a seeded uniform sample in their order, so
    the same pairs are drawn for the same labels."""
    if len(labelled) <= shown:
        return labelled
    rows = np.random.default_rng(0).choice(len(labelled), shown, replace=False)
    return labelled[np.sort(rows)]


def selection_map(
    embeddings: np.ndarray, pool: np.ndarray, confidence: np.ndarray, labelled: np.ndarray,
    chosen: np.ndarray, chosen_without_diversity: np.ndarray,
) -> SelectionMap:
    """Project pool and labelled pairs to 2-D by PCA of [h_S, h_T] (unit-normalised source and
    target embeddings side by side): squared distances there are twice DS3's dissimilarity
    (eq. 5), so the map shows the geometry the selection saw.

    ``embeddings`` (N, D) joint embeddings; ``pool`` (K, 2), ``labelled`` (L, 2),
    ``chosen`` and ``chosen_without_diversity`` (n, 2) global id pairs. Only
    ``labelled_sample(labelled)`` is drawn.
    """
    pool = np.asarray(pool, np.int64).reshape(-1, 2)
    every_labelled = np.asarray(labelled, np.int64).reshape(-1, 2)
    labelled = labelled_sample(every_labelled)
    both = np.concatenate([pool, labelled])
    points = np.hstack([_unit(embeddings[both[:, 0]]), _unit(embeddings[both[:, 1]])])
    xy = np.zeros((len(both), 2), np.float32)
    if len(both) >= 2:
        xy[:] = PCA(n_components=2, random_state=0).fit_transform(points)
    return SelectionMap(
        pairs=pool, xy=xy[: len(pool)], confidence=np.asarray(confidence, np.float32),
        chosen=_rows(pool, chosen), chosen_without_diversity=_rows(pool, chosen_without_diversity),
        labelled=labelled, labelled_xy=xy[len(pool):], labelled_total=np.asarray(len(every_labelled), np.int64),
    )
