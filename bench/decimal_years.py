"""How Freebase writes dates as decimal years: for every gold link whose Freebase side has a
decimal year and whose DBpedia side has an ISO date of the same year, the difference between
fraction x 12 and the date's month, counted (0: the fraction is month / 12).

    .venv/bin/python -m bench.decimal_years --data ../shared/data/FB15K237-DB15K
"""
from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict
from pathlib import Path

_DECIMAL_YEAR = re.compile(r"([12]\d{3})\.(\d+)")
_ISO_DATE = re.compile(r"(-?\d{4})-(\d{1,2})-(\d{1,2})")


def _values(path: Path, pattern: re.Pattern) -> dict[str, list[re.Match]]:
    found: dict[str, list[re.Match]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        entity, _, value = line.split("\t")
        if match := pattern.fullmatch(value):
            found[entity].append(match)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="an OpenEA folder with Freebase as KG1")
    args = parser.parse_args()
    links = dict(line.split("\t") for line in (args.data / "ent_links").read_text(encoding="utf-8").splitlines())
    decimal, dates = _values(args.data / "attr_triples_1", _DECIMAL_YEAR), _values(args.data / "attr_triples_2", _ISO_DATE)
    offsets: Counter[float] = Counter()
    for source, years in decimal.items():
        for year in years:
            months = float(f"0.{year.group(2)}") * 12
            for date in dates.get(links.get(source, ""), []):
                if date.group(1) == year.group(1):
                    offsets[round(months - int(date.group(2)), 2)] += 1
    print(f"{sum(offsets.values())} same-year (decimal year, ISO date) pairs on gold links; "
          "fraction x 12 - month: count")
    for offset, count in offsets.most_common(8):
        print(f"  {offset:+6.2f}: {count}")


if __name__ == "__main__":
    main()
