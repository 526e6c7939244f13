"""Supplied image-feature files (``.npy``, ``.npz``, or an explicitly allowed pickle).

Formats, all keyed by the dataset's own entity ids:
- ``.npz`` with arrays ``ids`` (K,) and ``features`` (K, F);
- ``.npy`` (M, F) whose row i belongs to dataset id i; all-zero or NaN rows are missing;
- ``.pkl`` dict ``{id: vector}`` as EVA ships it, only with ``allow_pickle``.
"""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np

from almea.data.errors import DataFormatError

SUFFIXES = (".npy", ".npz", ".pkl", ".pickle")


def find_image_features(folder: Path) -> Path | None:
    """The one ``*img*``/``*image*`` feature file in ``folder``, or None; two is ambiguous."""
    found = sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.suffix in SUFFIXES and ("img" in p.name.lower() or "image" in p.name.lower())
    )
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise DataFormatError(folder, f"several image-feature files ({names}); pass one explicitly")
    return found[0] if found else None


def _read_by_id(path: Path, allow_pickle: bool) -> tuple[np.ndarray, np.ndarray]:
    """Return (dataset ids, feature rows) from any supported format."""
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                if "ids" not in archive or "features" not in archive:
                    raise DataFormatError(path, "expected arrays 'ids' and 'features' in the .npz")
                return np.asarray(archive["ids"]), np.asarray(archive["features"])
        if path.suffix == ".npy":
            matrix = np.load(path, allow_pickle=False)
            if matrix.ndim != 2:
                raise DataFormatError(path, f"expected a 2-D (ids, features) array, got shape {matrix.shape}")
            real = np.isfinite(matrix).all(axis=1) & (np.abs(matrix).sum(axis=1) > 0)
            return np.flatnonzero(real), matrix[real]
        if not allow_pickle:
            raise DataFormatError(
                path,
                "refusing to unpickle (it can run arbitrary code); pass --allow-pickle "
                "only if you trust this file, or convert it to .npz with 'ids' and 'features'",
            )
        with path.open("rb") as handle:
            table = pickle.load(handle)
        if not isinstance(table, dict):
            raise DataFormatError(path, f"expected a pickled dict {{id: vector}}, got {type(table).__name__}")
        ids = np.array(list(table.keys()))
        return ids, np.stack([np.asarray(v, dtype=np.float32).ravel() for v in table.values()])
    except (ValueError, OSError, zipfile.BadZipFile, pickle.UnpicklingError) as err:
        if isinstance(err, DataFormatError):
            raise
        raise DataFormatError(path, f"cannot read image features: {err}") from None


def load_image_features(
    path: Path, index: dict[int, int], n_entities: int, allow_pickle: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Features as an (N, F) float32 matrix in our index space, plus the present mask."""
    ids, rows = _read_by_id(path, allow_pickle)
    if rows.ndim != 2 or len(ids) != len(rows):
        raise DataFormatError(path, f"expected one feature row per id, got {len(ids)} ids and shape {rows.shape}")
    features = np.zeros((n_entities, rows.shape[1]), dtype=np.float32)
    present = np.zeros(n_entities, dtype=bool)
    for dataset_id, row in zip(ids.tolist(), rows):
        entity = index.get(int(dataset_id))
        if entity is None:
            raise DataFormatError(path, f"feature row for unknown entity id {dataset_id}")
        if not np.isfinite(row).all():
            raise DataFormatError(path, f"non-finite feature values for entity id {dataset_id}")
        features[entity] = row
        present[entity] = True
    return features, present
