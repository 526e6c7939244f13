"""Active candidate selection (spec section 6): the candidate pool, DS3 and the strategies."""
from almea.selection.dissimilarity import dissimilarity_matrix, diversity_penalty, sparsity_weight
from almea.selection.ds3 import DS3Result, ds3_admm, ds3_objective, representatives
from almea.selection.ds3_reference import ds3_cvxpy
from almea.selection.pool import CandidatePool, candidate_pool
from almea.selection.registry import STRATEGIES, make_strategy, strategy_parameters
from almea.selection.strategies import (
    SOLVERS,
    DS3Selection,
    Selection,
    SelectionContext,
    degree_selection,
    ds3_selection,
    most_confident_selection,
    random_selection,
    uncertainty_selection,
)

__all__ = [
    "SOLVERS",
    "STRATEGIES",
    "CandidatePool",
    "DS3Result",
    "DS3Selection",
    "Selection",
    "SelectionContext",
    "candidate_pool",
    "degree_selection",
    "dissimilarity_matrix",
    "diversity_penalty",
    "ds3_admm",
    "ds3_cvxpy",
    "ds3_objective",
    "ds3_selection",
    "make_strategy",
    "most_confident_selection",
    "random_selection",
    "representatives",
    "sparsity_weight",
    "strategy_parameters",
    "uncertainty_selection",
]
