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
    nodes: torch.Tensor | None = None
    """Global ids of the graph modality's input nodes when these are a batch's inputs
    (``batch``), the rows first; None: the nodes are the rows, every entity."""
    blocks: list[GraphIndex] | None = None
    """One graph per GAT layer, the first layer's first, when these are a batch's inputs
    (``batch``; ``graph`` is then the first); None: every layer runs on ``graph``."""

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

    def batch(self, rows: torch.Tensor, hops: int) -> "AlignmentInputs":
        """The inputs of the entities ``rows`` (R,) only (sorted, distinct global ids), row i
        being ``rows[i]``, for a GAT of ``hops`` layers: layer j computes the nodes within
        ``hops - j`` hops of the rows from those within ``hops - j + 1``, each over all of
        their in-edges, so each row gets exactly what the whole graph gives it while every
        layer computes only the nodes the next one reads. What one training step of a large
        pair encodes (``almea.training.batch_rows``)."""
        src, dst = self.graph.src, self.graph.dst
        level = torch.full((self.n_entities,), hops + 1, dtype=torch.long, device=rows.device)
        level[rows] = 0
        for hop in range(1, hops + 1):
            reached = src[level[dst] == hop - 1]
            level[reached] = level[reached].clamp(max=hop)
        nodes = torch.cat([torch.nonzero(level == hop).flatten() if hop else rows for hop in range(hops + 1)])
        position = torch.full((self.n_entities,), -1, dtype=torch.long, device=rows.device)
        position[nodes] = torch.arange(len(nodes), device=rows.device)
        blocks = []
        for layer in range(1, hops + 1):
            reads, computes = int((level <= hops - layer + 1).sum()), int((level <= hops - layer).sum())
            into = level[dst] <= hops - layer
            edges = torch.stack([position[src[into]], position[dst[into]]])
            blocks.append(GraphIndex(edges, computes, reads))
        graph = blocks[0] if blocks else GraphIndex(torch.zeros(2, 0, dtype=torch.long, device=rows.device), len(rows))
        return AlignmentInputs(
            n_entities=len(rows), n1=int((rows < self.n1).sum()), graph=graph,
            features={m: torch.index_select(x, 0, rows) for m, x in self.features.items()},
            present={m: p[rows] for m, p in self.present.items()}, nodes=nodes, blocks=blocks)
