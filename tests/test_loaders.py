"""Loaders on small fixtures: index space, counts, modalities and links."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from almea.data import DataFormatError, load_dataset
from almea.data.images import image_file_name


def test_openea_index_space_and_counts(openea_dir: Path) -> None:
    pair = load_dataset(openea_dir, "openea")
    assert pair.n1 == 4 and pair.n2 == 4
    assert pair.entities[:4] == ["/m/a", "/m/b", "/m/c", "/m/d"]
    assert len(pair.rel_triples) == 6
    assert (pair.rel_triples[3:, [0, 2]] >= pair.n1).all(), "KG2 triples use KG2 ids"
    assert pair.links.tolist() == [[0, 4], [1, 5], [2, 6]]
    assert pair.attr_values == ["1960.5", "33.2", "1960-07-01"]
    assert pair.attr_keys == ["date_of_birth", "latitude", "birthDate"]


def test_openea_modalities_and_dbpedia_names(openea_dir: Path) -> None:
    pair = load_dataset(openea_dir, "openea")
    assert pair.modality_present("attribute").tolist() == [1, 1, 0, 0, 1, 0, 0, 0]
    assert pair.names[:4] == [None] * 4, "Freebase ids carry no name"
    assert pair.names[4] == "A"
    assert not pair.modality_present("visual").any()
    summary = pair.summary()
    assert summary["gold_links"] == 3
    assert summary["kg1"]["relations"] == 2 and summary["kg2"]["relations"] == 2
    assert summary["kg1"]["modality_share"]["attribute"] == 0.5


def test_image_folder_attaches_and_marks_missing(openea_dir: Path) -> None:
    images = openea_dir / "images"
    images.mkdir()
    Image.new("RGB", (8, 8), "red").save(images / image_file_name("/m/a"))
    Image.new("RGB", (8, 8), "blue").save(images / image_file_name("http://dbpedia.org/resource/A", ".jpg"))
    (images / "notes.txt").write_text("ignored")
    pair = load_dataset(openea_dir, "images")
    visual = pair.modality_present("visual")
    assert visual.tolist() == [1, 0, 0, 0, 1, 0, 0, 0]
    assert pair.image_paths[0].name == "%2Fm%2Fa.png"
    assert pair.image_paths[1] is None


def test_images_layout_requires_folder(openea_dir: Path) -> None:
    with pytest.raises(DataFormatError, match="needs an image folder"):
        load_dataset(openea_dir, "images")


def test_eva_remaps_ids_names_and_features(eva_dir: Path) -> None:
    pair = load_dataset(eva_dir, "eva")
    assert pair.n1 == 3 and pair.n2 == 3
    assert pair.links.tolist() == [[0, 3], [1, 4]]
    assert pair.rel_triples.tolist() == [[0, 0, 1], [1, 1, 2], [3, 2, 4], [5, 2, 4]]
    assert pair.names == ["alpha", None, None, "alpha x", None, None]
    assert pair.image_feature_present.tolist() == [True, False, False, False, True, False]
    assert pair.image_features[1].sum() == 0, "missing image is a zero row, not noise"
    assert pair.modality_present("visual").tolist() == [1, 0, 0, 0, 1, 0]
    assert pair.attr_keys == ["birth", "height"] and pair.attr_triples.tolist() == [[0, 0], [0, 1]]


def test_eva_npy_features_rows_by_id(eva_dir: Path) -> None:
    (eva_dir / "img_features.npz").unlink()
    matrix = np.zeros((103, 3), dtype=np.float32)
    matrix[7] = 1.0
    matrix[102] = 2.0
    np.save(eva_dir / "image_feats.npy", matrix)
    pair = load_dataset(eva_dir, "eva")
    assert pair.image_feature_present.tolist() == [False, False, True, False, False, True]
    assert pair.image_features[5].tolist() == [2.0, 2.0, 2.0]


def test_pickle_refused_without_flag_and_loaded_with_it(eva_dir: Path) -> None:
    (eva_dir / "img_features.npz").unlink()
    with (eva_dir / "img_dict.pkl").open("wb") as handle:
        pickle.dump({1: np.ones(4), 102: np.zeros(4) + 3}, handle)
    with pytest.raises(DataFormatError, match="refusing to unpickle"):
        load_dataset(eva_dir, "eva")
    pair = load_dataset(eva_dir, "eva", allow_pickle=True)
    assert pair.image_feature_present.tolist() == [False, True, False, False, False, True]
