"""Every malformed input raises one DataFormatError naming the file and line."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from almea.data import DataFormatError, load_dataset
from almea.data.images import image_file_name


def append(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def expect_error(folder: Path, layout: str, file: str, line: int | None, match: str, **kw) -> None:
    with pytest.raises(DataFormatError, match=match) as info:
        load_dataset(folder, layout, **kw)
    assert info.value.path.name == file
    assert info.value.line == line
    assert str(info.value).startswith(f"{info.value.path}")


def test_missing_file(openea_dir: Path) -> None:
    (openea_dir / "rel_triples_2").unlink()
    expect_error(openea_dir, "openea", "rel_triples_2", None, "required file is missing")


@pytest.mark.parametrize("layout, file", [("openea", "ent_links"), ("eva", "ill_ent_ids")])
def test_a_missing_gold_file_means_no_gold_links(openea_dir: Path, eva_dir: Path, layout: str, file: str) -> None:
    folder = openea_dir if layout == "openea" else eva_dir
    with_gold = load_dataset(folder, layout)
    (folder / file).unlink()
    pair = load_dataset(folder, layout)
    assert len(with_gold.links) > 0 and pair.links.shape == (0, 2) and pair.links.dtype == np.int64
    assert pair.entities == with_gold.entities and pair.summary()["gold_links"] == 0


@pytest.mark.parametrize("layout, file", [("openea", "ent_links"), ("eva", "ill_ent_ids")])
def test_a_gold_file_that_is_there_is_still_checked(openea_dir: Path, eva_dir: Path, layout: str, file: str) -> None:
    folder = openea_dir if layout == "openea" else eva_dir
    (folder / file).write_text("", encoding="utf-8")
    expect_error(folder, layout, file, None, "no rows: the file is empty or blank")
    (folder / file).write_text("just-one-field\n", encoding="utf-8")
    expect_error(folder, layout, file, 1, "expected 2 non-empty tab-separated fields")


def test_missing_folder(tmp_path: Path) -> None:
    expect_error(tmp_path / "nope", "openea", "nope", None, "does not exist")


def test_malformed_triple_line(openea_dir: Path) -> None:
    append(openea_dir / "rel_triples_2", "only\ttwo")
    expect_error(openea_dir, "openea", "rel_triples_2", 4, "expected 3 non-empty tab-separated fields")


def test_empty_field(openea_dir: Path) -> None:
    append(openea_dir / "attr_triples_1", "/m/a\t\t3")
    expect_error(openea_dir, "openea", "attr_triples_1", 3, "expected 3 non-empty")


def test_not_utf8(openea_dir: Path) -> None:
    with (openea_dir / "rel_triples_1").open("ab") as handle:
        handle.write(b"/m/x\t\xff\xfe\t/m/y\n")
    expect_error(openea_dir, "openea", "rel_triples_1", 4, "not valid UTF-8 \\(byte 0xff at column 6\\)")


def test_link_to_unknown_entity(openea_dir: Path) -> None:
    append(openea_dir / "ent_links", "/m/d\thttp://dbpedia.org/resource/Nowhere")
    expect_error(openea_dir, "openea", "ent_links", 4, "not an entity of KG2")


def test_duplicate_link(openea_dir: Path) -> None:
    append(openea_dir / "ent_links", "/m/a\thttp://dbpedia.org/resource/A")
    expect_error(openea_dir, "openea", "ent_links", 4, "duplicate link")


def test_not_one_to_one_link(openea_dir: Path) -> None:
    append(openea_dir / "ent_links", "/m/d\thttp://dbpedia.org/resource/A")
    expect_error(openea_dir, "openea", "ent_links", 4, "not 1-to-1")


def test_unreadable_image(openea_dir: Path) -> None:
    images = openea_dir / "images"
    images.mkdir()
    (images / image_file_name("/m/b")).write_bytes(b"not a png")
    expect_error(openea_dir, "openea", "%2Fm%2Fb.png", None, "cannot read image")


def test_image_symlink_cannot_escape(openea_dir: Path, tmp_path: Path) -> None:
    from PIL import Image

    outside = tmp_path / "secret.png"
    Image.new("RGB", (4, 4)).save(outside)
    images = openea_dir / "images"
    images.mkdir()
    os.symlink(outside, images / image_file_name("/m/a"))
    expect_error(openea_dir, "openea", "%2Fm%2Fa.png", None, "escapes the image folder")


def test_eva_non_integer_id(eva_dir: Path) -> None:
    append(eva_dir / "triples_2", "100\tnine\t101")
    expect_error(eva_dir, "eva", "triples_2", 3, "expected an integer relation id")


def test_eva_triple_with_entity_of_other_kg(eva_dir: Path) -> None:
    append(eva_dir / "triples_1", "0\t5\t100")
    expect_error(eva_dir, "eva", "triples_1", 3, "entity id 100 is not in this KG")


def test_eva_link_wrong_direction(eva_dir: Path) -> None:
    append(eva_dir / "ill_ent_ids", "102\t7")
    expect_error(eva_dir, "eva", "ill_ent_ids", 3, "entity id 102 is not in this KG")


def test_eva_duplicate_entity_id(eva_dir: Path) -> None:
    append(eva_dir / "ent_ids_2", "101\thttp://en/again")
    expect_error(eva_dir, "eva", "ent_ids_2", 4, "defined twice")


def test_eva_bad_names_json(eva_dir: Path) -> None:
    (eva_dir / "translated_ent_name.json").write_text('[[0, ["a"]],\n [1, ')
    expect_error(eva_dir, "eva", "translated_ent_name.json", 2, "invalid JSON")


def test_eva_names_wrong_shape(eva_dir: Path) -> None:
    (eva_dir / "translated_ent_name.json").write_text('[[0, "a"]]')
    expect_error(eva_dir, "eva", "translated_ent_name.json", None, "expected \\[integer id, \\[token")


def test_eva_attrs_unknown_uri(eva_dir: Path) -> None:
    append(eva_dir / "training_attrs_1", "http://zh/zzz\tbirth")
    expect_error(eva_dir, "eva", "training_attrs_1", 2, "unknown entity URI")


def test_features_for_unknown_id(eva_dir: Path) -> None:
    np.savez(eva_dir / "img_features.npz", ids=np.array([0, 55]), features=np.ones((2, 4)))
    expect_error(eva_dir, "eva", "img_features.npz", None, "unknown entity id 55")


def test_features_corrupt_file(eva_dir: Path) -> None:
    (eva_dir / "img_features.npz").write_bytes(b"garbage")
    expect_error(eva_dir, "eva", "img_features.npz", None, "cannot read image features")


def test_two_feature_files_are_ambiguous(eva_dir: Path) -> None:
    np.save(eva_dir / "image_other.npy", np.ones((3, 2)))
    expect_error(eva_dir, "eva", "eva", None, "several image-feature files")
