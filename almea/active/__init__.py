"""Active learning pieces shared by simulated runs and the annotation worker (spec section 7)."""
from almea.active.budget import Budget, parse_budget
from almea.active.learner import ActiveLearner, LearnerConfig, SelectionConfig, entity_degrees
from almea.active.oracle import GoldOracle

__all__ = ["ActiveLearner", "Budget", "GoldOracle", "LearnerConfig", "SelectionConfig", "entity_degrees", "parse_budget"]
