"""Disk per model version of a project on a dataset: one checkpoint's size, and what the
checkpoints folder holds after ``--versions`` models with every file kept (before) and with
``annotate.model_files`` pruning (after).

    .venv/bin/python -m bench.checkpoint_size --data ../shared/data/FB15K237-DB15K --versions 10
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from almea.active import ActiveLearner
from almea.cli.data_cmd import open_dataset
from almea.cli.main import build_parser
from annotate.model_files import KEEP_RECENT
from annotate.settings import default_learner

MB = 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--layout", default="openea")
    parser.add_argument("--versions", type=int, default=10)
    args = parser.parse_args()
    pair = open_dataset(build_parser().parse_args(["data", "--data", str(args.data), "--layout", args.layout]))
    learner = ActiveLearner(pair, default_learner(), progress=False)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "model-v1.pt"
        learner.save(path)
        size = path.stat().st_size / MB
    kept = min(args.versions, 1 + KEEP_RECENT)
    print(f"{pair.name}: {pair.n_entities:,} entities, one checkpoint {size:.1f} MB (weights + optimiser state)")
    print(f"after {args.versions} versions: {args.versions * size:.0f} MB keeping every file, "
          f"{kept * size:.0f} MB keeping the base and the newest {KEEP_RECENT} (ratio {kept / args.versions:.2f})")


if __name__ == "__main__":
    main()
