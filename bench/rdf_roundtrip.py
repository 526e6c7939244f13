"""RDF input against the layout a dataset came in: the pair is written as RDF
(``almea.data.rdf_export``), both are loaded (median seconds of ``--repeats``) and both are
trained on the same schedule (``train_and_evaluate``, what ``python -m almea train`` runs).

The RDF pair holds the same triples, literals and links under IRIs, so its counts must
equal the original's and its Hits@1 should too (ratio near 1.0); the load times show what
parsing RDF costs against the TSV loader.

    .venv/bin/python -m bench.rdf_roundtrip --data ../shared/data/FB15K237-DB15K --layout openea --epochs 60
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from almea.data import LAYOUTS, KGPair, load_dataset
from almea.data.rdf_export import write_rdf
from almea.data.rdf_terms import RDF_SUFFIXES
from almea.features import FeatureConfig
from almea.model.config import ModelConfig, TrainConfig
from almea.training.pipeline import train_and_evaluate


def timed_load(load: Callable[[], KGPair], repeats: int) -> tuple[KGPair, float]:
    """The loaded pair and the median seconds of ``repeats`` loads."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        pair = load()
        seconds.append(time.perf_counter() - started)
    return pair, statistics.median(seconds)


def hits_at_1(pair: KGPair, args: argparse.Namespace) -> float:
    """Left-to-right test Hits@1 after the schedule the arguments give."""
    train = TrainConfig(epochs=args.epochs, eval_every=0, seed=args.seed, device=args.device)
    result = train_and_evaluate(pair, args.seed_ratio, None, FeatureConfig(), ModelConfig(), train, progress=False)
    return result.final["l2r"]["hits@1"]


def same_counts(a: KGPair, b: KGPair) -> bool:
    return a.summary() | {"name": ""} == b.summary() | {"name": ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--layout", choices=[layout for layout in LAYOUTS if layout != "rdf"], default="openea")
    parser.add_argument("--format", choices=list(RDF_SUFFIXES), default=".nt", help="RDF files written")
    parser.add_argument("--out", type=Path, help="keep the RDF files here (default: a temporary folder)")
    parser.add_argument("--repeats", type=int, default=3, help="loads timed per side")
    parser.add_argument("--seed-ratio", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    original, original_seconds = timed_load(lambda: load_dataset(args.data, args.layout), args.repeats)
    with tempfile.TemporaryDirectory(prefix="almea-rdf-") as scratch:
        out = args.out or Path(scratch)
        write_rdf(original, out, suffixes=(args.format, args.format), links_suffix=args.format)
        rdf, rdf_seconds = timed_load(lambda: load_dataset(out, "rdf"), args.repeats)
        print(f"{original.name}: {original.n_entities:,} entities, {len(original.rel_triples):,} relation and "
              f"{len(original.attr_triples):,} attribute triples, {len(original.links):,} links; "
              f"RDF counts {'equal' if same_counts(original, rdf) else 'DIFFER'}")
        print(f"load (median of {args.repeats}): {args.layout} {original_seconds:.2f} s, rdf ({args.format}) "
              f"{rdf_seconds:.2f} s (ratio {rdf_seconds / original_seconds:.2f})")
        original_hits, rdf_hits = hits_at_1(original, args), hits_at_1(rdf, args)
    ratio = rdf_hits / original_hits if original_hits else float("nan")
    print(f"Hits@1 after {args.epochs} epochs on {args.seed_ratio:.0%} seeds (seed {args.seed}): {args.layout} "
          f"{original_hits:.4f}, rdf {rdf_hits:.4f} (ratio {ratio:.3f})")


if __name__ == "__main__":
    main()
