"""``python -m almea data``: load a dataset (or write the demo) and print its summary."""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from almea.data.kg_pair import MODALITIES, KGPair
from almea.data.registry import LAYOUTS, load_dataset
from almea.data.synthetic import DemoConfig, generate_demo, write_openea


def add_data_options(parser: argparse.ArgumentParser, layout_required: bool = True) -> None:
    """Options every subcommand that reads a dataset shares."""
    parser.add_argument("--data", type=Path, help="dataset folder (for --layout demo: where to write it)")
    parser.add_argument("--layout", choices=(*LAYOUTS, "demo"), required=layout_required)
    parser.add_argument("--images", type=Path, help="image folder (default: DATA/images when present)")
    parser.add_argument("--image-features", type=Path, help="supplied image features (.npy/.npz/.pkl)")
    parser.add_argument("--allow-pickle", action="store_true", help="allow a pickled feature file (trusted input only)")
    parser.add_argument("--demo-size", type=int, default=400, help="entities in the synthetic world (demo)")
    parser.add_argument("--demo-seed", type=int, default=0)


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("data", help="summarise a dataset or write the synthetic demo")
    add_data_options(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(run=run)


def write_demo(out: Path, size: int, seed: int) -> Path:
    """Generate the demo and write it in the OpenEA layout plus ``images/``."""
    with tempfile.TemporaryDirectory() as scratch:
        pair = generate_demo(DemoConfig(n_entities=size, seed=seed), image_dir=Path(scratch))
        write_openea(pair, out)
    return out


def open_dataset(args: argparse.Namespace) -> KGPair:
    """Load what the shared data options name; the demo goes through the real loaders."""
    if args.layout == "demo":
        out = args.data or Path(tempfile.mkdtemp(prefix="almea-demo-"))              # never a command's results --out
        return load_dataset(write_demo(out, args.demo_size, args.demo_seed), "images")
    if args.data is None:
        raise SystemExit("error: --data is required for this layout")
    return load_dataset(
        args.data,
        args.layout,
        images=args.images,
        image_features=args.image_features,
        allow_pickle=args.allow_pickle,
    )


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


def run(args: argparse.Namespace) -> int:
    pair = open_dataset(args)
    summary = pair.summary()
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    if args.layout == "demo":
        print(f"demo written to {pair.source}")
    return 0
