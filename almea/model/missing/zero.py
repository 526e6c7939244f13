"""No imputation: a missing modality keeps the encoding of its empty (all-zero) feature row.

The baseline every other strategy is measured against (rMMEA's and MACO's "zero" and
"random" fillings; here never random: a loader gives an absent modality a zero row).
"""
from __future__ import annotations

from almea.model.missing.base import MissingModality


class ZeroFill(MissingModality):
    """Completes nothing and adds no loss."""

    name = "zero"
