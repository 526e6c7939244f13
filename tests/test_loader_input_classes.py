"""Each class of hostile input fails as one DataFormatError naming the file and line/problem.

Classes: encoding (BOM accepted, NUL and invalid UTF-8 refused with their line), empty and
blank files, non-regular files (FIFO, directory) that must not block, integer ids in JSON
and feature files, real-valued features, images (corrupt, truncated, decompression bombs),
message length, seed files, and the CLI's one-line report.
"""
from __future__ import annotations

import os
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from almea.data import DataFormatError, load_dataset
from almea.data.errors import EXCERPT_CHARS
from almea.data.images import MAX_IMAGE_PIXELS, image_file_name

OPENEA_FILES = ["rel_triples_1", "rel_triples_2", "attr_triples_1", "attr_triples_2", "ent_links"]
EVA_FILES = ["ent_ids_1", "ent_ids_2", "triples_1", "triples_2", "ill_ent_ids", "training_attrs_1",
             "translated_ent_name.json"]


def rejects(folder: Path, layout: str, file: str, match: str, line: int | None = None, **kw) -> DataFormatError:
    with pytest.raises(DataFormatError, match=match) as info:
        load_dataset(folder, layout, **kw)
    err = info.value
    assert err.path.name == file and err.line == line
    assert str(err).startswith(f"{err.path}{'' if line is None else f':{line}'}: ")
    return err


def same_pair(a, b) -> bool:
    return (a.entities == b.entities and a.relations == b.relations and a.attr_keys == b.attr_keys
            and a.attr_values == b.attr_values and a.names == b.names
            and np.array_equal(a.rel_triples, b.rel_triples) and np.array_equal(a.links, b.links)
            and np.array_equal(a.attr_triples, b.attr_triples) and np.array_equal(a.present, b.present))


def png_claiming(width: int, height: int) -> bytes:
    """A few dozen bytes whose header claims ``width x height`` pixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 8)) + chunk(b"IEND", b"")


# --- encoding ------------------------------------------------------------------------------

@pytest.mark.parametrize("file", OPENEA_FILES)
def test_bom_is_stripped_in_every_openea_file(openea_dir: Path, file: str) -> None:
    before = load_dataset(openea_dir, "openea")
    path = openea_dir / file
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert same_pair(load_dataset(openea_dir, "openea"), before)


@pytest.mark.parametrize("file", EVA_FILES)
def test_bom_is_stripped_in_every_eva_file(eva_dir: Path, file: str) -> None:
    before = load_dataset(eva_dir, "eva")
    path = eva_dir / file
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert same_pair(load_dataset(eva_dir, "eva"), before)


@pytest.mark.parametrize("layout, file, line", [("openea", "attr_triples_2", 1), ("eva", "training_attrs_1", 1),
                                                ("eva", "ill_ent_ids", 2)])
def test_nul_byte_is_an_error_with_its_line(openea_dir: Path, eva_dir: Path, layout: str, file: str, line: int) -> None:
    folder = openea_dir if layout == "openea" else eva_dir
    lines = (folder / file).read_bytes().splitlines(keepends=True)
    lines[line - 1] = lines[line - 1][:2] + b"\x00" + lines[line - 1][2:]
    (folder / file).write_bytes(b"".join(lines))
    rejects(folder, layout, file, "NUL byte at column 3", line=line)


def test_invalid_utf8_far_into_a_file_names_the_line_not_a_chunk_offset(openea_dir: Path) -> None:
    path = openea_dir / "rel_triples_1"
    body = "".join(f"/m/a\tr{i}\t/m/b\n" for i in range(3000)).encode()
    path.write_bytes(path.read_bytes() + body + b"/m/a\tbad\xc3(\t/m/b\n")
    rejects(openea_dir, "openea", "rel_triples_1", r"not valid UTF-8 \(byte 0xc3 at column 9\)", line=3004)


def test_invalid_utf8_in_eva_attributes_names_the_line(eva_dir: Path) -> None:
    with (eva_dir / "training_attrs_1").open("ab") as handle:
        handle.write(b"http://zh/b\tna\xffme\n")
    rejects(eva_dir, "eva", "training_attrs_1", "not valid UTF-8", line=2)


# --- empty and blank files -----------------------------------------------------------------

@pytest.mark.parametrize("content", [b"", b"\n  \n\t\n\r\n"])
@pytest.mark.parametrize("layout, file", [("openea", "ent_links"), ("openea", "rel_triples_2"),
                                          ("eva", "ill_ent_ids"), ("eva", "triples_1")])
def test_empty_or_blank_links_and_triples_are_errors(openea_dir, eva_dir, layout, file, content) -> None:
    folder = openea_dir if layout == "openea" else eva_dir
    (folder / file).write_bytes(content)
    rejects(folder, layout, file, "no rows: the file is empty or blank")


def test_an_empty_attribute_file_means_no_attributes(openea_dir: Path) -> None:
    (openea_dir / "attr_triples_2").write_bytes(b"")
    assert not load_dataset(openea_dir, "openea").modality_present("attribute")[4:].any()


# --- files that are not regular ------------------------------------------------------------

@pytest.mark.timeout(10)
@pytest.mark.parametrize("layout, file", [("openea", "ent_links"), ("openea", "attr_triples_1"),
                                          ("eva", "training_attrs_1"), ("eva", "translated_ent_name.json"),
                                          ("eva", "img_features.npz")])
def test_a_fifo_named_like_a_data_file_is_an_error_not_a_hang(openea_dir, eva_dir, layout, file) -> None:
    folder = openea_dir if layout == "openea" else eva_dir
    (folder / file).unlink()
    os.mkfifo(folder / file)
    rejects(folder, layout, file, r"expected a regular file, found a named pipe \(FIFO\)")


@pytest.mark.timeout(10)
def test_a_fifo_named_like_an_image_is_an_error_not_a_hang(openea_dir: Path) -> None:
    images = openea_dir / "images"
    images.mkdir()
    os.mkfifo(images / image_file_name("/m/a"))
    rejects(openea_dir, "images", "%2Fm%2Fa.png", "expected a regular file, found a named pipe")


def test_a_directory_named_like_a_file_is_an_error(eva_dir: Path) -> None:
    (eva_dir / "training_attrs_1").unlink()
    (eva_dir / "training_attrs_1").mkdir()
    rejects(eva_dir, "eva", "training_attrs_1", "expected a regular file, found a directory")


# --- ids -----------------------------------------------------------------------------------

@pytest.mark.parametrize("item, problem", [('["0", ["a"]]', "expected \\[integer id"), ('[0.5, ["a"]]', "expected \\[integer id"),
                                           ('[true, ["a"]]', "expected \\[integer id"), ('[0, [1]]', "expected \\[integer id"),
                                           ('[0, ["again"]]', "entity id 0 is named twice")])
def test_names_json_ids_are_distinct_integers(eva_dir: Path, item: str, problem: str) -> None:
    (eva_dir / "translated_ent_name.json").write_text(f'[[0, ["alpha"]], {item}]')
    rejects(eva_dir, "eva", "translated_ent_name.json", f"item 1: {problem}")


def test_integer_ids_are_plain_decimal(eva_dir: Path) -> None:
    (eva_dir / "ill_ent_ids").write_text("0\t100\n1_0\t101\n")
    rejects(eva_dir, "eva", "ill_ent_ids", "expected an integer entity id, got '1_0'", line=2)


@pytest.mark.parametrize("ids, match", [(np.array([0.0, 101.0]), "integer ids"), (np.array(["0", "101"]), "integer ids"),
                                        (np.array([True, False]), "integer ids"), (np.array([0, 0]), "entity id 0 has more")])
def test_feature_ids_are_distinct_integers(eva_dir: Path, ids: np.ndarray, match: str) -> None:
    np.savez(eva_dir / "img_features.npz", ids=ids, features=np.ones((2, 4), np.float32))
    rejects(eva_dir, "eva", "img_features.npz", match)


def test_pickled_feature_ids_are_integers(eva_dir: Path) -> None:
    (eva_dir / "img_features.npz").unlink()
    (eva_dir / "img_dict.pkl").write_bytes(pickle.dumps({"0": np.ones(4)}))
    rejects(eva_dir, "eva", "img_dict.pkl", "expected integer ids as keys, got '0'", allow_pickle=True)


# --- feature values ------------------------------------------------------------------------

@pytest.mark.parametrize("value, match", [(np.nan, "non-finite"), (np.inf, "non-finite"), (1e300, "non-finite"),
                                          (1j, "real-valued features, got dtype complex")])
def test_feature_values_are_real_and_finite(eva_dir: Path, value, match: str) -> None:
    features = np.ones((2, 4), dtype=np.complex128 if isinstance(value, complex) else np.float64)
    features[1, 2] = value
    np.savez(eva_dir / "img_features.npz", ids=np.array([0, 101]), features=features)
    rejects(eva_dir, "eva", "img_features.npz", match)


def test_object_features_are_refused_without_unpickling(eva_dir: Path) -> None:
    np.savez(eva_dir / "img_features.npz", ids=np.array([0, 101]), features=np.array([[1], ["x"]], dtype=object))
    rejects(eva_dir, "eva", "img_features.npz", "cannot read image features: ValueError")


def test_npy_rows_all_nan_are_missing_but_partly_nan_is_an_error(eva_dir: Path) -> None:
    (eva_dir / "img_features.npz").unlink()
    matrix = np.zeros((103, 3), dtype=np.float32)
    matrix[[0, 7, 100]] = 1.0
    matrix[1] = np.nan
    np.save(eva_dir / "image_feats.npy", matrix)
    assert load_dataset(eva_dir, "eva").image_feature_present.tolist() == [True, False, True, True, False, False]
    matrix[7, 0] = np.nan
    np.save(eva_dir / "image_feats.npy", matrix)
    rejects(eva_dir, "eva", "image_feats.npy", "non-finite feature values for entity id 7")


# --- images --------------------------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda good: good[: len(good) // 2], "cannot read image"),
    (lambda good: b"", "cannot read image: not a recognised image format"),
    (lambda good: png_claiming(100_000, 100_000), "too many pixels: more than"),
])
def test_bad_images_are_data_format_errors(openea_dir: Path, tmp_path: Path, make, match: str) -> None:
    Image.new("RGB", (32, 32), "red").save(tmp_path / "good.png")
    images = openea_dir / "images"
    images.mkdir()
    (images / image_file_name("/m/a")).write_bytes(make((tmp_path / "good.png").read_bytes()))
    rejects(openea_dir, "images", "%2Fm%2Fa.png", match)


def test_an_image_just_over_the_pixel_limit_is_refused_too(openea_dir: Path) -> None:
    """Pillow only warns between its limit and twice it; the loader refuses from the limit."""
    images = openea_dir / "images"
    images.mkdir()
    (images / image_file_name("/m/a")).write_bytes(png_claiming(7000, 7000))
    with pytest.warns(Image.DecompressionBombWarning):
        rejects(openea_dir, "images", "%2Fm%2Fa.png", r"too many pixels \(7000 x 7000\)")


def test_pillow_limit_is_the_loaders_limit() -> None:
    assert Image.MAX_IMAGE_PIXELS == MAX_IMAGE_PIXELS


def test_the_image_encoder_reports_a_bomb_as_a_data_error(tmp_path: Path) -> None:
    from almea.features.images import load_image

    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming(100_000, 100_000))
    with pytest.raises(DataFormatError, match="too many pixels") as info:
        load_image(path)
    assert info.value.path == path


# --- message length ------------------------------------------------------------------------

@pytest.mark.parametrize("layout, file", [("openea", "ent_links"), ("eva", "ill_ent_ids"), ("eva", "training_attrs_1")])
def test_messages_quote_at_most_an_excerpt_of_a_huge_field(openea_dir, eva_dir, layout, file) -> None:
    folder = openea_dir if layout == "openea" else eva_dir
    with (folder / file).open("a", encoding="utf-8") as handle:
        handle.write("x" * 1_000_000 + "\t" + ("100" if layout == "eva" else "y") + "\n")
    with pytest.raises(DataFormatError, match="1,000,000 characters") as info:
        load_dataset(folder, layout)
    assert info.value.path.name == file and info.value.line is not None
    assert len(info.value.problem) < EXCERPT_CHARS + 150
