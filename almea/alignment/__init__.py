"""The alignment a project delivers: calibrated confidence, the full 1-to-1 prediction, its quality."""
from almea.alignment.calibration import Calibrator, precision_threshold
from almea.alignment.predict import PROVENANCE, Alignment, predict_alignment
from almea.alignment.quality import expected_calibration_error, precision_coverage, wilson_interval
from almea.alignment.scores import ScoreTable, score_table

__all__ = [
    "PROVENANCE",
    "Alignment",
    "Calibrator",
    "ScoreTable",
    "expected_calibration_error",
    "precision_coverage",
    "precision_threshold",
    "predict_alignment",
    "score_table",
    "wilson_interval",
]
