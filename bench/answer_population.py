"""Who the answers of a self-training run were about: by band of the CSLS quantile at which
each pair was proposed, the oracle's accept rate, the share of pairs whose source and target
have a gold link, and the share whose target is held out.

    .venv/bin/python -m bench.answer_population --data ../shared/data/DBP15K/zh_en --layout eva \\
        --run "runs/zh_en-es/st/15%+1%x5-random-s0-st-es"
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from almea.cli.data_cmd import open_dataset
from almea.cli.main import build_parser
from almea.simulation.runner import STATE_FILE
from almea.training.split import make_split

BANDS = (0.0, 0.5, 0.8, 0.95, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--layout", default="openea")
    parser.add_argument("--run", type=Path, required=True, help="a finished self-training run folder")
    args = parser.parse_args()
    state = json.loads((args.run / STATE_FILE).read_text(encoding="utf-8"))
    config = state["config"]
    pair = open_dataset(build_parser().parse_args(["data", "--data", str(args.data), "--layout", args.layout]))
    split = make_split(config.get("split", "links"), pair.links, pair.n1, config["test_ratio"], config["seed"])
    answers = pd.DataFrame(state["answers"])
    answers = answers.assign(
        source_linked=answers["source"].isin(pair.links[:, 0]), target_linked=answers["target"].isin(pair.links[:, 1]),
        held_out_target=answers["target"].isin(split.test[:, 1]),
        band=pd.cut(answers["csls_quantile"], list(BANDS), include_lowest=True))
    table = answers.groupby("band", observed=True).agg(
        answers=("accepted", "size"), accepted=("accepted", "mean"), source_linked=("source_linked", "mean"),
        target_linked=("target_linked", "mean"), held_out_target=("held_out_target", "mean"))
    print(f"{len(answers)} answers, {answers['accepted'].mean():.3f} accepted ({config['split'] if 'split' in config else 'links'} split)")
    print(table.round(3).to_string())


if __name__ == "__main__":
    main()
