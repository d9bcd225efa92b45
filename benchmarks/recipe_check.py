"""Does a change of what is computed keep the results? mIoU of two runs of the same config
(same seeds, so trial k of both starts from the same warm-up draw), paired trial by trial.

For each method and round that both runs finished: the mean mIoU of each, the mean of the
per-trial differences new - old and its 95% Student-t interval. Written as a CSV (the docs'
recipe table reads it) and printed.

    python benchmarks/recipe_check.py --old OLD/results/paper --new NEW/results/paper \\
        --methods warmup SP AMSP+S --out docs/results/recipe/recipe.csv
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from asal.measure.paired import t_interval


def miou(folder: Path) -> float | None:
    path = folder / "metrics.json"
    return json.loads(path.read_text())["miou"] if path.exists() else None


def compare(old: Path, new: Path, methods: list[str]) -> pd.DataFrame:
    rows = []
    for method in methods:
        for round_dir in sorted((new / method / "trial0").glob("round*")):
            rnd = int(round_dir.name[5:])
            pairs = []
            for trial_dir in sorted((new / method).glob("trial*")):
                a = miou(old / method / trial_dir.name / round_dir.name)
                b = miou(trial_dir / round_dir.name)
                if a is not None and b is not None:
                    pairs.append((a, b, json.loads((trial_dir / round_dir.name /
                                                    "metrics.json").read_text())["clicks"]))
            if not pairs:
                continue
            a, b, clicks = (np.array(x, float) for x in zip(*pairs))
            mean, lo, hi = t_interval(b - a)
            rows.append({"method": method, "round": rnd, "clicks": int(clicks[0]),
                         "pairs": len(pairs), "old": a.mean(), "new": b.mean(),
                         "diff_mean": mean, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--old", type=Path, required=True)
    p.add_argument("--new", type=Path, required=True)
    p.add_argument("--methods", nargs="+", default=["warmup", "SP", "AMSP+S"])
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    table = compare(args.old, args.new, args.methods)
    with pd.option_context("display.width", 120, "display.float_format", "{:.4f}".format):
        print(table.to_string(index=False))
    rounds = table[table["round"] > 0]
    if len(rounds):
        print(f"mean difference over the rounds after the warm-up: "
              f"{100 * rounds['diff_mean'].mean():+.2f} points")
    if args.out is not None:
        from asal.store.artifacts import write_csv

        write_csv(args.out, table)


if __name__ == "__main__":
    main()
