"""A small synthetic pair with features, shared by the model tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from almea.data.kg_pair import KGPair
from almea.data.synthetic import DemoConfig, generate_demo


@pytest.fixture(scope="session")
def demo_pair(tmp_path_factory: pytest.TempPathFactory) -> KGPair:
    return generate_demo(DemoConfig(n_entities=300, seed=1, images=False))


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")
