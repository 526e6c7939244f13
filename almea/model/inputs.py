"""Tensors the model reads: the union graph, feature blocks and real-presence masks."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from almea.data.kg_pair import KGPair
from almea.features import Features
from almea.model.graph import GraphIndex, union_graph


def pick_device(name: str = "auto") -> torch.device:
    """CUDA when present (or when asked), else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _to_torch(block: sp.csr_matrix | np.ndarray, device: torch.device) -> torch.Tensor:
    if sp.issparse(block):
        coo = block.tocoo()
        index = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
        values = torch.from_numpy(coo.data.astype(np.float32))
        return torch.sparse_coo_tensor(index, values, coo.shape, device=device, check_invariants=False).coalesce()
    return torch.from_numpy(np.asarray(block, dtype=np.float32)).to(device)


@dataclass
class AlignmentInputs:
    """Everything about the data that the model needs, on one device.

    ``features[m]`` is (N, F_m), sparse COO or dense; ``present[m]`` is (N,) bool. The
    graph modality has no features (a learnable embedding) but has a presence mask.
    """

    n_entities: int
    n1: int
    graph: GraphIndex
    features: dict[str, torch.Tensor]
    present: dict[str, torch.Tensor]

    @classmethod
    def build(cls, pair: KGPair, features: Features, modalities: tuple[str, ...], device: torch.device) -> "AlignmentInputs":
        """Keep the requested modalities that at least one entity really has."""
        n = pair.n_entities
        graph = GraphIndex(union_graph(torch.from_numpy(pair.rel_triples), n), n).to(device)
        feats: dict[str, torch.Tensor] = {}
        present: dict[str, torch.Tensor] = {}
        if "graph" in modalities:
            present["graph"] = torch.from_numpy(pair.modality_present("graph")).to(device)
        for modality in modalities:
            if modality in features.blocks and features.present[modality].any():
                feats[modality] = _to_torch(features.blocks[modality], device)
                present[modality] = torch.from_numpy(features.present[modality]).to(device)
        return cls(n, pair.n1, graph, feats, present)

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.present)
