"""The benchmark's summary: mIoU against clicks, by method, over trials."""

from __future__ import annotations

import json
from html import escape as html_escape
from pathlib import Path

import numpy as np
import pandas as pd

from .artifacts import atomic_path, write_csv


QUALITY = ("label_purity", "sieved_purity", "sieve_recall", "mean_query_size",
           "mean_query_base_superpixels", "labelled_pixels", "kept_pixels")


def collect(metric_paths: list[str]) -> pd.DataFrame:
    rows = []
    for path in metric_paths:
        m = json.loads(Path(path).read_text())
        rows.append({"method": m["method"], "trial": m["trial"], "round": m["round"],
                     "clicks": m["clicks"], "miou": m["miou"],
                     "pixel_accuracy": m["pixel_accuracy"],
                     # classes with no ground-truth pixel in the evaluation split: their IoU
                     # is undefined (empty iou_ column) and miou leaves them out
                     "classes_absent": ";".join(m.get("classes_absent") or []),
                     **{k: m.get(k) for k in QUALITY},
                     **{f"iou_{c}": v for c, v in m["iou"].items()},
                     **{f"queries_{c}": v for c, v in m.get("queries_per_class", {}).items()}})
    return pd.DataFrame(rows).sort_values(["method", "trial", "round"]).reset_index(drop=True)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, min and max mIoU over trials at each (method, round)."""
    g = table.groupby(["method", "round"])
    return g.agg(clicks=("clicks", "mean"), miou_mean=("miou", "mean"),
                 miou_min=("miou", "min"), miou_max=("miou", "max"),
                 trials=("trial", "nunique")).reset_index()


def round_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per method and round, means over trials: what a reader checks first."""
    quality = [c for c in ("label_purity", "sieved_purity", "sieve_recall", "mean_query_size")
               if c in table]
    per_class = [c for c in table.columns if c.startswith("queries_")]
    g = table.groupby(["method", "round"], sort=False)
    out = g.agg(clicks=("clicks", "mean"), trials=("trial", "nunique"),
                miou=("miou", "mean"), miou_min=("miou", "min"), miou_max=("miou", "max"),
                **{c: (c, "mean") for c in quality + per_class}).reset_index()
    return out


def absent_classes(table: pd.DataFrame) -> list[str]:
    """Every class left out of some row's mIoU for want of ground truth, in first-seen order."""
    names = []
    for cell in table.get("classes_absent", pd.Series(dtype=str)).fillna(""):
        names += [n for n in cell.split(";") if n and n not in names]
    return names


def absent_note(absent: list[str]) -> str:
    if not absent:
        return "Every class has ground truth in the evaluation split and counts in mIoU."
    return (f"Left out of mIoU (no ground-truth pixel in the evaluation split, IoU undefined): "
            f"{', '.join(absent)}.")


def write_html_table(rounds: pd.DataFrame, out: str, title: str,
                     absent: list[str] | None = None) -> None:
    shown = rounds.copy()
    for c in ("miou", "miou_min", "miou_max"):
        shown[c] = (100 * shown[c]).round(2)
    for c in ("label_purity", "sieved_purity", "sieve_recall"):
        if c in shown:
            shown[c] = (100 * shown[c]).round(1)
    shown = shown.rename(columns=lambda c: c.replace("queries_", "q: ").replace("_", " "))
    html = shown.to_html(index=False, float_format=lambda v: f"{v:.1f}", na_rep="",
                         border=0, classes="asal")
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;font-size:13px}} table.asal{{border-collapse:collapse}}
table.asal td,table.asal th{{padding:3px 7px;border-bottom:1px solid #ccc;text-align:right}}
table.asal th{{background:#f3f3f3}}</style></head><body>
<p>{title}. mIoU and purities in %, means over trials; "q: CLASS" is the mean number of the
round's queries the oracle answered CLASS. {html_escape(absent_note(absent or []))}</p>
{html}</body></html>"""
    with atomic_path(out) as tmp:
        tmp.write_text(page)


def plot(summary: pd.DataFrame, out: str, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for method, rows in summary.groupby("method", sort=False):
        rows = rows.sort_values("clicks")
        line, = ax.plot(rows["clicks"], 100 * rows["miou_mean"], marker="o", label=method)
        ax.fill_between(rows["clicks"], 100 * rows["miou_min"], 100 * rows["miou_max"],
                        color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel("clicks (queried regions)")
    ax.set_ylabel("mIoU (%)")
    ax.set_title(title or "mIoU vs clicks (mean; band: range over trials)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def report(metric_paths: list[str], out_table: str, out_plot: str, title: str = "",
           warmup_of: dict | None = None, out_rounds: str | None = None,
           out_rounds_csv: str | None = None) -> None:
    table = collect(metric_paths)
    is_warmup = table["method"].str.startswith("warmup")
    methods = list(dict.fromkeys(table.loc[~is_warmup, "method"]))
    warmup_of = warmup_of or {m: "warmup" for m in methods}
    # The shared warm-up is round 0 of every method: repeat it under each method's name.
    table = pd.concat([table[~is_warmup]]
                      + [table[table["method"] == warmup_of[m]].assign(method=m)
                         for m in methods], ignore_index=True)
    table = table.sort_values(["method", "trial", "round"]).reset_index(drop=True)
    write_csv(out_table, table)
    if out_rounds is not None:
        rounds = round_table(table)
        if out_rounds_csv is not None:
            write_csv(out_rounds_csv, rounds)
        write_html_table(rounds, out_rounds, title or "asal: per-round summary",
                         absent_classes(table))
    summary = summarise(table)
    summary["method"] = pd.Categorical(summary["method"], methods)
    plot(summary.sort_values(["method", "round"]), out_plot, title)
