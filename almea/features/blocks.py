"""The per-modality feature matrices that the model consumes."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class Features:
    """Feature blocks of one KG pair, rows in the pair's global entity order.

    A modality appears only when the pair has data for it; the graph modality has no
    block (the model learns an embedding per entity).
    """

    blocks: dict[str, sp.csr_matrix | np.ndarray]
    """Modality -> (N, F) float32: CSR for the sparse bags, dense for image/MiniLM."""
    present: dict[str, np.ndarray]
    """Modality -> (N,) bool: real presence; absent rows are all zero, never noise."""

    def dims(self) -> dict[str, int]:
        """Modality -> feature width F, what the model's input layers need."""
        return {m: int(b.shape[1]) for m, b in self.blocks.items()}
