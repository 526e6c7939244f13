"""Pictures for the synthetic demo: one visual identity per world entity, drawn per view.

Each entity gets a type-specific shape, a palette and a few background blobs. Both views
draw the same identity with their own small shift, rotation and colour cast, so a
picture identifies its entity the way two photos of one thing do, without being a copy.
Also copies a pair's pictures when it is written out (``write_openea``).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from almea.data.images import image_file_name

#: Polygon sides per entity type (0 = circle, -5 = five-pointed star), in ``synthetic.TYPES`` order.
SHAPE_SIDES: tuple[int, ...] = (0, 4, 6, 3, 4, -5)
#: Extra rotation per type so the square (city) and the diamond (organisation) differ.
SHAPE_ROTATION: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 45.0, 0.0)
_BLOBS = 3
_MAX_SHIFT = 2.0 / 64  # share of the side: a couple of pixels at 64 px
_MAX_ANGLE = 8.0  # degrees
_MAX_CAST = 12  # per-channel colour offset, out of 255


@dataclass(frozen=True)
class VisualIdentity:
    """What an entity looks like, independent of the view that draws it."""

    shape: np.ndarray
    """(N,) int: entity type index into :data:`SHAPE_SIDES`."""
    background: np.ndarray
    """(N, 3) uint8 background colour."""
    foreground: np.ndarray
    """(N, 3) uint8 colour of the central shape."""
    blobs: np.ndarray
    """(N, B, 6) float: centre x, centre y, radius (shares of the side) and RGB in [0, 1]."""


def visual_identities(types: np.ndarray, rng: np.random.Generator) -> VisualIdentity:
    """Draw a random identity per entity; ``types`` picks the shape."""
    n = len(types)
    colours = rng.integers(0, 256, size=(n, 2, 3), dtype=np.uint8)
    blobs = rng.random((n, _BLOBS, 6))
    blobs[:, :, 2] = 0.12 + 0.2 * blobs[:, :, 2]  # radii big enough to survive the jitter
    return VisualIdentity(np.asarray(types), colours[:, 0], colours[:, 1], blobs)


def _shape_points(sides: int, centre: float, radius: float, rotation: float) -> list[tuple[float, float]]:
    """Vertices of a regular polygon, or of a star when ``sides`` is negative."""
    points = abs(sides) * (2 if sides < 0 else 1)
    angles = np.deg2rad(rotation - 90.0) + 2 * np.pi * np.arange(points) / points
    radii = np.full(points, radius)
    if sides < 0:
        radii[1::2] = radius * 0.45
    return list(zip((centre + radii * np.cos(angles)).tolist(), (centre + radii * np.sin(angles)).tolist()))


def draw_entity(identity: VisualIdentity, entity: int, jitter: np.ndarray, size: int) -> Image.Image:
    """Draw ``entity`` with one view's ``jitter`` = (dx, dy, angle, r, g, b) in [-1, 1]."""
    background = tuple(int(c) for c in identity.background[entity])
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    for x, y, r, *rgb in identity.blobs[entity]:
        box = ((x - r) * size, (y - r) * size, (x + r) * size, (y + r) * size)
        draw.ellipse(box, fill=tuple(int(255 * c) for c in rgb))
    kind = int(identity.shape[entity])
    sides, centre, radius = SHAPE_SIDES[kind], size / 2, size * 0.3
    foreground = tuple(int(c) for c in identity.foreground[entity])
    if sides == 0:
        draw.ellipse((centre - radius, centre - radius, centre + radius, centre + radius), fill=foreground)
    else:
        draw.polygon(_shape_points(sides, centre, radius, SHAPE_ROTATION[kind]), fill=foreground)
    shift = (float(jitter[0]) * _MAX_SHIFT * size, float(jitter[1]) * _MAX_SHIFT * size)
    image = image.rotate(
        float(jitter[2]) * _MAX_ANGLE, resample=Image.Resampling.BILINEAR, translate=shift, fillcolor=background
    )
    cast = np.rint(np.asarray(jitter[3:6]) * _MAX_CAST).astype(np.int16)
    pixels = np.clip(np.asarray(image, dtype=np.int16) + cast, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def write_view_images(
    identity: VisualIdentity,
    world_ids: np.ndarray,
    entities: list[str],
    folder: Path,
    size: int,
    rng: np.random.Generator,
) -> list[Path]:
    """Draw one view's pictures of ``world_ids`` into ``folder``, named after ``entities``.

    The jitter is drawn here in one block per view so both views differ independently.
    """
    folder.mkdir(parents=True, exist_ok=True)
    jitter = rng.uniform(-1.0, 1.0, size=(len(world_ids), 6))
    paths = []
    for row, (world, entity) in enumerate(zip(world_ids.tolist(), entities)):
        path = folder / image_file_name(entity)
        # Plain save: Pillow writes no timestamp, so equal pixels give equal bytes.
        draw_entity(identity, world, jitter[row], size).save(path, format="PNG")
        paths.append(path)
    return paths


def draw_views(
    types: np.ndarray,
    views: list[tuple[np.ndarray, list[str]]],
    missing: tuple[float, float],
    folder: Path,
    size: int,
    rng: np.random.Generator,
) -> list[Path | None]:
    """Picture paths for the entities of both views, KG1 first, None where missing.

    ``views`` holds per view its world ids and entity strings; an exact ``missing`` share
    of each view (up to rounding) gets no picture, so the demo's missingness is as stated.
    """
    identity = visual_identities(types, rng)
    paths: list[Path | None] = []
    for (world_ids, entities), rate in zip(views, missing):
        has = np.ones(len(world_ids), dtype=bool)
        has[rng.choice(len(world_ids), size=round(rate * len(world_ids)), replace=False)] = False
        kept = np.flatnonzero(has)
        drawn = iter(write_view_images(identity, world_ids[kept], [entities[i] for i in kept], folder, size, rng))
        paths.extend(next(drawn) if h else None for h in has.tolist())
    return paths


def swap_pictures(paths: list[Path | None], n1: int, share: float, rng: np.random.Generator) -> list[Path | None]:
    """``paths`` with ``share`` of each view's pictured entities (KG1's first ``n1``, then
    KG2's) showing the next chosen entity's picture: a cycle, so none keeps its own."""
    out = list(paths)
    for lo, hi in ((0, n1), (n1, len(paths))):
        pictured = [i for i in range(lo, hi) if paths[i] is not None]
        chosen = rng.choice(len(pictured), size=round(share * len(pictured)), replace=False)
        if len(chosen) < 2:
            continue
        rows = [pictured[i] for i in chosen.tolist()]
        for row, source in zip(rows, rows[1:] + rows[:1]):
            out[row] = paths[source]
    return out


def copy_pictures(entities: list[str], sources: list[Path | None], folder: Path) -> None:
    """Copy each entity's picture into ``folder`` under the image-folder naming convention."""
    folder.mkdir(parents=True, exist_ok=True)
    for entity, source in zip(entities, sources):
        if source is None:
            continue
        target = folder / image_file_name(entity, Path(source).suffix)
        if target.resolve() != Path(source).resolve():  # the pictures may already live there
            shutil.copyfile(source, target)
