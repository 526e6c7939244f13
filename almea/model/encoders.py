"""Per-modality encoders: GAT over a learnable embedding for g, Linear(d) for feature blocks."""
from __future__ import annotations

import torch
from torch import nn

from almea.model.graph import SparseGAT
from almea.model.inputs import AlignmentInputs


class FeatureEncoder(nn.Module):
    """(N, F) sparse or dense features -> (N, d); sparse inputs never densify."""

    def __init__(self, in_dim: int, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_dim, dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.is_sparse:
            return torch.sparse.mm(features, self.weight) + self.bias
        return features @ self.weight + self.bias


class ModalityEncoders(nn.Module):
    """All modality embeddings h^m (N, d) of every entity, keyed by modality name."""

    def __init__(self, inputs: AlignmentInputs, dim: int, gat_layers: int, gat_heads: int, dropout: float) -> None:
        super().__init__()
        self.modalities = inputs.modalities
        if "graph" in self.modalities:
            self.entity = nn.Parameter(torch.empty(inputs.n_entities, dim))
            nn.init.xavier_normal_(self.entity)
            self.gat = SparseGAT(dim, gat_layers, gat_heads, dropout)
        self.features = nn.ModuleDict(
            {m: FeatureEncoder(x.shape[1], dim) for m, x in inputs.features.items()}
        )

    def absent_rows(self) -> dict[str, torch.Tensor]:
        """(d,) per modality: the encoding of an entity without it. A loader gives such an
        entity an all-zero feature row, which encodes to the bias; the graph has no input
        row, so its absent row is zero."""
        rows = {m: encoder.bias for m, encoder in self.features.items()}
        if "graph" in self.modalities:
            rows["graph"] = self.entity.new_zeros(self.entity.shape[1])
        return rows

    def forward(self, inputs: AlignmentInputs) -> dict[str, torch.Tensor]:
        out = {}
        for modality in self.modalities:
            if modality == "graph":
                nodes = self.entity if inputs.nodes is None else self.entity[inputs.nodes]
                out[modality] = self.gat(nodes, inputs.blocks if inputs.blocks is not None else inputs.graph)
            else:
                out[modality] = self.features[modality](inputs.features[modality])
        return out
