"""``python -m almea data``: load a dataset (or write the demo) and print its summary."""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from almea.data.kg_pair import MODALITIES, KGPair
from almea.data.rdf import RdfLoad, load_rdf, load_rdf_files
from almea.data.rdf_export import write_rdf
from almea.data.registry import LAYOUTS, load_dataset
from almea.data.synthetic import DemoConfig, generate_demo, write_openea


class _RdfFileAction(argparse.Action):
    """``--kg1 FILE`` stands for ``--layout rdf``, so commands that check the layout see one."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, values)
        namespace.layout = "rdf"


def add_data_options(parser: argparse.ArgumentParser, layout_required: bool = True) -> None:
    """Options every subcommand that reads a dataset shares."""
    parser.add_argument("--data", type=Path, help="dataset folder (for --layout demo: where to write it)")
    source = parser.add_mutually_exclusive_group(required=layout_required)
    source.add_argument("--layout", choices=(*LAYOUTS, "demo"))
    source.add_argument("--kg1", type=Path, action=_RdfFileAction,
                        help="KG1 as one RDF file (.nt, .ttl, .nt.gz, .ttl.gz) instead of --data/--layout")
    parser.add_argument("--kg2", type=Path, help="KG2 as one RDF file (with --kg1)")
    parser.add_argument("--links", type=Path, help="owl:sameAs links between them, an RDF file (with --kg1)")
    parser.add_argument("--images", type=Path, help="image folder (default: DATA/images when present)")
    parser.add_argument("--image-features", type=Path, help="supplied image features (.npy/.npz/.pkl)")
    parser.add_argument("--allow-pickle", action="store_true", help="allow a pickled feature file (trusted input only)")
    parser.add_argument("--demo-size", type=int, default=400, help="entities in the synthetic world (demo)")
    parser.add_argument("--demo-seed", type=int, default=0)
    parser.add_argument("--demo-missing-images", type=float, metavar="SHARE",
                        help="share of each view's entities without a picture (demo; default: 5%% KG1, 20%% KG2)")
    parser.add_argument("--demo-swapped-images", type=float, default=0.0, metavar="SHARE",
                        help="share of each view's pictured entities shown another's picture (demo: noisy images)")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("data", help="summarise a dataset or write the synthetic demo")
    add_data_options(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--to-rdf", type=Path, metavar="OUT",
                        help="also write the pair as N-Triples: OUT/kg1.nt, kg2.nt, links.nt (layout rdf)")
    parser.set_defaults(run=run)


def write_demo(out: Path, size: int, seed: int, missing_images: float | None = None,
               swapped_images: float = 0.0) -> Path:
    """Generate the demo and write it in the OpenEA layout plus ``images/``; ``missing_images``
    sets both views' share without a picture (None: ``DemoConfig``'s), ``swapped_images`` the
    share shown another entity's. Raises ``ValueError`` for a share outside [0, 1]."""
    rates = {} if missing_images is None else {"missing_images": (missing_images, missing_images)}
    config = DemoConfig(n_entities=size, seed=seed, swapped_images=swapped_images, **rates)
    with tempfile.TemporaryDirectory() as scratch:
        pair = generate_demo(config, image_dir=Path(scratch))
        write_openea(pair, out)
    return out


def open_dataset(args: argparse.Namespace) -> KGPair:
    """Load what the shared data options name; the demo goes through the real loaders."""
    if args.layout == "rdf":
        return open_rdf(args).pair
    if args.kg2 is not None or args.links is not None:
        raise SystemExit("error: --kg2 and --links go with --kg1")
    if args.layout == "demo":
        out = args.data or Path(tempfile.mkdtemp(prefix="almea-demo-"))              # never a command's results --out
        try:
            folder = write_demo(out, args.demo_size, args.demo_seed, args.demo_missing_images, args.demo_swapped_images)
        except ValueError as err:
            raise SystemExit(f"error: {err}") from err
        return load_dataset(folder, "images")
    if args.data is None:
        raise SystemExit("error: --data is required for this layout")
    return load_dataset(
        args.data,
        args.layout,
        images=args.images,
        image_features=args.image_features,
        allow_pickle=args.allow_pickle,
    )


def open_rdf(args: argparse.Namespace) -> RdfLoad:
    """Load an ``rdf`` folder (``--data``) or the files ``--kg1 --kg2 [--links]``."""
    if args.images is not None:
        raise SystemExit("error: RDF input takes its images from foaf:depiction / schema:image triples, not --images")
    if args.kg1 is None:
        if args.data is None or args.kg2 is not None or args.links is not None:
            raise SystemExit("error: --layout rdf reads the folder --data (kg1.*, kg2.*, links.*); "
                             "for single files use --kg1 FILE --kg2 FILE [--links FILE] without --layout")
        return load_rdf(args.data)
    if args.kg2 is None or args.data is not None:
        raise SystemExit("error: --kg1 needs --kg2 (and --links optionally), and no --data")
    return load_rdf_files(args.kg1, args.kg2, args.links)


def format_summary(summary: dict) -> str:
    """A fixed-width table: one column per KG."""
    rows = [("", "KG1", "KG2")]
    kg1, kg2 = summary["kg1"], summary["kg2"]
    for key in ("entities", "relations", "relation_triples", "attribute_keys", "attribute_triples"):
        rows.append((key.replace("_", " "), f"{kg1[key]:,}", f"{kg2[key]:,}"))
    for modality in MODALITIES:
        share1, share2 = kg1["modality_share"][modality], kg2["modality_share"][modality]
        rows.append((f"has {modality}", f"{share1:.1%}", f"{share2:.1%}"))
    width = max(len(r[0]) for r in rows)
    lines = [f"dataset: {summary['name']}    gold links: {summary['gold_links']:,}"]
    lines += [f"{a:<{width}}  {b:>10}  {c:>10}" for a, b, c in rows]
    return "\n".join(lines)


def format_rdf_notes(loaded: RdfLoad) -> str:
    """What the RDF mapping left out and which literal types it read, one line each."""
    return f"skipped: {_counts(loaded.skipped)}\nattribute literals: {_counts(loaded.literal_types)}"


def _counts(found: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {what}" for what, n in sorted(found.items(), key=lambda item: -item[1])) or "none"


def run(args: argparse.Namespace) -> int:
    loaded = open_rdf(args) if args.layout == "rdf" else None
    pair = loaded.pair if loaded is not None else open_dataset(args)
    summary = pair.summary()
    if args.json:
        rdf = {"rdf": {"skipped": loaded.skipped, "literal_types": loaded.literal_types}} if loaded else {}
        print(json.dumps(summary | rdf, indent=2))
    else:
        print(format_summary(summary))
        if loaded is not None:
            print(format_rdf_notes(loaded))
    if args.layout == "demo":
        print(f"demo written to {pair.source}")
    if args.to_rdf is not None:
        written = write_rdf(pair, args.to_rdf)
        print(f"RDF written to {args.to_rdf}: " + ", ".join(path.name for path in written))
    return 0
