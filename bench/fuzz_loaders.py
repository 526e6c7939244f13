"""Deterministic fuzz of the dataset loaders: does every bad input fail clearly, and fast?

Builds tiny valid datasets (OpenEA, EVA, images, and an OpenEA pair with a seed TSV) from
the synthetic demo, writes ``--cases`` mutated copies (malformed lines, BOMs, NULs, invalid
UTF-8, empty and blank files, bad links, bad JSON ids, bad feature files, corrupt images,
decompression bombs, FIFOs, symlinks out of the folder, huge fields) and loads each in its
own subprocess with a timeout. Every mutation says whether the loader must reject it or
load it exactly as the original. Prints one count per outcome:

- ``clear error``: a DataFormatError naming the file (and the line where there is one), at
  most ``MAX_MESSAGE`` characters;
- ``unclear error``: a DataFormatError without the file or line, or echoing huge fields;
- ``traceback``: any other exception;
- ``silent acceptance``: bad data loaded;
- ``false rejection`` / ``wrong result``: valid data refused, or loaded differently;
- ``hang``: the loader did not finish within ``--timeout`` seconds (plus 3x the time the
  unmutated dataset took, so a slow torch import on a busy machine is not a hang).

The datasets and mutations live in ``bench/fuzz_mutations.py``.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.fuzz_loaders --cases 300 --seed 0 --jobs 2
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.fuzz_mutations import MUTATIONS, Outcome, build_bases

REPO = Path(__file__).resolve().parents[1]
MAX_MESSAGE = 600


def run_one(layout: str, folder: Path) -> int:
    """Load ``folder`` (the subprocess side): the summary on stdout, or the CLI's one error line."""
    from almea.data import DataFormatError, load_dataset

    try:
        if layout == "seeds":
            from annotate.project_data import project_data
            from annotate.seeds import read_seed_tsv

            data = project_data({"folder": str(folder), "layout": "openea"})
            print(json.dumps({"seeds": len(read_seed_tsv(folder / "seeds.tsv", data))}))
        else:
            print(json.dumps(load_dataset(folder, layout, allow_pickle=True).summary() | {"name": ""}))
    except DataFormatError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def load_in_subprocess(layout: str, folder: Path, timeout: float) -> tuple[int | None, str, str]:
    command = [sys.executable, "-m", "bench.fuzz_loaders", "--run-one", layout, str(folder)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    try:
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return None, "", ""
    return done.returncode, done.stdout, done.stderr


def judge(outcome: Outcome, rc: int | None, stdout: str, stderr: str, expected: str) -> str:
    if rc is None:
        return "hang"
    if "Traceback" in stderr or rc not in (0, 2):
        return "traceback"
    if rc == 0:
        if outcome.expect == "reject":
            return "silent acceptance"
        return "accepted" if stdout == expected else "wrong result"
    if outcome.expect == "accept":
        return "false rejection"
    message = stderr.strip().splitlines()[-1]
    named = outcome.file in message
    lined = re.search(rf"{re.escape(outcome.file)}:\d+: ", message) is not None
    if named and (lined or not outcome.line) and len(message) <= MAX_MESSAGE:
        return "clear error"
    return "unclear error"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=8.0,
                        help="seconds before a load counts as a hang, on top of 3x the unmutated load's time")
    parser.add_argument("--verbose", action="store_true", help="print every case that is not as expected")
    parser.add_argument("--run-one", nargs=2, metavar=("LAYOUT", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        sys.exit(run_one(args.run_one[0], Path(args.run_one[1])))

    combos = [(fn, layout) for fn, layouts in MUTATIONS for layout in layouts]
    with tempfile.TemporaryDirectory(prefix="almea-fuzz-") as scratch:
        root = Path(scratch)
        bases = build_bases(root)
        expected, timeout = {}, {}
        for layout, base in bases.items():
            started = time.perf_counter()
            rc, stdout, stderr = load_in_subprocess(layout, base, 120)
            if rc != 0:
                sys.exit(f"the unmutated {layout} dataset does not load:\n{stderr}")
            # The seed check imports torch: on a loaded machine a slow import is not a hang.
            expected[layout], timeout[layout] = stdout, args.timeout + 3 * (time.perf_counter() - started)
        cases = []
        for number in range(args.cases):
            fn, layout = combos[number % len(combos)]
            folder = root / f"case-{number:04d}"
            shutil.copytree(bases[layout], folder, symlinks=True)
            outcome = fn(folder, layout, random.Random(f"{args.seed}-{number}"))
            cases.append((number, fn.__name__, layout, folder, outcome))

        def judged(case):
            number, name, layout, folder, outcome = case
            rc, stdout, stderr = load_in_subprocess(layout, folder, timeout[layout])
            return case, judge(outcome, rc, stdout, stderr, expected[layout]), stderr

        counts = collections.Counter()
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for (number, name, layout, _, outcome), verdict, stderr in pool.map(judged, cases):
                counts[verdict] += 1
                if args.verbose and verdict not in ("clear error", "accepted"):
                    tail = stderr.strip().splitlines()[-1][:300] if stderr.strip() else ""
                    print(f"case {number} {layout} {name} {outcome.file}: {verdict}  {tail}")
    print(f"cases: {len(cases)}")
    for verdict in ("clear error", "accepted", "unclear error", "traceback", "silent acceptance",
                    "false rejection", "wrong result", "hang"):
        print(f"{verdict}: {counts[verdict]}")


if __name__ == "__main__":
    main()
