"""Shared fixtures: small on-disk datasets and access to the real benchmarks."""
from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def real_dataset(relative: str) -> Path:
    """Path of a benchmark under ``../shared/data``; skips the test when it is absent."""
    path = SHARED_DATA / relative
    if not path.is_dir():
        pytest.skip(f"real benchmark {path} not found: put the shared data folder beside the project to run this")
    return path


@pytest.fixture(scope="session")
def demo_pair():
    """A small synthetic pair without images (300 world entities), for training tests."""
    from almea.data.synthetic import DemoConfig, generate_demo

    return generate_demo(DemoConfig(n_entities=300, seed=1, images=False))


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture
def openea_dir(tmp_path: Path) -> Path:
    """A tiny OpenEA pair: 4 entities per KG, 3 links, attributes with values."""
    folder = tmp_path / "openea"
    folder.mkdir()
    write_lines(folder / "rel_triples_1", ["/m/a\tborn_in\t/m/b", "/m/b\tpart_of\t/m/c", "/m/d\tborn_in\t/m/b"])
    write_lines(folder / "rel_triples_2", [
        "http://dbpedia.org/resource/A\tbirthPlace\thttp://dbpedia.org/resource/B",
        "http://dbpedia.org/resource/B\tcountry\thttp://dbpedia.org/resource/C",
        "http://dbpedia.org/resource/E\tbirthPlace\thttp://dbpedia.org/resource/C",
    ])
    write_lines(folder / "attr_triples_1", ["/m/a\tdate_of_birth\t1960.5", "/m/b\tlatitude\t33.2"])
    write_lines(folder / "attr_triples_2", ["http://dbpedia.org/resource/A\tbirthDate\t1960-07-01"])
    write_lines(folder / "ent_links", [
        "/m/a\thttp://dbpedia.org/resource/A",
        "/m/b\thttp://dbpedia.org/resource/B",
        "/m/c\thttp://dbpedia.org/resource/C",
    ])
    return folder


@pytest.fixture
def eva_dir(tmp_path: Path) -> Path:
    """A tiny EVA pair with non-contiguous ids, names and npz image features."""
    import json

    import numpy as np

    folder = tmp_path / "eva"
    folder.mkdir()
    write_lines(folder / "ent_ids_1", ["0\thttp://zh/a", "1\thttp://zh/b", "7\thttp://zh/c"])
    write_lines(folder / "ent_ids_2", ["100\thttp://en/a", "101\thttp://en/b", "102\thttp://en/c"])
    write_lines(folder / "triples_1", ["0\t5\t1", "1\t6\t7"])
    write_lines(folder / "triples_2", ["100\t9\t101", "102\t9\t101"])
    write_lines(folder / "ill_ent_ids", ["0\t100", "1\t101"])
    write_lines(folder / "training_attrs_1", ["http://zh/a\tbirth\theight"])
    (folder / "translated_ent_name.json").write_text(json.dumps([[0, ["alpha"]], [100, ["alpha", "x"]]]))
    np.savez(folder / "img_features.npz", ids=np.array([0, 101]), features=np.ones((2, 4), dtype=np.float32))
    return folder
