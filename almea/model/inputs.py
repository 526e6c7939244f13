"""Tensors the model reads: the union graph, feature blocks and real-presence masks."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch_geometric.utils import k_hop_subgraph

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
    """Global ids of ``graph``'s nodes when these are a batch's inputs (``batch``); None: the
    nodes are the rows, every entity."""
    roots: torch.Tensor | None = None
    """Positions of the rows among ``graph``'s nodes (``batch``); None: the rows are the nodes."""

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
        being ``rows[i]``; the graph is the rows' ``hops``-hop in-neighbourhood with every
        edge among its nodes, so a GAT of ``hops`` layers gives each row exactly what it gives
        it on the whole graph. What one training step of a large pair encodes
        (``almea.training.batch_rows``)."""
        edges = torch.stack([self.graph.src, self.graph.dst])
        nodes, sub_edges, roots, _ = k_hop_subgraph(rows, hops, edges, relabel_nodes=True, num_nodes=self.n_entities)
        return AlignmentInputs(
            n_entities=len(rows), n1=int((rows < self.n1).sum()), graph=GraphIndex(sub_edges, len(nodes)),
            features={m: torch.index_select(x, 0, rows) for m, x in self.features.items()},
            present={m: p[rows] for m, p in self.present.items()}, nodes=nodes, roots=roots)
