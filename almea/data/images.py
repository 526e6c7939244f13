"""Attach an image folder (``<entity>.<ext>``) to a KG pair.

File names are the entity string percent-encoded with ``urllib.parse.quote(entity,
safe="")`` because entity URIs contain ``/``. Every file is checked to open as an image
and to lie inside the folder (a symlink cannot point elsewhere), so the app can serve
these paths without further checks.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import quote, unquote

from PIL import Image, UnidentifiedImageError

from almea.data.errors import DataFormatError
from almea.data.kg_pair import KGPair

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")


def image_file_name(entity: str, suffix: str = ".png") -> str:
    """The file name under which ``entity``'s image is stored in an image folder."""
    return quote(entity, safe="") + suffix


def resolve_inside(folder: Path, path: Path) -> Path:
    """Resolve ``path`` and refuse it unless it stays inside ``folder`` (no traversal)."""
    root = folder.resolve()
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise DataFormatError(path, f"image path escapes the image folder {root}")
    return resolved


def check_image(path: Path) -> None:
    """Raise DataFormatError unless ``path`` decodes as an image."""
    try:
        with Image.open(path) as img:
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise DataFormatError(path, f"cannot read image: {err}") from None


def attach_image_folder(pair: KGPair, folder: Path) -> KGPair:
    """Return ``pair`` with ``image_paths`` from ``folder``; files of unknown entities are ignored."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFormatError(folder, "image folder does not exist")
    index = {e: i for i, e in enumerate(pair.entities)}
    paths: list[Path | None] = [None] * pair.n_entities
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        entity = index.get(unquote(path.stem))
        if entity is None:
            continue
        if paths[entity] is not None:
            raise DataFormatError(path, f"second image for entity {pair.entities[entity]!r} (also {paths[entity].name})")
        resolved = resolve_inside(folder, path)
        check_image(resolved)
        paths[entity] = resolved
    return dataclasses.replace(pair, image_paths=paths)
