"""The benchmark's summary: mIoU against clicks, by method, over trials."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .artifacts import atomic_path, write_csv


QUALITY = ("label_purity", "sieved_purity", "sieve_recall", "mean_query_size",
           "mean_query_base_superpixels", "labelled_pixels", "kept_pixels")
# Written by evaluate for a human oracle only: annotator seconds this round and so far.
TIME = ("round_seconds", "annotation_seconds")


def collect(metric_paths: list[str]) -> pd.DataFrame:
    rows = []
    for path in metric_paths:
        m = json.loads(Path(path).read_text())
        rows.append({"method": m["method"], "trial": m["trial"], "round": m["round"],
                     "clicks": m["clicks"], "miou": m["miou"],
                     "pixel_accuracy": m["pixel_accuracy"],
                     **{k: m.get(k) for k in QUALITY},
                     **{k: m[k] for k in TIME if k in m},
                     **{f"iou_{c}": v for c, v in (m["iou"] or {}).items()},
                     **{f"queries_{c}": v for c, v in m.get("queries_per_class", {}).items()}})
    return pd.DataFrame(rows).sort_values(["method", "trial", "round"]).reset_index(drop=True)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, min and max mIoU over trials at each (method, round)."""
    g = table.assign(miou=table["miou"].astype(float)).groupby(["method", "round"])
    time = {"annotation_seconds": ("annotation_seconds", "mean")} \
        if "annotation_seconds" in table else {}
    return g.agg(clicks=("clicks", "mean"), miou_mean=("miou", "mean"),
                 miou_min=("miou", "min"), miou_max=("miou", "max"),
                 trials=("trial", "nunique"), **time).reset_index()


def round_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per method and round, means over trials: what a reader checks first."""
    quality = [c for c in ("label_purity", "sieved_purity", "sieve_recall", "mean_query_size")
               if c in table]
    quality += [c for c in TIME if c in table]
    per_class = [c for c in table.columns if c.startswith("queries_")]
    g = table.assign(miou=table["miou"].astype(float)).groupby(["method", "round"], sort=False)
    out = g.agg(clicks=("clicks", "mean"), trials=("trial", "nunique"),
                miou=("miou", "mean"), miou_min=("miou", "min"), miou_max=("miou", "max"),
                **{c: (c, "mean") for c in quality + per_class}).reset_index()
    return out


def write_html_table(rounds: pd.DataFrame, out: str, title: str) -> None:
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
round's queries the oracle answered CLASS.</p>{html}</body></html>"""
    with atomic_path(out) as tmp:
        tmp.write_text(page)


def plot(summary: pd.DataFrame, out: str, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    if summary["miou_mean"].isna().all() and "annotation_seconds" in summary:
        # A human oracle without a labelled evaluation split: the cost, not the accuracy.
        for method, rows in summary.groupby("method", sort=False):
            rows = rows.sort_values("clicks")
            ax.plot(rows["clicks"], rows["annotation_seconds"] / 60, marker="o", label=method)
        ax.set_xlabel("clicks (queried regions)")
        ax.set_ylabel("annotator time (minutes)")
        ax.set_title(title or "annotator time vs clicks (no labelled evaluation split: no mIoU)")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)
        return
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
        write_html_table(rounds, out_rounds, title or "asal: per-round summary")
    summary = summarise(table)
    summary["method"] = pd.Categorical(summary["method"], methods)
    plot(summary.sort_values(["method", "round"]), out_plot, title)
