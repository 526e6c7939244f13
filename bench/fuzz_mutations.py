"""Tiny valid datasets and the mutations that ``bench.fuzz_loaders`` applies to them.

A mutation is ``fn(folder, layout, rng) -> Outcome``: it damages (or harmlessly rewrites)
one file of a copied dataset in place and says whether the loader must reject the result,
naming that file (and a line), or load it exactly as the original.
"""
from __future__ import annotations

import collections
import json
import os
import pickle
import random
import shutil
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REQUIRED = {
    "openea": ["rel_triples_1", "rel_triples_2", "ent_links"],
    "images": ["rel_triples_1", "rel_triples_2", "ent_links"],
    "eva": ["ent_ids_1", "ent_ids_2", "triples_1", "triples_2", "ill_ent_ids"],
    "seeds": ["seeds.tsv"],
}
OPTIONAL = {"openea": ["attr_triples_1", "attr_triples_2"], "images": ["attr_triples_1", "attr_triples_2"],
            "eva": ["training_attrs_1", "training_attrs_2"], "seeds": []}
LINKS = {"openea": "ent_links", "images": "ent_links", "eva": "ill_ent_ids", "seeds": "seeds.tsv"}


@dataclass(frozen=True)
class Outcome:
    """What a mutation promises: ``reject`` (``line`` = the message must name one) or ``accept``."""

    file: str
    expect: str
    line: bool = False


# --- base datasets -------------------------------------------------------------------------

def build_bases(root: Path) -> dict[str, Path]:
    """One tiny valid dataset per layout under ``root``."""
    from almea.data.synthetic import DemoConfig, generate_demo, write_openea

    bases = {layout: root / f"base-{layout}" for layout in REQUIRED}
    pair = generate_demo(DemoConfig(n_entities=20, seed=3, images=False))
    write_openea(pair, bases["openea"])
    shutil.copytree(bases["openea"], bases["seeds"])
    links = (bases["openea"] / "ent_links").read_text(encoding="utf-8").splitlines()
    (bases["seeds"] / "seeds.tsv").write_text("\n".join(links[:4]) + "\n", encoding="utf-8")
    with tempfile.TemporaryDirectory() as scratch:
        write_openea(generate_demo(DemoConfig(n_entities=12, seed=4, image_size=16), Path(scratch)), bases["images"])
    write_eva(pair, bases["eva"])
    return bases


def write_eva(pair, folder: Path) -> None:
    """``pair`` in the EVA layout with ids offset per KG, names JSON and npz features."""
    folder.mkdir(parents=True)
    ids = [i if i < pair.n1 else 1000 + i for i in range(pair.n_entities)]
    for side, rows in ((1, range(pair.n1)), (2, range(pair.n1, pair.n_entities))):
        (folder / f"ent_ids_{side}").write_text("".join(f"{ids[i]}\t{pair.entities[i]}\n" for i in rows))
        in_kg = [t for t in pair.rel_triples.tolist() if (t[0] < pair.n1) == (side == 1)]
        (folder / f"triples_{side}").write_text("".join(f"{ids[h]}\t{r}\t{ids[t]}\n" for h, r, t in in_kg))
        attrs = collections.defaultdict(list)
        for e, k in pair.attr_triples.tolist():
            if (e < pair.n1) == (side == 1):
                attrs[pair.entities[e]].append(pair.attr_keys[k])
        (folder / f"training_attrs_{side}").write_text("".join("\t".join([u, *ks]) + "\n" for u, ks in attrs.items()))
    (folder / "ill_ent_ids").write_text("".join(f"{ids[a]}\t{ids[b]}\n" for a, b in pair.links.tolist()))
    names = [[ids[i], pair.entities[i].rsplit("/", 1)[-1].split("_")] for i in range(pair.n_entities)]
    (folder / "translated_ent_name.json").write_text(json.dumps(names))
    chosen = ids[::2]
    np.savez(folder / "img_features.npz", ids=np.array(chosen), features=np.ones((len(chosen), 4), np.float32))


# --- mutations -----------------------------------------------------------------------------

def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _edit_line(path: Path, rng: random.Random, edit) -> int:
    """Apply ``edit(bytes) -> bytes`` to a random non-empty line; return its 1-based number."""
    lines = _lines(path)
    number = rng.randrange(len(lines))
    body = lines[number].rstrip(b"\r\n")
    lines[number] = edit(body) + lines[number][len(body):]
    path.write_bytes(b"".join(lines))
    return number + 1


def _append(path: Path, line: str) -> None:
    with path.open("ab") as handle:
        handle.write(line.encode("utf-8") + b"\n")


def _fields(path: Path, rng: random.Random) -> list[str]:
    return rng.choice(path.read_text(encoding="utf-8").splitlines()).split("\t")


def tsv_files(layout: str, fixed: bool) -> list[str]:
    files = REQUIRED[layout] + OPTIONAL[layout]
    return [f for f in files if not (fixed and f.startswith("training_attrs"))]


def m_drop_field(d, layout, rng):
    f = rng.choice(tsv_files(layout, fixed=True))
    _edit_line(d / f, rng, lambda b: b.rsplit(b"\t", 1)[0])
    return Outcome(f, "reject", line=True)


def m_extra_field(d, layout, rng):
    f = rng.choice(tsv_files(layout, fixed=True))
    _edit_line(d / f, rng, lambda b: b + b"\textra")
    return Outcome(f, "reject", line=True)


def m_truncated_file(d, layout, rng):
    f = rng.choice(tsv_files(layout, fixed=True))
    data = (d / f).read_bytes().rstrip(b"\n")
    (d / f).write_bytes(data[: data.rindex(b"\t")])
    return Outcome(f, "reject", line=True)


def m_bom(d, layout, rng):
    extra = ["translated_ent_name.json"] if layout == "eva" else []
    f = rng.choice(tsv_files(layout, fixed=False) + extra)
    (d / f).write_bytes(b"\xef\xbb\xbf" + (d / f).read_bytes())
    return Outcome(f, "accept")


def m_crlf(d, layout, rng):
    f = rng.choice(tsv_files(layout, fixed=False))
    (d / f).write_bytes((d / f).read_bytes().replace(b"\n", b"\r\n"))
    return Outcome(f, "accept")


def m_nul(d, layout, rng):
    f = rng.choice(tsv_files(layout, fixed=False))
    _edit_line(d / f, rng, lambda b: b[:1] + b"\x00" + b[1:])
    return Outcome(f, "reject", line=True)


def m_bad_utf8(d, layout, rng):
    f = rng.choice(tsv_files(layout, fixed=False))
    _edit_line(d / f, rng, lambda b: b[:1] + b"\xff\xfe" + b[1:])
    return Outcome(f, "reject", line=True)


def m_empty(d, layout, rng):
    f = rng.choice(REQUIRED[layout])
    (d / f).write_bytes(b"")
    return Outcome(f, "reject")


def m_blank_only(d, layout, rng):
    f = rng.choice(REQUIRED[layout])
    (d / f).write_bytes(b"\n  \n\t\n\r\n")
    return Outcome(f, "reject")


def m_missing(d, layout, rng):
    f = rng.choice(REQUIRED[layout])
    (d / f).unlink()
    return Outcome(f, "reject")


def m_fifo(d, layout, rng):
    extra = {"eva": ["translated_ent_name.json", "img_features.npz"]}.get(layout, [])
    f = rng.choice(REQUIRED[layout] + OPTIONAL[layout] + extra)
    (d / f).unlink()
    os.mkfifo(d / f)
    return Outcome(f, "reject")


def m_directory(d, layout, rng):
    f = rng.choice(REQUIRED[layout] + OPTIONAL[layout])
    (d / f).unlink()
    (d / f).mkdir()
    return Outcome(f, "reject")


def m_huge_field(d, layout, rng):
    f = rng.choice([LINKS[layout]] + (["ent_ids_1", "triples_2"] if layout == "eva" else []))
    _edit_line(d / f, rng, lambda b: b"x" * 1_000_000 + b"\t" + b.split(b"\t", 1)[1])
    return Outcome(f, "reject", line=True)


def m_duplicate_link(d, layout, rng):
    f = LINKS[layout]
    _append(d / f, "\t".join(_fields(d / f, rng)))
    return Outcome(f, "reject", line=True)


def m_unknown_entity(d, layout, rng):
    f = LINKS[layout]
    a, b = _fields(d / f, rng)
    unknown = "999999" if layout == "eva" else "http://nowhere/x"
    _append(d / f, f"{unknown}\t{b}" if rng.random() < 0.5 else f"{a}\t{unknown}")
    return Outcome(f, "reject", line=True)


def m_not_one_to_one(d, layout, rng):
    f = LINKS[layout]
    rows = (d / f).read_text(encoding="utf-8").splitlines()
    (a, _), (_, b) = (r.split("\t") for r in rng.sample(rows, 2))
    _append(d / f, f"{a}\t{b}")
    return Outcome(f, "reject", line=True)


def m_reversed_link(d, layout, rng):
    f = LINKS[layout]
    a, b = _fields(d / f, rng)
    _append(d / f, f"{b}\t{a}")
    return Outcome(f, "reject", line=True)


def m_attrs_unknown_uri(d, layout, rng):
    f = rng.choice(OPTIONAL["eva"])
    _append(d / f, "http://nowhere/x\tbirth")
    return Outcome(f, "reject", line=True)


def m_duplicate_entity_id(d, layout, rng):
    _append(d / "ent_ids_2", "\t".join(_fields(d / "ent_ids_1", rng)))
    return Outcome("ent_ids_2", "reject", line=True)


JSON_BAD = {
    "id_string": lambda items: [[str(items[0][0]), items[0][1]]] + items[1:],
    "id_float": lambda items: [[items[0][0] + 0.5, items[0][1]]] + items[1:],
    "id_bool": lambda items: [[True, items[1][1]]] + items[2:],
    "id_unknown": lambda items: items + [[999999, ["x"]]],
    "id_duplicate": lambda items: items + [items[0]],
    "tokens_not_list": lambda items: [[items[0][0], "x"]] + items[1:],
    "not_list": lambda items: {str(i): t for i, t in items},
}


def m_json(d, layout, rng):
    path = d / "translated_ent_name.json"
    kind = rng.choice([*JSON_BAD, "truncated"])
    if kind == "truncated":
        text = path.read_text()
        path.write_text(text[: rng.randrange(1, len(text) - 1)])
    else:
        path.write_text(json.dumps(JSON_BAD[kind](json.loads(path.read_text()))))
    return Outcome(path.name, "reject")


def _features(d: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(d / "img_features.npz") as archive:
        return archive["ids"], archive["features"]


def m_features(d, layout, rng):
    """A bad ``img_features`` file in one of the three formats."""
    ids, rows = _features(d)
    kind = rng.choice(["float_ids", "string_ids", "dup_ids", "nan", "inf", "complex", "object", "flat",
                       "mismatch", "no_ids", "garbage", "truncated", "npy_partial_nan", "npy_inf",
                       "npy_3d", "pkl_string_keys", "pkl_nan", "pkl_ragged"])
    out = d / "img_features.npz"
    if kind.startswith(("npy", "pkl")):
        out.unlink()
    bad = rows.copy()
    bad[rng.randrange(len(bad)), 1] = np.inf if "inf" in kind else np.nan
    if kind == "float_ids":
        np.savez(out, ids=ids + 0.5, features=rows)
    elif kind == "string_ids":
        np.savez(out, ids=ids.astype(str), features=rows)
    elif kind == "dup_ids":
        np.savez(out, ids=np.r_[ids[:-1], ids[0]], features=rows)
    elif kind in ("nan", "inf"):
        np.savez(out, ids=ids, features=bad)
    elif kind == "complex":
        np.savez(out, ids=ids, features=rows.astype(np.complex64) + 1j)
    elif kind == "object":
        np.savez(out, ids=ids, features=np.array([list(r) for r in rows] + [["x"]], dtype=object)[:-1])
    elif kind == "flat":
        np.savez(out, ids=ids, features=rows.ravel())
    elif kind == "mismatch":
        np.savez(out, ids=ids[:-1], features=rows)
    elif kind == "no_ids":
        np.savez(out, features=rows)
    elif kind in ("garbage", "truncated"):
        data = out.read_bytes()
        out.write_bytes(os.urandom(64) if kind == "garbage" else data[: len(data) // 2])
    elif kind.startswith("npy"):
        matrix = np.zeros((int(ids.max()) + 1, rows.shape[1]), np.float32)
        matrix[ids] = bad if kind != "npy_3d" else rows
        np.save(d / "img_features.npy", matrix[:, :, None] if kind == "npy_3d" else matrix)
    else:
        keys = [str(i) if kind == "pkl_string_keys" else int(i) for i in ids]
        values = list(bad if kind == "pkl_nan" else rows)
        if kind == "pkl_ragged":
            values[0] = values[0][:2]
        (d / "img_features.pkl").write_bytes(pickle.dumps(dict(zip(keys, values))))
    return Outcome("img_features." + ("npz" if not kind.startswith(("npy", "pkl")) else kind[:3]), "reject")


def m_features_equivalent(d, layout, rng):
    """The same features as .npy rows or a pickled dict: must load exactly as the .npz."""
    ids, rows = _features(d)
    (d / "img_features.npz").unlink()
    if rng.random() < 0.5:
        matrix = np.zeros((int(ids.max()) + 1, rows.shape[1]), np.float32)
        matrix[ids] = rows
        np.save(d / "img_features.npy", matrix)
        return Outcome("img_features.npy", "accept")
    (d / "img_features.pkl").write_bytes(pickle.dumps(dict(zip(ids.tolist(), rows))))
    return Outcome("img_features.pkl", "accept")


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims ``width x height`` pixels in a few dozen bytes (a decompression bomb)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def m_image(d, layout, rng):
    """A bad file where an entity's image belongs."""
    images = d / "images"
    target = rng.choice(sorted(images.iterdir()))
    kind = rng.choice(["garbage", "truncated", "empty", "bomb", "big", "fifo", "directory",
                       "symlink_out", "device", "second"])
    data = target.read_bytes()
    if kind != "second":
        target.unlink()
    if kind in ("garbage", "truncated", "empty", "bomb", "big"):
        target.write_bytes({"garbage": os.urandom(200), "truncated": data[: len(data) // 2], "empty": b"",
                            "bomb": _png_header(100_000, 100_000), "big": _png_header(10_000, 10_000)}[kind])
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "directory":
        target.mkdir()
    elif kind == "symlink_out":
        (d.parent / f"{d.name}-outside.png").write_bytes(data)
        target.symlink_to(d.parent / f"{d.name}-outside.png")
    elif kind == "device":
        target.symlink_to("/dev/zero")
    else:
        target = target.with_suffix(".jpg")
        target.write_bytes(data)
    return Outcome(target.name, "reject")


def m_image_harmless(d, layout, rng):
    """An extra file for no entity, or a PNG under a .jpg name: must load as before."""
    images = d / "images"
    target = rng.choice(sorted(images.iterdir()))
    if rng.random() < 0.5:
        shutil.copy(target, images / "%2Fno%2Fsuch%2Fentity.png")
    else:
        target.rename(target.with_suffix(".jpg"))
    return Outcome("images", "accept")


ALL = ("openea", "images", "eva", "seeds")
MUTATIONS = [
    (m_drop_field, ALL), (m_extra_field, ALL), (m_truncated_file, ALL), (m_bom, ALL), (m_crlf, ALL),
    (m_nul, ALL), (m_bad_utf8, ALL), (m_empty, ALL), (m_blank_only, ALL), (m_missing, ALL), (m_fifo, ALL),
    (m_directory, ("openea", "eva")), (m_huge_field, ALL), (m_duplicate_link, ALL), (m_unknown_entity, ALL),
    (m_not_one_to_one, ALL), (m_reversed_link, ALL), (m_attrs_unknown_uri, ("eva",)),
    (m_duplicate_entity_id, ("eva",)), (m_json, ("eva",)), (m_json, ("eva",)), (m_features, ("eva",)),
    (m_features, ("eva",)), (m_features, ("eva",)), (m_features_equivalent, ("eva",)),
    (m_image, ("images",)), (m_image, ("images",)), (m_image, ("images",)), (m_image_harmless, ("images",)),
]


