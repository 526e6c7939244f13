"""Simulated-oracle active learning runs and their reports (spec sections 7-8)."""
from almea.simulation.report import (
    curve_frame, learning_curve_figure, mean_std, rounds_frame, summary_frame, write_report,
)
from almea.simulation.runner import Simulation, SimulationConfig

__all__ = ["Simulation", "SimulationConfig", "curve_frame", "learning_curve_figure", "rounds_frame", "summary_frame", "write_report"]
