"""The EfficientNet-Lite0 image encoder behind the visual block, on tiny Pillow-made PNGs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from almea.data.errors import DataFormatError
from almea.features import FeatureConfig, build_features
from almea.features.images import EMBEDDING_DIM, encode_images
from tests.test_features import count_calls, make_pair


@pytest.fixture
def pictures(tmp_path: Path) -> list[Path]:
    """A red square, a blue-green gradient (not square) and a checkerboard."""
    red = Image.new("RGB", (32, 32), (220, 20, 20))
    ramp = np.linspace(0, 255, 48, dtype=np.uint8)
    gradient = Image.fromarray(np.stack([np.zeros((40, 48), np.uint8), np.tile(ramp, (40, 1)),
                                         np.tile(ramp[::-1], (40, 1))], axis=-1))
    checker = Image.fromarray((np.indices((64, 64)).sum(axis=0) // 8 % 2 * 255).astype(np.uint8)).convert("L")
    paths = []
    for name, image in (("red", red), ("gradient", gradient), ("checker", checker)):
        paths.append(tmp_path / f"{name}.png")
        image.save(paths[-1])
    return paths


def test_encoder_gives_deterministic_distinct_1280d_rows(pictures) -> None:
    paths = [pictures[0], None, pictures[1], pictures[2]]
    first, present = encode_images(paths)
    second, _ = encode_images(paths)
    assert first.shape == (4, EMBEDDING_DIM) and first.dtype == np.float32
    assert present.tolist() == [True, False, True, True]
    assert not first[1].any(), "an entity without an image is a zero row"
    np.testing.assert_allclose(first, second, rtol=1e-4, atol=1e-5)
    rows = first[[0, 2, 3]]
    assert np.all(np.linalg.norm(rows, axis=1) > 0)
    for i in range(3):
        for j in range(i + 1, 3):
            assert np.abs(rows[i] - rows[j]).max() > 1e-2, "different images, different vectors"


def test_visual_block_from_image_files_is_cached(tmp_path, pictures, monkeypatch) -> None:
    calls = count_calls(monkeypatch, "encode_images")
    pair = make_pair(image_paths=[pictures[0], None, pictures[1], None, pictures[2], None])
    features = build_features(pair, cache_dir=tmp_path / "cache")
    again = build_features(pair, cache_dir=tmp_path / "cache")
    assert calls[0] == 1
    assert isinstance(again.blocks["visual"], np.ndarray)
    assert again.blocks["visual"].shape == (6, EMBEDDING_DIM)
    np.testing.assert_array_equal(features.blocks["visual"], again.blocks["visual"])
    assert again.present["visual"].tolist() == [True, False, True, False, True, False]

    Image.new("RGB", (20, 20), (0, 0, 255)).save(pictures[0])  # replaced file: new size/mtime
    replaced = build_features(pair, cache_dir=tmp_path / "cache")
    assert calls[0] == 2
    assert np.abs(replaced.blocks["visual"][0] - features.blocks["visual"][0]).max() > 1e-2


def test_images_switch_and_unreadable_image(tmp_path, pictures) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG but not really")
    pair = make_pair(image_paths=[pictures[0], broken, None, None, None, None])
    off = build_features(pair, FeatureConfig(images=False), cache_dir=tmp_path / "cache")
    assert "visual" not in off.blocks
    with pytest.raises(DataFormatError, match="cannot read image") as err:
        build_features(pair, cache_dir=tmp_path / "cache")
    assert err.value.path == broken and str(broken) in str(err.value)
