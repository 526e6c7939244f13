"""Selection strategies: one signature, documented fields, and each strategy's ordering."""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch

import scipy.sparse as sp

from almea.selection import STRATEGIES, make_strategy, strategy_parameters
from almea.selection.pool import CandidatePool, candidate_pool
from almea.selection.strategies import DS3Selection, Selection, SelectionContext, random_selection
from almea.selection.structure_uncertainty import StructureUncertaintySelection, propagated_uncertainty
from almea.selection.uncertain_ds3 import UncertainDS3Selection

RECORD_KEYS = {"source", "target", "confidence", "rank", "diversity_penalty", "row_weight"}


def clustered_world(per: int = 12, angles=(0, 50, 100, 150), spread: float = 0.05, seed: int = 0):
    """Candidate pairs (i, K + i) in clusters at ``angles`` on a circle; 3 labelled pairs sit on
    cluster 0. Returns embeddings, pool, labelled pairs and each pair's cluster."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.zeros(len(angles), 8)
    for c, angle in enumerate(angles):
        centres[c, 0], centres[c, 1] = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    clusters = np.repeat(np.arange(len(angles)), per)
    k = len(clusters)
    near = lambda rows: centres[rows] + spread * torch.randn(len(rows), 8, generator=g)  # noqa: E731
    emb = torch.cat([near(clusters), near(clusters), near([0, 0, 0]), near([0, 0, 0])])
    pairs = np.stack([np.arange(k), np.arange(k, 2 * k)], axis=1)
    labelled = np.stack([2 * k + np.arange(3), 2 * k + 3 + np.arange(3)], axis=1)
    margin = np.random.default_rng(seed).uniform(0.01, 1.0, k)
    pool = CandidatePool(pairs, np.linspace(1.0, 0.0, k), margin, np.arange(k))
    return emb, pool, labelled, clusters


def context(emb: torch.Tensor, labelled: np.ndarray, seed: int = 0) -> SelectionContext:
    degree = np.random.default_rng(seed).integers(0, 20, len(emb))
    return SelectionContext(emb, labelled, degree, np.random.default_rng(seed))


def test_every_strategy_shares_one_signature() -> None:
    signatures = {name: inspect.signature(fn) for name, fn in STRATEGIES.items()}
    assert set(STRATEGIES) == {"ds3", "random", "most-confident", "uncertainty", "degree", "ds3-uncertain",
                               "structure-uncertainty"}
    for signature in signatures.values():
        assert list(signature.parameters) == ["pool", "context", "n"]
        assert signature.return_annotation in (Selection, "Selection")


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_strategy_returns_n_unique_pool_pairs_with_reasons(name: str) -> None:
    emb, pool, labelled, _ = clustered_world()
    selection = STRATEGIES[name](pool, context(emb, labelled), 7)
    assert selection.strategy == name and selection.seconds >= 0
    assert len(selection) == 7 and selection.pairs.shape == (7, 2)
    assert len({tuple(p) for p in selection.pairs.tolist()}) == 7
    np.testing.assert_array_equal(pool.pairs[selection.rank], selection.pairs)
    np.testing.assert_array_equal(pool.confidence[selection.rank], selection.confidence)
    for field in (selection.confidence, selection.rank, selection.diversity, selection.row_weight):
        assert field.shape == (7,) and np.isfinite(field).all()
    assert ((selection.diversity >= 1) & (selection.diversity <= 3)).all()
    assert (selection.row_weight >= 0).all()
    if not name.startswith("ds3"):
        assert (selection.diversity == 1).all() and (selection.row_weight == 0).all()
    records = selection.to_records()
    assert len(records) == 7 and set(records[0]) == RECORD_KEYS
    assert (records[0]["source"], records[0]["target"]) == tuple(selection.pairs[0].tolist())


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_more_than_the_pool_returns_the_whole_pool(name: str) -> None:
    emb, pool, labelled, _ = clustered_world(per=4)
    selection = STRATEGIES[name](pool, context(emb, labelled), 100)
    assert sorted(map(tuple, selection.pairs.tolist())) == sorted(map(tuple, pool.pairs.tolist()))
    assert len(STRATEGIES[name](pool, context(emb, labelled), 0)) == 0
    assert len(STRATEGIES[name](CandidatePool.empty(), context(emb, labelled), 5)) == 0


def test_baseline_orders() -> None:
    emb, pool, labelled, _ = clustered_world()
    ctx = context(emb, labelled)
    assert STRATEGIES["most-confident"](pool, ctx, 5).rank.tolist() == [0, 1, 2, 3, 4]
    uncertain = STRATEGIES["uncertainty"](pool, ctx, 5)
    assert uncertain.rank.tolist() == np.argsort(pool.margin)[:5].tolist()
    degree = STRATEGIES["degree"](pool, ctx, 5)
    score = ctx.degree[pool.pairs[:, 0]] + ctx.degree[pool.pairs[:, 1]]
    assert score[degree.rank].tolist() == sorted(score.tolist(), reverse=True)[:5]


def test_random_is_seeded() -> None:
    emb, pool, labelled, _ = clustered_world()
    first = random_selection(pool, context(emb, labelled, seed=3), 10)
    again = random_selection(pool, context(emb, labelled, seed=3), 10)
    other = random_selection(pool, context(emb, labelled, seed=4), 10)
    np.testing.assert_array_equal(first.pairs, again.pairs)
    assert first.pairs.tolist() != other.pairs.tolist()


def test_ds3_covers_every_cluster_without_diversity() -> None:
    emb, pool, labelled, clusters = clustered_world()
    selection = DS3Selection(alpha=0.35, use_diversity=False)(pool, context(emb, labelled), 4)
    assert sorted(clusters[selection.rank].tolist()) == [0, 1, 2, 3]
    assert (selection.row_weight > 1).all() and (selection.diversity == 1).all()


def test_ds3_diversity_avoids_the_labelled_region() -> None:
    emb, pool, labelled, clusters = clustered_world()
    plain = DS3Selection(alpha=0.35, use_diversity=False)(pool, context(emb, labelled), 4)
    diverse = DS3Selection(alpha=0.35, use_diversity=True)(pool, context(emb, labelled), 4)
    representative = diverse.row_weight > 1e-3
    assert representative.sum() >= 2
    assert 0 not in clusters[diverse.rank[representative]]              # no representative of it
    assert 0 in clusters[plain.rank]
    # Its pairs carry the full penalty; the farthest cluster is barely penalised.
    assert diverse.diversity[clusters[diverse.rank] == 0].min() > 2.9
    assert diverse.diversity[representative].min() < 2.0


def test_ds3_cvxpy_solver_agrees_with_admm() -> None:
    emb, pool, labelled, _ = clustered_world(per=6)
    admm = DS3Selection(solver="admm")(pool, context(emb, labelled), 3)
    exact = DS3Selection(solver="cvxpy")(pool, context(emb, labelled), 3)
    # Equal-sized clusters give near-equal row norms, so compare the chosen sets.
    assert sorted(map(tuple, admm.pairs.tolist())) == sorted(map(tuple, exact.pairs.tolist()))
    np.testing.assert_allclose(np.sort(admm.row_weight), np.sort(exact.row_weight), atol=1e-2)


def test_strategies_run_on_a_real_candidate_pool() -> None:
    g = torch.Generator().manual_seed(2)
    base = torch.randn(40, 16, generator=g)
    emb = torch.cat([base, base + 0.1 * torch.randn(40, 16, generator=g)])
    pool = candidate_pool(emb, torch.arange(5, 40), torch.arange(45, 80), k=3)
    ctx = context(emb, np.stack([np.arange(5), np.arange(40, 45)], axis=1))
    for strategy in STRATEGIES.values():
        selection = strategy(pool, ctx, 5)
        assert len(selection) == 5 and set(map(tuple, selection.pairs.tolist())) <= set(map(tuple, pool.pairs.tolist()))


def test_context_validation() -> None:
    emb = torch.zeros(4, 2)
    with pytest.raises(ValueError, match=r"\(L, 2\)"):
        SelectionContext(emb, np.zeros((3, 3)), np.zeros(4), np.random.default_rng(0))
    with pytest.raises(ValueError, match="degree"):
        SelectionContext(emb, np.zeros((0, 2)), np.zeros(3), np.random.default_rng(0))
    assert SelectionContext(emb, [], np.zeros(4), np.random.default_rng(0)).labelled.shape == (0, 2)
    emb_pool = clustered_world(per=2)
    with pytest.raises(ValueError, match="n must be"):
        STRATEGIES["most-confident"](emb_pool[1], context(emb_pool[0], emb_pool[2]), -1)


def test_each_strategy_owns_its_parameters() -> None:
    assert strategy_parameters("ds3") == ("alpha", "sigma", "use_diversity", "solver")
    assert strategy_parameters("ds3-uncertain") == ("alpha", "sigma", "use_diversity", "solver", "band")
    assert strategy_parameters("structure-uncertainty") == ("propagation", "iterations")
    assert all(strategy_parameters(name) == () for name in STRATEGIES if "ds3" not in name and "structure" not in name)
    assert make_strategy("random") is random_selection
    assert make_strategy("ds3", alpha=0.5, solver="cvxpy") == DS3Selection(alpha=0.5, solver="cvxpy")
    assert make_strategy("ds3") == DS3Selection()


@pytest.mark.parametrize(
    ("name", "parameters", "message"),
    [
        ("ds3", {"alpah": 0.5}, r"'ds3' takes only alpha, sigma, use_diversity, solver; got unknown alpah"),
        ("random", {"alpha": 0.5}, r"'random' takes no parameters; got unknown alpha"),
        ("ds4", {}, r"strategy must be one of \('ds3', 'random'"),
        ("ds3", {"solver": "magic"}, r"ds3.solver must be one of \('admm', 'cvxpy'\), got 'magic'"),
        ("ds3", {"alpha": 0.0}, r"ds3.alpha must be a number in \(0.0, inf\), got 0.0"),
        ("ds3", {"alpha": float("nan")}, r"ds3.alpha must be a number"),
        ("ds3", {"sigma": 0.5}, r"ds3.sigma must be a number in \[1.0, inf\), got 0.5"),
        ("ds3", {"use_diversity": "no"}, r"ds3.use_diversity must be True or False, got 'no'"),
    ],
)
def test_strategies_reject_unknown_or_bad_parameters(name: str, parameters: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_strategy(name, **parameters)


def test_uncertain_ds3_chooses_only_within_the_band() -> None:
    emb, pool, labelled, _ = clustered_world()
    selection = UncertainDS3Selection(band=2.0)(pool, context(emb, labelled), 5)
    band = set(np.argsort(pool.margin, kind="stable")[:10].tolist())
    assert len(selection) == 5 and set(selection.rank.tolist()) <= band
    assert selection.strategy == "ds3-uncertain"
    with pytest.raises(ValueError, match="band"):
        UncertainDS3Selection(band=0.5)


def test_propagated_uncertainty_is_the_fixed_point() -> None:
    graph = sp.csr_matrix(np.array([[0, 1, 1, 0], [1, 0, 0, 0], [1, 0, 0, 1], [0, 0, 1, 0]], dtype=float))
    own = np.array([0.2, 1.0, 0.0, 0.5])
    spread = graph.toarray() / graph.toarray().sum(axis=0)
    exact = np.linalg.solve(np.eye(4) - 0.5 * spread, 0.5 * own)
    np.testing.assert_allclose(propagated_uncertainty(graph, own, 0.5, 60), exact, atol=1e-12)


def test_structure_uncertainty_prefers_uncertain_neighbourhoods() -> None:
    """Two candidates equally uncertain: the one whose source has uncertain neighbours comes
    first; without a graph the order is plain uncertainty (smallest margin first)."""
    pairs = np.array([[0, 10], [1, 11], [2, 12], [3, 13], [4, 14]])
    pool = CandidatePool(pairs, np.linspace(1, 0, 5), np.array([0.5, 0.5, 0.2, 0.2, 0.2]), np.arange(5))
    rows, cols = [1, 1, 1, 2, 3, 4], [2, 3, 4, 1, 1, 1]                 # entity 1 links to 2, 3, 4
    graph = sp.csr_matrix((np.ones(6), (rows, cols)), shape=(20, 20))
    emb = torch.randn(20, 4)
    with_graph = SelectionContext(emb, np.zeros((0, 2)), np.zeros(20, np.int64), np.random.default_rng(0), graph)
    order = StructureUncertaintySelection()(pool, with_graph, 5).pairs[:, 0].tolist()
    assert order.index(1) < order.index(0)
    plain = SelectionContext(emb, np.zeros((0, 2)), np.zeros(20, np.int64), np.random.default_rng(0))
    assert StructureUncertaintySelection()(pool, plain, 5).pairs[:, 0].tolist()[:3] == [2, 3, 4]
