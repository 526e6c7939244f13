"""Supplied image-feature files (``.npy``, ``.npz``, or an explicitly allowed pickle).

Formats, all keyed by the dataset's own entity ids:
- ``.npz`` with arrays ``ids`` (K,) integers and ``features`` (K, F) real numbers;
- ``.npy`` (M, F) whose row i belongs to dataset id i; all-zero or all-NaN rows are missing;
- ``.pkl`` dict ``{id: vector}`` as EVA ships it, only with ``allow_pickle``.
Whatever the format, ids must be distinct integers and every present value finite.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from almea.data.errors import DataFormatError, excerpt
from almea.data.files import list_folder, open_regular

SUFFIXES = (".npy", ".npz", ".pkl", ".pickle")


def find_image_features(folder: Path) -> Path | None:
    """The one ``*img*``/``*image*`` feature file in ``folder``, or None; two is ambiguous.

    Any entry with such a name counts (not only regular files), so a FIFO or a directory
    named like a feature file is reported when opened instead of silently skipped.
    """
    found = [
        p for p in list_folder(folder)
        if p.suffix in SUFFIXES and ("img" in p.name.lower() or "image" in p.name.lower())
    ]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise DataFormatError(folder, f"several image-feature files ({names}); pass one explicitly")
    return found[0] if found else None


def _unpickle(path: Path, allow_pickle: bool) -> tuple[np.ndarray, list[np.ndarray]]:
    if not allow_pickle:
        raise DataFormatError(
            path,
            "refusing to unpickle (it can run arbitrary code); pass --allow-pickle "
            "only if you trust this file, or convert it to .npz with 'ids' and 'features'",
        )
    with open_regular(path) as handle:
        table = pickle.load(handle)
    if not isinstance(table, dict):
        raise DataFormatError(path, f"expected a pickled dict {{id: vector}}, got {type(table).__name__}")
    bad = next((k for k in table if not isinstance(k, (int, np.integer)) or isinstance(k, bool)), None)
    if bad is not None:
        raise DataFormatError(path, f"expected integer ids as keys, got {excerpt(bad)}")
    return np.array(list(table), dtype=np.int64), [np.asarray(v).ravel() for v in table.values()]


def _read_by_id(path: Path, allow_pickle: bool) -> tuple[np.ndarray, np.ndarray]:
    """Return (dataset ids, feature rows) from any supported format."""
    if path.suffix in (".pkl", ".pickle"):
        ids, vectors = _unpickle(path, allow_pickle)
        if len({v.shape for v in vectors}) > 1:
            raise DataFormatError(path, "feature vectors differ in length")
        return ids, np.stack(vectors) if vectors else np.zeros((0, 0), np.float32)
    with open_regular(path) as handle:
        if path.suffix == ".npz":
            with np.load(handle, allow_pickle=False) as archive:
                if "ids" not in archive or "features" not in archive:
                    raise DataFormatError(path, "expected arrays 'ids' and 'features' in the .npz")
                return archive["ids"], archive["features"]
        matrix = np.load(handle, allow_pickle=False)
    if not isinstance(matrix, np.ndarray) or matrix.ndim != 2:
        raise DataFormatError(path, f"expected a 2-D (ids, features) array, got shape {np.shape(matrix)}")
    _check_real(path, matrix)
    missing = np.isnan(matrix).all(axis=1) | (matrix == 0).all(axis=1)
    return np.flatnonzero(~missing), matrix[~missing]


def _check_real(path: Path, values: np.ndarray) -> None:
    """Features are real numbers: complex, boolean, text or object arrays are refused."""
    if not (np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.floating)):
        raise DataFormatError(path, f"expected real-valued features, got dtype {values.dtype}")


def _check_ids(path: Path, ids: np.ndarray, rows: np.ndarray) -> None:
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise DataFormatError(path, f"expected a 1-D array of integer ids, got dtype {ids.dtype} shape {ids.shape}")
    if rows.ndim != 2 or len(ids) != len(rows):
        raise DataFormatError(path, f"expected one feature row per id, got {len(ids)} ids and shape {rows.shape}")
    _check_real(path, rows)
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise DataFormatError(path, f"entity id {unique[counts > 1][0]} has more than one feature row")


def _read_checked(path: Path, allow_pickle: bool) -> tuple[np.ndarray, np.ndarray]:
    """``_read_by_id`` with every decoder failure turned into a DataFormatError.

    numpy's and pickle's readers raise many exception types on corrupt input (ValueError,
    EOFError, BadZipFile, UnpicklingError, MemoryError for a forged shape, ...), so this
    boundary catches them all.
    """
    try:
        ids, rows = _read_by_id(path, allow_pickle)
    except DataFormatError:
        raise
    except Exception as err:  # noqa: BLE001 - see docstring
        raise DataFormatError(path, f"cannot read image features: {type(err).__name__}: {excerpt(err)}") from None
    _check_ids(path, ids, rows)
    return ids, rows


def load_image_features(
    path: Path, index: dict[int, int], n_entities: int, allow_pickle: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Features as an (N, F) float32 matrix in our index space, plus the present mask."""
    ids, rows = _read_checked(path, allow_pickle)
    with np.errstate(over="ignore"):  # a value beyond float32 becomes inf and is refused below
        rows = rows.astype(np.float32)
    features = np.zeros((n_entities, rows.shape[1]), dtype=np.float32)
    present = np.zeros(n_entities, dtype=bool)
    for dataset_id, row in zip(ids.tolist(), rows):
        entity = index.get(dataset_id)
        if entity is None:
            raise DataFormatError(path, f"feature row for unknown entity id {dataset_id}")
        if not np.isfinite(row).all():
            raise DataFormatError(path, f"non-finite feature values for entity id {dataset_id}")
        features[entity] = row
        present[entity] = True
    return features, present
