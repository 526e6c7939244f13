"""One entry point from (folder, layout) to a KG pair, used by the CLI and the app."""
from __future__ import annotations

from pathlib import Path

from almea.data.errors import DataFormatError
from almea.data.eva import load_eva
from almea.data.images import attach_image_folder
from almea.data.kg_pair import KGPair
from almea.data.openea import load_openea
from almea.data.rdf import load_rdf

LAYOUTS = ("openea", "eva", "images", "rdf")


def load_dataset(
    folder: Path,
    layout: str,
    *,
    images: Path | None = None,
    image_features: Path | None = None,
    allow_pickle: bool = False,
) -> KGPair:
    """Load a pair in ``layout``; an ``images/`` folder beside the files is attached.

    ``images`` layout = OpenEA files plus a required image folder (default ``folder/images``).
    ``rdf`` takes its images from ``foaf:depiction`` triples instead (:mod:`almea.data.rdf`).
    """
    folder = Path(folder)
    if layout == "rdf":
        if images is not None:
            raise DataFormatError(images, "the rdf layout takes images from foaf:depiction / schema:image triples, "
                                          "not from an image folder")
        return load_rdf(folder).pair
    if layout == "eva":
        pair = load_eva(folder, image_features=image_features, allow_pickle=allow_pickle)
    elif layout in ("openea", "images"):
        pair = load_openea(folder)
    else:
        raise ValueError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    image_dir = Path(images) if images is not None else folder / "images"
    if layout == "images" and not image_dir.is_dir():
        raise DataFormatError(image_dir, "the 'images' layout needs an image folder (<entity>.<ext> files)")
    if image_dir.is_dir():
        pair = attach_image_folder(pair, image_dir)
    return pair
