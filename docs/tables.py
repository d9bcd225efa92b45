"""The result tables of the docs pages, written from the report files, never typed.

Each table of a page sits between `<!-- table NAME -->` and `<!-- /table -->`; this script
rewrites what is between them from the CSV files under docs/results/ (copies of an
experiment's report/<name>/metrics.csv, rounds.csv and paired.csv, refreshed with --copy).
A test runs `--check`, so a page cannot drift from its files.

    python docs/tables.py                       # rewrite the tables of every page
    python docs/tables.py --check               # exit 1, with a diff, if a page is stale
    python docs/tables.py --copy results/paper  # refresh docs/results/ from a run's reports
"""

from __future__ import annotations

import argparse
import difflib
import math
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

DOCS = Path(__file__).resolve().parent
RESULTS = DOCS / "results"
REPORT_FILES = ("metrics.csv", "rounds.csv", "paired.csv")
# The CamVid classes whose pixel share is 0.5-1.4%: what class balance exists for.
RARE = ("Pole", "SignSymbol", "Fence", "Pedestrian", "Bicyclist")
MARKER = re.compile(r"(<!-- table (\S+) -->\n)(.*?)(<!-- /table -->)", re.S)


def read(report: str, name: str) -> pd.DataFrame:
    return pd.read_csv(RESULTS / report / name)


def rng(values) -> str:
    v = 100 * pd.Series(values, dtype=float)
    return f"{v.mean():.1f} ({v.min():.1f}-{v.max():.1f})"


def interval(row) -> str:
    if row is None or pd.isna(row.get("ci_low")):
        return ""
    return (f"{100 * row['diff_mean']:+.1f} ({100 * row['ci_low']:+.1f}, "
            f"{100 * row['ci_high']:+.1f})")


def pair(paired: pd.DataFrame, method: str, rnd: int, baseline: str | None = None):
    hit = paired[(paired["method"] == method) & (paired["round"] == rnd)]
    if baseline is not None:
        hit = hit[hit["baseline"] == baseline]
    return None if hit.empty else hit.iloc[0]


def _count(row, key: str) -> str:
    return "" if row is None or pd.isna(row.get(key)) else f"{int(row[key])}"


def _num(row, key: str, scale: float = 1.0) -> str:
    return "" if row is None or pd.isna(row.get(key)) else f"{scale * float(row[key]):.1f}"


def paired_to(metrics: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Paired differences of every method to `baseline`, trial by trial (as the report's
    paired.csv holds them to its first baseline)."""
    sys.path.insert(0, str(DOCS.parent / "workflow"))
    from asal.measure.paired import paired_differences

    rounds = metrics[metrics["method"] != "Full"]
    return paired_differences(rounds, baseline)


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


ORDER = ("SP", "SP+S", "MSP+S", "AMSP+S")  # the paper's ladder, then the rest by name


def methods_of(metrics: pd.DataFrame) -> list[str]:
    found = [m for m in dict.fromkeys(metrics["method"]) if m != "Full"]
    return sorted(found, key=lambda m: (ORDER.index(m) if m in ORDER else len(ORDER), m))


def n_trials(metrics: pd.DataFrame, method: str) -> int:
    return int(metrics.loc[metrics["method"] == method, "trial"].nunique())


def clicks_table(report: str, baseline: str = "SP") -> str:
    """mIoU (mean and range over trials) at each round's clicks, the paired difference to the
    baseline after the last round, its SD and the trials that would narrow it to +-1 point."""
    metrics, paired = read(report, "metrics.csv"), read(report, "paired.csv")
    rounds = sorted(r for r in metrics["round"].dropna().unique() if r > 0)
    last = int(max(rounds))
    clicks = {int(r): int(metrics.loc[metrics["round"] == r, "clicks"].median())
              for r in rounds}
    header = ["method"] + [f"{clicks[r]:,} clicks" for r in rounds] + \
        [f"diff to {baseline} at {clicks[last]:,} (95% CI)", "SD of diffs", "trials for ±1"]
    out = []
    for method in methods_of(metrics):
        mine = metrics[metrics["method"] == method]
        row = [method] + [rng(mine.loc[mine["round"] == r, "miou"]) for r in rounds]
        p = pair(paired, method, last, baseline)
        row += ["baseline", "", ""] if method == baseline else \
            [interval(p), _num(p, "diff_sd", 100), _count(p, "trials_for_1pt")]
        out.append(row)
    full = metrics[metrics["method"] == "Full"]
    if len(full):
        out.append(["Full"] + [""] * (len(rounds) - 1)
                   + [rng(full["miou"]) + f", {full['trial'].nunique()} trials", "", "", ""])
    trials = n_trials(metrics, methods_of(metrics)[0])
    return markdown(header, out) + f"\nMean over {trials} trials (range); diff: paired, in " \
        "points.\n"


def rounds_table(report: str, baseline: str = "SP") -> str:
    """Every method's paired difference to the baseline at every round after the warm-up."""
    metrics, paired = read(report, "metrics.csv"), read(report, "paired.csv")
    rounds = sorted(int(r) for r in paired["round"].unique() if r > 0)
    clicks = {r: int(paired.loc[paired["round"] == r, "clicks"].median()) for r in rounds}
    header = ["method"] + [f"round {r} ({clicks[r]:,} clicks)" for r in rounds]
    out = []
    for method in [m for m in methods_of(metrics) if m != baseline]:
        out.append([method] + [interval(pair(paired, method, r, baseline)) for r in rounds])
    return markdown(header, out)


def method_rows_table(report: str, second: str | None = None, paper: dict | None = None,
                      sieve_round: int | None = None) -> str:
    """The methods at the last round: mIoU, paired differences to SP (and `second`), and the
    diagnostics of the rounds after the warm-up."""
    metrics, rounds_csv, paired = (read(report, n) for n in REPORT_FILES)
    last = int(metrics["round"].max())
    header = ["method"] + (["paper"] if paper else []) + \
        [f"mIoU % after {int(metrics.loc[metrics['round'] == last, 'clicks'].median()):,} "
         "clicks (range)", "diff to SP (95% CI)"] + \
        ([f"diff to {second} (95% CI)"] if second else []) + \
        ["trials for ±1", "clicks on void %", "labelled px per click", "query purity %",
         "label purity %", "IoU of the 5 rarest %"]
    if sieve_round is not None:
        header.append(f"wrong px removed / right px kept, round {sieve_round} %")
    out = []
    for method in methods_of(metrics):
        mine = metrics[metrics["method"] == method]
        final = mine[mine["round"] == last]
        after = mine[mine["round"] > 0]
        p = pair(paired, method, last, "SP")
        row = [method] + ([f"{paper[method]:.2f}" if method in paper else ""] if paper else [])
        row += [rng(final["miou"]), "baseline" if method == "SP" else interval(p)]
        if second:
            row.append("baseline" if method == second else
                       interval(pair(paired_to(metrics, second), method, last, second)))
        row.append(_count(p, "trials_for_1pt"))
        void = after["clicks_on_void"].sum() / after["round_clicks"].sum() \
            if "clicks_on_void" in after else float("nan")
        row += [f"{100 * void:.1f}", f"{(final['labelled_pixels'] / final['clicks']).mean():.1f}",
                f"{100 * after['query_purity'].mean():.1f}",
                f"{100 * final['label_purity'].mean():.1f}",
                f"{100 * final[[f'iou_{c}' for c in RARE]].mean(axis=1).mean():.1f}"]
        if sieve_round is not None:
            at = mine[mine["round"] == sieve_round]
            row.append("-" if at["sieve_removed_wrong"].isna().all() else
                       f"{100 * at['sieve_removed_wrong'].mean():.1f} / "
                       f"{100 * at['sieve_kept_right'].mean():.1f}")
        out.append(row)
    trials = n_trials(metrics, "SP")
    return markdown(header, out) + (
        f"\nMean over {trials} trials (range); diffs paired, in points; clicks on void and "
        "query purity over the rounds after the warm-up, labelled pixels per click and label "
        "purity after the last round (every labelled pixel so far).\n")


def recipe_table(report: str) -> str:
    """The cheaper recipe against retraining from scratch: per method and round, the paired
    difference new - old over the trials both ran."""
    frame = read(report, "recipe.csv")
    header = ["method", "round", "clicks", "trials", "old mIoU %", "new mIoU %",
              "new - old (95% CI)"]
    out = [[r["method"], int(r["round"]), f"{int(r['clicks']):,}", int(r["pairs"]),
            f"{100 * r['old']:.1f}", f"{100 * r['new']:.1f}", interval(r)]
           for _, r in frame.iterrows()]
    return markdown(header, out)


TABLES = {
    "fig3_clicks": lambda: clicks_table("fig3_clicks"),
    "fig3_clicks_rounds": lambda: rounds_table("fig3_clicks"),
    "table6_sieving": lambda: method_rows_table(
        "table6_sieving", sieve_round=2,
        paper={"SP": 63.77, "AMSP+S-phi0.0": 65.35, "AMSP+S-phi0.2": 61.80,
               "AMSP+S-phi0.4": 57.77, "AMSP+S-phi0.6": 45.84, "AMSP+S-phi0.8": 38.99,
               "AMSP+S": 66.53}),
    "beyond_void": lambda: method_rows_table("beyond_void", second="AMSP+S"),
    "beyond_multiclass": lambda: method_rows_table("beyond_multiclass", second="AMSP+S"),
    "beyond_void_rounds": lambda: rounds_table("beyond_void"),
    "beyond_multiclass_rounds": lambda: rounds_table("beyond_multiclass"),
    "recipe": lambda: recipe_table("recipe"),
    "camvid": lambda: clicks_table("camvid"),
}


def rewrite(text: str) -> str:
    def fill(m):
        name = m.group(2)
        if name not in TABLES:
            raise SystemExit(f"unknown table {name!r}; known: {sorted(TABLES)}")
        return m.group(1) + TABLES[name]() + m.group(4)
    return MARKER.sub(fill, text)


def pages() -> list[Path]:
    return sorted(p for p in DOCS.glob("*.md") if "<!-- table " in p.read_text())


def copy(run: Path) -> None:
    """docs/results/<name>/ from each report/<name>/ of a run (results/<experiment>)."""
    for folder in sorted((run / "report").iterdir()):
        if folder.is_dir() and (folder / "metrics.csv").exists() and folder.name in TABLES:
            (RESULTS / folder.name).mkdir(parents=True, exist_ok=True)
            for name in REPORT_FILES:
                tmp = RESULTS / folder.name / f".{name}.tmp"
                shutil.copy(folder / name, tmp)
                tmp.replace(RESULTS / folder.name / name)
            print(f"copied {folder}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true")
    p.add_argument("--copy", type=Path, default=None)
    args = p.parse_args()
    if args.copy:
        copy(args.copy)
    stale = 0
    for page in pages():
        old = page.read_text()
        new = rewrite(old)
        if new == old:
            continue
        if args.check:
            stale += 1
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(True), new.splitlines(True), str(page), str(page) + " (tables)"))
        else:
            tmp = page.with_suffix(".md.tmp")
            tmp.write_text(new)
            tmp.replace(page)  # atomically: a page is never half written
            print(f"rewrote the tables of {page.relative_to(DOCS.parent)}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
