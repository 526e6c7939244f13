"""Bad input reaching the loaders from a seed TSV or the command line ends in one clear error."""
from __future__ import annotations

from pathlib import Path

import pytest

from almea.data import DataFormatError


def seed_file(folder: Path, content: bytes) -> Path:
    path = folder / "seeds.tsv"
    path.write_bytes(content)
    return path


def project_data(folder: Path):
    from annotate.project_data import project_data

    return project_data({"folder": str(folder), "layout": "openea"})


@pytest.mark.parametrize("content", [b"", b"\n \n\t\r\n"])
def test_a_seed_file_without_a_seed_pair_is_refused(openea_dir: Path, content: bytes) -> None:
    from annotate.seeds import read_seed_tsv

    path = seed_file(openea_dir, content)
    with pytest.raises(DataFormatError, match="no seed links: the file is empty or blank") as info:
        read_seed_tsv(path, project_data(openea_dir))
    assert info.value.path == path


def test_a_seed_file_with_a_bom_is_read_like_without(openea_dir: Path) -> None:
    from annotate.seeds import read_seed_tsv

    path = seed_file(openea_dir, "\ufeff/m/a\thttp://dbpedia.org/resource/A\n".encode())
    assert read_seed_tsv(path, project_data(openea_dir)) == [("/m/a", "http://dbpedia.org/resource/A")]


def test_a_seed_file_with_a_nul_byte_names_the_line(openea_dir: Path) -> None:
    from annotate.seeds import read_seed_tsv

    path = seed_file(openea_dir, b"/m/a\thttp://dbpedia.org/resource/A\n/m/b\x00\thttp://dbpedia.org/resource/B\n")
    with pytest.raises(DataFormatError, match="NUL byte") as info:
        read_seed_tsv(path, project_data(openea_dir))
    assert (info.value.path, info.value.line) == (path, 2)


def test_the_cli_prints_one_line_and_exits_2(openea_dir: Path, capsys: pytest.CaptureFixture) -> None:
    from almea.cli.main import main

    (openea_dir / "ent_links").write_bytes(b"\xef\xbb\xbf/m/a\thttp://dbpedia.org/resource/A\n\x00\n")
    assert main(["data", "--data", str(openea_dir), "--layout", "openea"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: {openea_dir / 'ent_links'}:2: NUL byte")
