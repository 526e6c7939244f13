"""The sparse GAT: gradients against autograd on a dense reference, and the union graph."""
from __future__ import annotations

import torch

from almea.model.graph import GraphIndex, SparseGATLayer, edge_spmm, union_graph


def small_graph() -> GraphIndex:
    triples = torch.tensor([[0, 0, 1], [1, 0, 2], [3, 1, 2], [2, 1, 0], [4, 0, 4]])
    return GraphIndex(union_graph(triples, 5), 5)


def test_union_graph_is_undirected_with_self_loops() -> None:
    graph = small_graph()
    edges = set(zip(graph.src.tolist(), graph.dst.tolist()))
    assert {(i, i) for i in range(5)} <= edges
    assert all((b, a) in edges for a, b in edges)
    assert len(edges) == graph.n_edges == 5 + 2 * 4


def test_edge_spmm_matches_dense_and_gradients() -> None:
    torch.manual_seed(0)
    graph = small_graph()
    alpha = torch.rand(graph.n_edges, dtype=torch.float64, requires_grad=True)
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    dense = torch.zeros(5, 5, dtype=torch.float64).index_put((graph.dst, graph.src), alpha)
    assert torch.allclose(edge_spmm(alpha, x, graph), dense @ x)
    assert torch.autograd.gradcheck(lambda a, v: edge_spmm(a, v, graph), (alpha, x))


def test_gat_layer_attention_sums_to_one() -> None:
    graph = small_graph()
    layer = SparseGATLayer(3, heads=2)
    x = torch.ones(5, 3)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    # Constant inputs: any convex combination of neighbours returns the input itself.
    assert torch.allclose(layer(x, graph), x, atol=1e-6)
