"""Argument parsing and dispatch for ``python -m almea``."""
from __future__ import annotations

import argparse
import sys

from almea.cli import align_cmd, data_cmd, simulate_cmd, train_cmd
from almea.data.errors import DataFormatError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m almea", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    data_cmd.add_parser(commands)
    train_cmd.add_parser(commands)
    simulate_cmd.add_parser(commands)
    align_cmd.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; data errors print as one clear line and exit 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except DataFormatError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
