"""Per-entity fusion weights of each model version, kept beside its checkpoint
(``model-v<N>.weights.npz``, no pickle): what the joint embedding gives each modality of
each entity, for the Insights page's distribution and the Label page's pair.

The global fusion gives every entity the same row; MIMEA and MPSEA one row per entity. The
file names its fusion and its columns' modalities, so it reads without the model.
"""
from __future__ import annotations

import io
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from almea.atomic_write import write_atomically
from storage import Checkpoint, ProjectStore, Proposal

if TYPE_CHECKING:
    from almea.active import ActiveLearner


@dataclass(frozen=True, eq=False)
class EntityWeights:
    """One model version's (N, M) fusion weights, columns in ``modalities`` order."""

    fusion: str
    modalities: tuple[str, ...]
    weights: np.ndarray
    """(N, M) float32, rows summing to 1, global entity ids as rows."""

    @property
    def per_entity(self) -> bool:
        """Whether entities differ in their weights (False for the global fusion)."""
        return bool(len(self.weights)) and bool(np.ptp(self.weights, axis=0).max() > 0)

    def pair(self, source: int, target: int) -> pd.DataFrame:
        """One row per modality: the source's and the target's weight."""
        return pd.DataFrame({"modality": list(self.modalities), "KG1 source": self.weights[source],
                             "KG2 target": self.weights[target]})


def entity_weights_file(checkpoint_path: Path) -> Path:
    """``model-v3.pt`` -> ``model-v3.weights.npz``."""
    path = Path(checkpoint_path)
    return path.with_name(f"{path.stem}.weights.npz")


def save_entity_weights(checkpoint_path: Path, weights: EntityWeights) -> None:
    """Keep a model's per-entity weights beside its checkpoint (float32: 4 bytes per entity
    and modality, 0.6 MB for 27k entities and 6 modalities, against ~49 MB of weights)."""
    buffer = io.BytesIO()
    np.savez(buffer, weights=np.asarray(weights.weights, np.float32), modalities=np.array(weights.modalities, str),
             fusion=np.array(weights.fusion, str))
    write_atomically(entity_weights_file(checkpoint_path), buffer.getvalue())


def record_entity_weights(checkpoint_path: Path, learner: ActiveLearner) -> dict[str, dict[str, float]]:
    """Save the learner's per-entity weights beside its checkpoint; returns the metrics entry
    ``modality_weights`` as of this evaluation-mode pass. A per-entity fusion's global weights
    are the mean of its latest such pass, and the worker reads them right after training,
    before any: without this entry they would be the previous model's (1/M for the first)."""
    weights = learner.entity_weights().float().cpu().numpy()
    model = learner.model
    save_entity_weights(checkpoint_path, EntityWeights(model.config.fusion, model.modalities, weights))
    return {"modality_weights": learner.modality_weights()}


def load_entity_weights(checkpoint: Checkpoint | None, n_entities: int | None = None) -> EntityWeights | None:
    """The weights ``save_entity_weights`` kept for ``checkpoint``; None without a checkpoint
    or file (models trained before the file existed, pruned versions) or when the file is
    unreadable or not of ``n_entities`` entities (reported on stderr: the pages then show no
    per-entity weights)."""
    if checkpoint is None or not entity_weights_file(checkpoint.path).is_file():
        return None
    path = entity_weights_file(checkpoint.path)
    try:
        with np.load(path, allow_pickle=False) as data:
            weights, modalities, fusion = data["weights"], data["modalities"], str(data["fusion"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        print(f"{path}: unreadable entity weights ({type(err).__name__}: {str(err)[:200]}); showing none",
              file=sys.stderr)
        return None
    rows = len(weights) if n_entities is None else n_entities
    if weights.ndim != 2 or modalities.ndim != 1 or weights.shape != (rows, len(modalities)):
        print(f"{path}: expected ({rows}, {len(modalities)}) weights, found {weights.shape}; showing none",
              file=sys.stderr)
        return None
    return EntityWeights(fusion, tuple(str(m) for m in modalities), weights.astype(np.float32))


def version_weights(store: ProjectStore, version: int | None, n_entities: int | None = None) -> EntityWeights | None:
    """The per-entity weights of model ``version`` while its files are kept (``model_files``)."""
    checkpoint = next((c for c in store.checkpoints() if c.model_version == version), None)
    return load_entity_weights(checkpoint, n_entities)


def proposal_weights(store: ProjectStore, proposal: Proposal, n_entities: int | None = None) -> EntityWeights | None:
    """The per-entity weights of the model that proposed ``proposal``."""
    return version_weights(store, store.get_round(proposal.round_id).model_version, n_entities)
