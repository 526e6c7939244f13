"""The rdf layout: N-Triples/Turtle (gzipped or not) read into the same pair as the other layouts."""
from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path

import pytest
from PIL import Image

from almea.data import DataFormatError, load_dataset
from almea.data.rdf import load_rdf, load_rdf_files
from almea.data.rdf_export import mint_iri, write_rdf
from tests.conftest import real_dataset

FREEBASE = "http://rdf.freebase.com/ns/"
DBO = "http://dbpedia.org/ontology/"
PREFIXES = """@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix a: <http://kg1.org/> .
@prefix b: <http://kg2.org/> .
"""


def write(path: Path, text: str) -> Path:
    """Write ``text`` as UTF-8, gzipped when the name ends in .gz."""
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


@pytest.fixture
def rdf_dir(tmp_path: Path) -> Path:
    """Two tiny KGs (N-Triples, Turtle) and two sameAs links, one written KG2 -> KG1."""
    folder = tmp_path / "rdf"
    folder.mkdir()
    write(folder / "kg1.nt", "\n".join([
        "<http://kg1.org/a> <http://kg1.org/bornIn> <http://kg1.org/b> .",
        '<http://kg1.org/a> <http://kg1.org/birth> "1960-07-01"^^<http://www.w3.org/2001/XMLSchema#date> .',
        '<http://kg1.org/b> <http://kg1.org/population> "69121"^^<http://www.w3.org/2001/XMLSchema#integer> .',
        "<http://kg1.org/c> <http://kg1.org/bornIn> <http://kg1.org/b> .",
    ]) + "\n")
    write(folder / "kg2.ttl", PREFIXES + """
b:A b:birthPlace b:B ; b:birthDate "1960-07-01"^^xsd:date ; rdfs:label "Ay"@en .
b:B rdfs:label "Bee" ; b:motto "Ad astra"@la .
""")
    write(folder / "links.nt", "<http://kg1.org/a> <http://www.w3.org/2002/07/owl#sameAs> <http://kg2.org/A> .\n"
                               "<http://kg2.org/B> <http://www.w3.org/2002/07/owl#sameAs> <http://kg1.org/b> .\n")
    return folder


def expect_error(folder: Path, file: str, line: int | None, match: str) -> None:
    with pytest.raises(DataFormatError, match=match) as info:
        load_dataset(folder, "rdf")
    assert (info.value.path.name, info.value.line) == (file, line)


def test_demo_pair_round_trips_as_gzipped_ntriples_and_turtle(demo_pair, tmp_path: Path) -> None:
    folder = tmp_path / "demo-rdf"
    write_rdf(demo_pair, folder, suffixes=(".nt.gz", ".ttl"), bases=(FREEBASE, DBO))
    assert (folder / "kg1.nt.gz").read_bytes()[:2] == b"\x1f\x8b"
    turtle = (folder / "kg2.ttl").read_text(encoding="utf-8")
    assert '"@en' in turtle and "<http://dbpedia.org/resource/" in turtle
    loaded = load_rdf(folder)
    pair = loaded.pair
    assert {"xsd:integer", "xsd:decimal", "xsd:date"} <= set(loaded.literal_types) and loaded.skipped == {}
    original, again = demo_pair.summary(), pair.summary()
    assert {k: v for k, v in again.items() if k != "name"} == {k: v for k, v in original.items() if k != "name"}
    assert pair.entities[0].startswith(FREEBASE + "m/0"), "MIDs became Freebase IRIs"
    gold = {(mint_iri(demo_pair.entities[a], FREEBASE), mint_iri(demo_pair.entities[b], DBO))
            for a, b in demo_pair.links.tolist()}
    assert {(pair.entities[a], pair.entities[b]) for a, b in pair.links.tolist()} == gold
    assert sorted(pair.attr_values) == sorted(demo_pair.attr_values), "lexical forms come back unchanged"
    assert sorted(filter(None, pair.names)) == sorted(filter(None, demo_pair.names))


def test_rdf_layout_maps_relations_attributes_names_and_links(rdf_dir: Path) -> None:
    loaded = load_rdf(rdf_dir)
    pair = loaded.pair
    assert pair.entities == ["http://kg1.org/a", "http://kg1.org/b", "http://kg1.org/c",
                             "http://kg2.org/A", "http://kg2.org/B"]
    assert pair.n1 == 3 and pair.rel_triples.tolist() == [[0, 0, 1], [2, 0, 1], [3, 1, 4]]
    assert pair.attr_values == ["1960-07-01", "69121", "1960-07-01", "Ad astra"]
    assert pair.links.tolist() == [[0, 3], [1, 4]], "a link written KG2 -> KG1 is oriented"
    assert pair.names == [None, None, None, "Ay", "Bee"]
    assert pair.image_paths is None and pair.summary()["gold_links"] == 2
    assert loaded.literal_types == {"xsd:date": 2, "xsd:integer": 1, "@la": 1}
    xsd = "http://www.w3.org/2001/XMLSchema#"
    assert pair.attr_types == [xsd + "date", xsd + "integer", xsd + "date", "@la"], "datatypes are kept"


def test_datatypes_and_languages_survive_a_round_trip(rdf_dir: Path, tmp_path: Path) -> None:
    pair = load_rdf(rdf_dir).pair
    again = load_rdf(write_rdf(pair, tmp_path / "again")[0].parent).pair
    assert again.attr_values == pair.attr_values and again.attr_types == pair.attr_types


def test_the_dataset_card_shows_each_value_with_its_type(rdf_dir: Path) -> None:
    from annotate.datasets import overview

    source, target = overview(rdf_dir, "rdf").examples[1]
    assert source.attributes.to_dict("records") == [{"attribute": "http://kg1.org/population", "value": "69121",
                                                     "type": "xsd:integer"}]
    assert target.attributes.to_dict("records") == [{"attribute": "http://kg2.org/motto", "value": "Ad astra",
                                                     "type": "@la"}]


def test_types_must_match_the_values(rdf_dir: Path) -> None:
    pair = load_rdf(rdf_dir).pair
    with pytest.raises(ValueError, match="attr_types has 1 entries for 4 attribute values"):
        dataclasses.replace(pair, attr_types=["@en"])


@pytest.mark.parametrize("name", ["kg1.nt", "kg1.nt.gz", "kg1.ttl"])
def test_a_broken_line_names_the_file_and_line(rdf_dir: Path, name: str) -> None:
    (rdf_dir / "kg1.nt").unlink()
    write(rdf_dir / name, "<http://kg1.org/a> <http://kg1.org/p> <http://kg1.org/b> .\n\n"
                          "<http://kg1.org/a> <http://kg1.org/p> broken .\n")
    syntax = "Turtle" if ".ttl" in name else "N-Triples"
    expect_error(rdf_dir, name, 3, f"invalid {syntax}: .* \\(column \\d+\\)")


def test_a_same_as_to_an_unknown_entity_names_the_link_line(rdf_dir: Path) -> None:
    with (rdf_dir / "links.nt").open("a", encoding="utf-8") as handle:
        handle.write("<http://kg1.org/c> <http://www.w3.org/2002/07/owl#sameAs> <http://kg2.org/Nowhere> .\n")
    expect_error(rdf_dir, "links.nt", 3, "link names 'http://kg2.org/Nowhere', which is not an entity of KG1 or KG2")


@pytest.mark.parametrize("link, match", [
    ("<http://kg1.org/c> <http://www.w3.org/2002/07/owl#sameAs> <http://kg2.org/A> .", "not 1-to-1"),
    ("<http://kg1.org/c> <http://www.w3.org/2002/07/owl#sameAs> <http://kg1.org/a> .", "two entities of KG1"),
    ("<http://kg1.org/c> <http://kg1.org/near> <http://kg2.org/A> .", "expected owl:sameAs triples"),
], ids=["not-one-to-one", "within-kg1", "not-same-as"])
def test_links_are_checked_like_the_other_layouts(rdf_dir: Path, link: str, match: str) -> None:
    with (rdf_dir / "links.nt").open("a", encoding="utf-8") as handle:
        handle.write(link + "\n")
    expect_error(rdf_dir, "links.nt", 3, match)


def test_names_prefer_skos_then_rdfs_label_and_english(tmp_path: Path) -> None:
    kg = write(tmp_path / "kg.ttl", PREFIXES + """@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
a:x rdfs:label "Ix"@de , "Ex"@en ; foaf:name "Foaf x" .
a:y foaf:name "Why" ; rdfs:label "Upsilon"@el ; skos:prefLabel "Y"@fr .
a:z a:knows a:x .
""")
    pair = load_rdf_files(kg, kg).pair
    assert pair.names[:3] == ["Ex", "Y", None]
    assert len(pair.attr_triples) == 0, "labels are names, not attributes"


def test_an_image_via_foaf_depiction(tmp_path: Path) -> None:
    (tmp_path / "pics").mkdir()
    Image.new("RGB", (8, 8), "red").save(tmp_path / "pics" / "x.png")
    kg1 = write(tmp_path / "kg1.ttl", PREFIXES + "a:x foaf:depiction <pics/x.png> ; a:knows a:y .\n"
                                      "a:y foaf:depiction <http://commons.example.org/y.jpg> .\n")
    picture = (tmp_path / "pics" / "x.png").resolve()
    kg2 = write(tmp_path / "kg2.nt", f"<http://kg2.org/X> <http://schema.org/image> <{picture.as_uri()}> .\n")
    pair = load_rdf_files(kg1, kg2).pair
    assert pair.image_paths == [picture, None, None, picture]
    assert pair.modality_present("visual").tolist() == [True, False, False, True]
    assert pair.entities[2] == "http://commons.example.org/y.jpg", "a web image stays a relation triple"


def test_exported_images_come_back_and_a_turtle_folder_may_move(tmp_path: Path) -> None:
    from almea.data.synthetic import DemoConfig, generate_demo

    pair = generate_demo(DemoConfig(n_entities=30, seed=0), image_dir=tmp_path / "drawn")
    write_rdf(pair, tmp_path / "written", suffixes=(".ttl", ".ttl.gz"))
    moved = (tmp_path / "written").rename(tmp_path / "moved")
    loaded = load_dataset(moved, "rdf")
    assert loaded.modality_present("visual").sum() == pair.modality_present("visual").sum() > 0
    assert {p.parent for p in loaded.image_paths if p is not None} == {(moved / "images").resolve()}


@pytest.mark.parametrize("target, match", [("../x.png", "lies outside the dataset folder"),
                                           ("missing.png", "required file is missing"),
                                           ("notes.png", "cannot read image")])
def test_a_bad_local_image_names_the_triple_line(rdf_dir: Path, target: str, match: str) -> None:
    Image.new("RGB", (4, 4)).save(rdf_dir.parent / "x.png")
    (rdf_dir / "notes.png").write_text("not a picture")
    with (rdf_dir / "kg2.ttl").open("a", encoding="utf-8") as handle:
        handle.write(f"b:B\n  foaf:depiction <{target}> .\n")
    expect_error(rdf_dir, "kg2.ttl", 11, match)


def test_blank_nodes_and_same_as_inside_a_kg_are_skipped_and_counted(rdf_dir: Path) -> None:
    with (rdf_dir / "kg2.ttl").open("a", encoding="utf-8") as handle:
        handle.write('b:A b:career [ b:team b:B ] ; owl:sameAs <http://www.wikidata.org/entity/Q1> .\n')
    loaded = load_rdf(rdf_dir)
    assert sum(loaded.skipped.values()) == 3 and len(loaded.skipped) == 2
    assert loaded.pair.n_entities == 5 and len(loaded.pair.rel_triples) == 3


def test_the_layout_needs_one_file_per_kg(rdf_dir: Path) -> None:
    write(rdf_dir / "kg1.ttl.gz", "")
    expect_error(rdf_dir, "rdf", None, "several kg1 files \\(kg1.nt, kg1.ttl.gz\\)")
    (rdf_dir / "kg2.ttl").unlink()
    (rdf_dir / "kg1.ttl.gz").unlink()
    expect_error(rdf_dir, "kg2.nt", None, "required file is missing")
    write(rdf_dir / "kg2.ttl", "# nothing\n")
    expect_error(rdf_dir, "kg2.ttl", None, "no usable triples")


def test_the_cli_reads_rdf_files_and_counts_links(rdf_dir: Path, capsys: pytest.CaptureFixture) -> None:
    from almea.cli.main import main

    files = ["--kg1", str(rdf_dir / "kg1.nt"), "--kg2", str(rdf_dir / "kg2.ttl"), "--links", str(rdf_dir / "links.nt")]
    assert main(["data", *files]) == 0
    out = capsys.readouterr().out
    assert "gold links: 2" in out and "attribute literals: 2 xsd:date, 1 xsd:integer, 1 @la" in out
    with pytest.raises(SystemExit):
        main(["data", "--layout", "openea", *files])


@pytest.mark.parametrize("command", [["train"], ["simulate"], ["align", "--checkpoint", "m.pt", "--out", "a.tsv"]])
def test_every_dataset_command_takes_rdf_files(command: list[str]) -> None:
    from almea.cli.main import build_parser

    args = build_parser().parse_args([*command, "--kg1", "a.nt", "--kg2", "b.ttl", "--links", "l.nt"])
    assert (args.layout, args.kg1, args.kg2, args.links) == ("rdf", Path("a.nt"), Path("b.ttl"), Path("l.nt"))


def test_to_rdf_writes_a_folder_the_rdf_layout_reads(openea_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    from almea.cli.main import main

    out = tmp_path / "as-rdf"
    assert main(["data", "--data", str(openea_dir), "--layout", "openea", "--json", "--to-rdf", str(out)]) == 0
    original = json.loads(capsys.readouterr().out.split("\nRDF written")[0])
    assert main(["data", "--data", str(out), "--layout", "rdf", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again.pop("rdf") == {"skipped": {}, "literal_types": {"xsd:decimal": 2, "xsd:date": 1}}
    assert again | {"name": ""} == original | {"name": ""}


@pytest.mark.realdata
def test_fb15k237_db15k_as_ntriples_loads_to_the_openea_counts(tmp_path: Path) -> None:
    pair = load_dataset(real_dataset("FB15K237-DB15K"), "openea")
    write_rdf(pair, tmp_path, bases=(FREEBASE, DBO))
    loaded = load_dataset(tmp_path, "rdf")
    assert loaded.summary() | {"name": ""} == pair.summary() | {"name": ""}
    assert (loaded.rel_triples == pair.rel_triples).all() and (loaded.links == pair.links).all()
    assert loaded.attr_values == pair.attr_values
