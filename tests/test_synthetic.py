"""The synthetic demo pair: determinism, the knobs doing what they say, and the FB/DB conventions."""
from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from almea.data.images import attach_image_folder
from almea.data.openea import load_openea
from almea.data.synthetic import DBPEDIA_RESOURCE, DemoConfig, generate_demo, write_openea

OPENEA_FILES = ("rel_triples_1", "rel_triples_2", "attr_triples_1", "attr_triples_2", "ent_links")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The default 400-entity demo with pictures, shared by the read-only tests."""
    return generate_demo(DemoConfig(), tmp_path_factory.mktemp("pictures"))


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _written(tmp_path: Path, config: DemoConfig, tag: str) -> dict[str, bytes]:
    pair = generate_demo(config, tmp_path / tag / "pictures" if config.images else None)
    write_openea(pair, tmp_path / tag / "openea")
    return _files(tmp_path / tag / "openea")


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path), dtype=np.float32)


def _kg_strings(column_ids: np.ndarray, vocab: list[str]) -> set[str]:
    return {vocab[i] for i in column_ids.tolist()}


def _link_strings(pair) -> set[tuple[str, str]]:
    return {(pair.entities[a], pair.entities[b]) for a, b in pair.links.tolist()}


def _pictured(pair) -> set[str]:
    return {e for e, p in zip(pair.entities, pair.image_paths) if p is not None}


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    config = DemoConfig(n_entities=150, seed=3)
    first, second = _written(tmp_path, config, "a"), _written(tmp_path, config, "b")
    other = _written(tmp_path, DemoConfig(n_entities=150, seed=4), "c")
    assert set(OPENEA_FILES) <= set(first)
    assert sum(name.startswith("images/") for name in first) > 100  # the PNGs are compared too
    assert first == second
    for name in OPENEA_FILES:
        assert other[name] != first[name]


def test_files_are_tab_separated_utf8_with_unix_line_ends(tmp_path):
    files = _written(tmp_path, DemoConfig(n_entities=60, images=False), "x")
    assert "images" not in {name.split("/")[0] for name in files}
    for name in OPENEA_FILES:
        text = files[name].decode("utf-8")
        assert "\r" not in text and text.endswith("\n")
        width = 2 if name == "ent_links" else 3
        assert all(len(line.split("\t")) == width for line in text.splitlines())


def test_switching_images_off_keeps_the_graphs(demo):
    plain = generate_demo(DemoConfig(images=False))
    assert plain.image_paths is None
    assert plain.entities == demo.entities
    assert np.array_equal(plain.rel_triples, demo.rel_triples)
    assert plain.attr_values == demo.attr_values
    assert np.array_equal(plain.links, demo.links)


def test_without_drops_overlap_and_dangling_counts_are_exact():
    # Every type has an attribute all its entities carry, so without drops no entity vanishes.
    pair = generate_demo(DemoConfig(n_entities=400, overlap=0.7, dangling=0.2, triple_drop=0.0, images=False))
    assert len(pair.links) == 280
    assert (pair.n1, pair.n2) == (280 + 40, 280 + 40)
    assert pair.links.dtype == np.int64 and pair.rel_triples.dtype == np.int64


def test_drops_lose_only_a_few_links(demo):
    # An entity vanishes from a view only if the view drops all its triples (median 6, 7.5% of
    # entities have at most 2): mean of 0.15**k is 0.35% per view, ~2 of 320 links; allow 3%.
    assert 0.97 * 320 <= len(demo.links) <= 320
    assert len(np.unique(demo.links[:, 0])) == len(np.unique(demo.links[:, 1])) == len(demo.links)
    assert np.all(demo.links[:, 0] < demo.n1) and np.all(demo.links[:, 1] >= demo.n1)


def test_dangling_entities_exist_on_both_sides(demo):
    linked = set(demo.links.ravel().tolist())
    dangling1 = [e for e in range(demo.n1) if e not in linked]
    dangling2 = [e for e in range(demo.n1, demo.n_entities) if e not in linked]
    # 10% of 400 split between the views, 20 each, give or take the vanished ones.
    assert 18 <= len(dangling1) <= 25 and 18 <= len(dangling2) <= 25


def test_missing_images_follow_the_rates_per_view(tmp_path):
    for rates in ((0.05, 0.20), (0.5, 0.0)):
        pair = generate_demo(DemoConfig(n_entities=300, missing_images=rates), tmp_path / str(rates))
        has = np.array([p is not None for p in pair.image_paths])
        for rate, part in zip(rates, (has[: pair.n1], has[pair.n1 :])):
            assert abs((1 - part.mean()) - rate) <= 1 / len(part)  # exact count, up to rounding
        files = sorted((tmp_path / str(rates)).iterdir())
        assert len(files) == has.sum()
        assert {p.name for p in files} == {p.name for p in pair.image_paths if p is not None}


def test_swapped_images_show_another_entitys_picture_for_the_share_asked(tmp_path):
    clean = generate_demo(DemoConfig(n_entities=300), tmp_path / "clean")
    noisy = generate_demo(DemoConfig(n_entities=300, swapped_images=0.2), tmp_path / "noisy")
    assert noisy.entities == clean.entities and np.array_equal(noisy.links, clean.links)
    for lo, hi in ((0, clean.n1), (clean.n1, clean.n_entities)):
        before, after = clean.image_paths[lo:hi], noisy.image_paths[lo:hi]
        assert [p is None for p in before] == [p is None for p in after]       # missing pictures stay missing
        pictured = [(b.name, a.name) for b, a in zip(before, after) if b is not None]
        swapped = [(b, a) for b, a in pictured if b != a]
        assert len(swapped) == round(0.2 * len(pictured))
        assert sorted(b for b, _ in swapped) == sorted(a for _, a in swapped)  # passed round within the view


def test_relation_and_key_vocabularies_are_disjoint_between_views(demo):
    kg1_rel = demo.rel_triples[demo.rel_triples[:, 0] < demo.n1, 1]
    kg2_rel = demo.rel_triples[demo.rel_triples[:, 0] >= demo.n1, 1]
    rel1, rel2 = _kg_strings(kg1_rel, demo.relations), _kg_strings(kg2_rel, demo.relations)
    assert len(rel1) >= 10 and len(rel2) >= 10 and not rel1 & rel2
    assert all(r.startswith("/") for r in rel1) and all(r.startswith("http://dbpedia.org/ontology/") for r in rel2)
    kg1_attr = demo.attr_triples[:, 0] < demo.n1
    keys1 = _kg_strings(demo.attr_triples[kg1_attr, 1], demo.attr_keys)
    keys2 = _kg_strings(demo.attr_triples[~kg1_attr, 1], demo.attr_keys)
    assert len(keys1) >= 10 and not keys1 & keys2


def test_names_exist_on_the_dbpedia_side_only(demo):
    assert all(name is None for name in demo.names[: demo.n1])
    assert all(re.fullmatch(r"/m/0[0-9a-z_]{6}", e) for e in demo.entities[: demo.n1])
    kg2_names = demo.names[demo.n1 :]
    assert len(set(kg2_names)) == demo.n2
    for name, uri in zip(kg2_names, demo.entities[demo.n1 :]):
        assert uri == DBPEDIA_RESOURCE + name.replace(" ", "_") and re.fullmatch(r"[A-Z][a-z]+( [A-Z][a-z]+)*", name)


def test_dates_follow_each_side_convention_and_agree(demo):
    values = {}
    for (entity, key), value in zip(demo.attr_triples.tolist(), demo.attr_values):
        values[entity, demo.attr_keys[key]] = value
    checked = 0
    for a, b in demo.links.tolist():
        fb, db = values.get((a, "people.person.date_of_birth")), values.get((b, "birthDate"))
        if fb is None or db is None:
            continue
        year, month, _ = (int(x) for x in db.split("-"))
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", db) and re.fullmatch(r"\d{4}\.\d+", fb)
        assert float(fb) == pytest.approx(year + month / 12, abs=1e-8)      # Freebase: month / 12
        checked += 1
    assert checked > 50


def _populations(pair) -> np.ndarray:
    """(k, 2) populations of linked entities as KG1 and KG2 write them."""
    values = {}
    for (entity, key), value in zip(pair.attr_triples.tolist(), pair.attr_values):
        if pair.attr_keys[key] in ("topic_server.population_number", "populationTotal"):
            values[entity] = float(value)
    return np.array([(values[a], values[b]) for a, b in pair.links.tolist() if a in values and b in values])


def test_value_noise_perturbs_view_two_by_the_relative_amount():
    exact = _populations(generate_demo(DemoConfig(n_entities=1000, value_noise=0.0, images=False)))
    assert len(exact) > 50 and np.array_equal(exact[:, 0], exact[:, 1])
    noisy = _populations(generate_demo(DemoConfig(n_entities=1000, value_noise=0.05, images=False)))
    relative = np.abs(np.log(noisy[:, 1] / noisy[:, 0]))
    # |N(0, 0.05)| has median 0.05 * 0.674 = 0.034.
    assert 0.02 < np.median(relative) < 0.05


def test_pictures_identify_entities_across_views(demo):
    pairs = [(a, b) for a, b in demo.links.tolist() if demo.image_paths[a] and demo.image_paths[b]]
    assert len(pairs) > 200
    left = np.stack([_pixels(demo.image_paths[a]) for a, _ in pairs]).reshape(len(pairs), -1)
    right = np.stack([_pixels(demo.image_paths[b]) for _, b in pairs]).reshape(len(pairs), -1)
    assert left.shape[1] == 64 * 64 * 3
    distance = np.stack([np.abs(right - row).mean(axis=1) for row in left])  # mean abs pixel difference
    same, other = np.diag(distance), distance[~np.eye(len(pairs), dtype=bool)]
    assert np.all(same > 0)  # each view draws its own jitter, never a copy
    assert np.median(same) < 25 and np.median(other) > 60
    assert np.mean(distance.argmin(axis=1) == np.arange(len(pairs))) > 0.95


def test_degrees_are_skewed_like_a_kg():
    pair = generate_demo(DemoConfig(n_entities=3000, images=False))
    degree = np.bincount(pair.rel_triples[:, [0, 2]].ravel(), minlength=pair.n_entities)
    assert degree.max() >= 30 * np.median(degree)
    assert np.mean(degree > 0) > 0.9


def test_written_pair_loads_back_with_the_openea_loader(demo, tmp_path):
    write_openea(demo, tmp_path)
    loaded = attach_image_folder(load_openea(tmp_path), tmp_path / "images")
    assert loaded.entities[: loaded.n1] and set(loaded.entities[: loaded.n1]) == set(demo.entities[: demo.n1])
    assert set(loaded.entities[loaded.n1 :]) == set(demo.entities[demo.n1 :])
    assert _link_strings(loaded) == _link_strings(demo)
    assert len(loaded.rel_triples) == len(demo.rel_triples) and len(loaded.attr_values) == len(demo.attr_values)
    assert sorted(loaded.attr_values) == sorted(demo.attr_values)
    assert _pictured(loaded) == _pictured(demo)
    assert dict(zip(loaded.entities, loaded.names)) == dict(zip(demo.entities, demo.names))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n_entities": 9}, r"n_entities must be an integer >= 10"),
        ({"n_entities": 100.0}, r"n_entities must be an integer >= 10"),
        ({"overlap": 1.2}, r"overlap must be a number in \[0, 1\]"),
        ({"dangling": -0.1}, r"dangling must be a number in \[0, 1\]"),
        ({"overlap": 0.7, "dangling": 0.4}, r"overlap \+ dangling must be in \(0, 1\]"),
        ({"overlap": 0.0, "dangling": 0.0}, r"overlap \+ dangling must be in \(0, 1\]"),
        ({"triple_drop": 1.0}, r"triple_drop must be a number in \[0, 1\)"),
        ({"missing_images": (0.1, 1.5)}, r"missing_images must be a pair of numbers in \[0, 1\]"),
        ({"missing_images": (0.1,)}, r"missing_images must be a pair"),
        ({"value_noise": 2.0}, r"value_noise must be a number in \[0, 1\]"),
        ({"image_size": 8}, r"image_size must be an integer in \[16, 1024\]"),
        ({"seed": -1}, r"seed must be an integer >= 0"),
    ],
)
def test_invalid_config_names_the_field_and_range(change, message):
    with pytest.raises(ValueError, match=message):
        DemoConfig(**change)


def test_pictures_need_a_folder():
    with pytest.raises(ValueError, match="image_dir"):
        generate_demo(DemoConfig(n_entities=20))


def test_twenty_thousand_entities_without_pictures_is_quick():
    start = time.perf_counter()
    pair = generate_demo(DemoConfig(n_entities=20_000, images=False))
    assert time.perf_counter() - start < 5.0  # about 0.4 s here; 100k-scale benchmarks depend on it
    assert 0.97 * 16_000 <= len(pair.links) <= 16_000
    assert pair.image_paths is None and pair.n_entities > 17_000
