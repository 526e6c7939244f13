"""Attach an image folder (``<entity>.<ext>``) to a KG pair, and the one way images are opened.

File names are the entity string percent-encoded with ``urllib.parse.quote(entity,
safe="")`` because entity URIs contain ``/``. Every file is checked to open as an image
and to lie inside the folder (a symlink cannot point elsewhere), so the app can serve
these paths without further checks.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, unquote

from PIL import Image, UnidentifiedImageError

from almea.data.errors import DataFormatError, excerpt
from almea.data.files import list_folder, open_regular
from almea.data.kg_pair import KGPair

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")
#: Largest image we decode (6000 x 6000, 108 MB as RGB). Entity pictures are thumbnails; a
#: file claiming more pixels is a decompression bomb. Pillow's own limit is set to the same
#: value here, the one place, so every Image.open in the process agrees with the loader.
MAX_IMAGE_PIXELS = 6000 * 6000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


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


@contextmanager
def read_image(path: Path) -> Iterator[Image.Image]:
    """Open ``path`` as an image; any failure inside the block becomes a DataFormatError.

    Only regular files are opened (a FIFO would block), images over ``MAX_IMAGE_PIXELS``
    are refused before decoding, and because Pillow's format plugins raise many exception
    types on corrupt data (OSError, SyntaxError, EOFError, struct.error, ...), all of them
    are reported as the file being unreadable.
    """
    with open_regular(path) as handle:
        try:
            with Image.open(handle) as img:
                if img.width * img.height > MAX_IMAGE_PIXELS:
                    raise DataFormatError(path, _bomb(img.width, img.height))
                yield img
        except DataFormatError:
            raise
        except Image.DecompressionBombError:
            raise DataFormatError(path, _bomb()) from None
        except UnidentifiedImageError:
            raise DataFormatError(path, "cannot read image: not a recognised image format") from None
        except Exception as err:  # noqa: BLE001 - see docstring
            raise DataFormatError(path, f"cannot read image: {type(err).__name__}: {excerpt(err)}") from None


def _bomb(width: int | None = None, height: int | None = None) -> str:
    size = "" if width is None else f" ({width} x {height})"
    return f"image has too many pixels{size}: more than {MAX_IMAGE_PIXELS:,}, a likely decompression bomb"


def check_image(path: Path) -> None:
    """Raise DataFormatError unless ``path`` decodes as an image."""
    with read_image(path) as img:
        img.verify()


def attach_image_folder(pair: KGPair, folder: Path) -> KGPair:
    """Return ``pair`` with ``image_paths`` from ``folder``; files of unknown entities are ignored."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFormatError(folder, "image folder does not exist")
    index = {e: i for i, e in enumerate(pair.entities)}
    paths: list[Path | None] = [None] * pair.n_entities
    for path in list_folder(folder):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        entity = index.get(unquote(path.stem))
        if entity is None:
            continue
        if paths[entity] is not None:
            raise DataFormatError(
                path, f"second image for entity {excerpt(pair.entities[entity])} (also {paths[entity].name})"
            )
        resolved = resolve_inside(folder, path)
        check_image(resolved)
        paths[entity] = resolved
    return dataclasses.replace(pair, image_paths=paths)
