"""The scale preset of the synthetic pair, and the demo's default left as it was."""
from __future__ import annotations

import pytest

from almea.data.synthetic import DemoConfig
from almea.data.synthetic_scale import SCALE_SIZES, scale_config, scale_pair


def test_the_preset_only_changes_size_and_pictures() -> None:
    config = scale_config(100_000, seed=2)
    assert config.n_entities == 117_648 and not config.images and config.seed == 2
    assert config.overlap == DemoConfig().overlap and config.triple_drop == DemoConfig().triple_drop
    assert DemoConfig().n_entities == 400 and DemoConfig().images                  # the demo's default
    assert SCALE_SIZES == (15_000, 30_000, 60_000, 100_000)


def test_a_side_lands_just_below_the_asked_size() -> None:
    pair = scale_pair(3_000)
    n2 = pair.n_entities - pair.n1
    assert 0.97 * 3_000 <= min(pair.n1, n2) and max(pair.n1, n2) <= 3_000 and pair.image_paths is None
    with pytest.raises(ValueError, match="per_side"):
        scale_config(5)
