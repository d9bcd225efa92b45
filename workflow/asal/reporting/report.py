"""The benchmark's summary: mIoU against clicks, by method, over trials."""

from __future__ import annotations

import json
from html import escape as html_escape
from pathlib import Path

import numpy as np
import pandas as pd

from ..store.artifacts import atomic_path, write_csv

QUALITY = ("label_purity", "sieved_purity", "sieve_recall", "mean_query_size",
           "mean_query_base_superpixels", "labelled_pixels", "kept_pixels")
# Why a method did what it did (evaluate's diagnostics, from ground truth)
DIAGNOSTICS = ("model_agreement", "merged_purity", "base_purity", "query_purity",
               "sieve_removed_wrong", "sieve_kept_right", "confidence_right", "confidence_wrong")
PERCENT = ("label_purity", "sieved_purity", "sieve_recall", "model_agreement", "merged_purity",
           "base_purity", "query_purity", "sieve_removed_wrong", "sieve_kept_right")
FULL = "Full"
# Written by evaluate for a human oracle only: annotator seconds this round and so far.
TIME = ("round_seconds", "annotation_seconds")


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
                     **{k: m.get(k) for k in QUALITY + DIAGNOSTICS},
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


def with_percent_of_full(table: pd.DataFrame) -> pd.DataFrame:
    """Add `pct_of_full`: mIoU as a share of the same trial's Full mIoU (NaN without Full)."""
    full = table[table["method"] == FULL].set_index("trial")["miou"]
    pct = 100 * table["miou"].astype(float) / table["trial"].map(full).astype(float)
    return table.assign(pct_of_full=pct.astype(float))


def round_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per method and round, means over trials: what a reader checks first. Full (no rounds)
    comes last, as one row."""
    quality = [c for c in ("label_purity", "sieved_purity", "sieve_recall", "mean_query_size")
               + DIAGNOSTICS if c in table]
    quality += [c for c in TIME if c in table]
    per_class = [c for c in table.columns if c.startswith("queries_")]
    extra = [c for c in ("pct_of_full",) if c in table]
    rounds = table[table["method"] != FULL]
    g = rounds.assign(miou=rounds["miou"].astype(float)).groupby(["method", "round"],
                                                                   sort=False)
    out = g.agg(clicks=("clicks", "mean"), trials=("trial", "nunique"),
                miou=("miou", "mean"), miou_min=("miou", "min"), miou_max=("miou", "max"),
                **{c: (c, "mean") for c in extra + quality + per_class}).reset_index()
    full = table[table["method"] == FULL]
    if len(full):
        row = {"method": FULL, "trials": full["trial"].nunique(), "miou": full["miou"].mean(),
               "miou_min": full["miou"].min(), "miou_max": full["miou"].max()}
        if "pct_of_full" in full:
            row["pct_of_full"] = full["pct_of_full"].mean()
        out = pd.concat([out, pd.DataFrame([row])], ignore_index=True)
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


def _html(frame: pd.DataFrame) -> str:
    frame = frame.rename(columns=lambda c: c.replace("queries_", "q: ").replace("_", " "))
    return frame.to_html(index=False, float_format=lambda v: f"{v:.1f}", na_rep="", border=0,
                         classes="asal")


def write_html_table(rounds: pd.DataFrame, out: str, title: str,
                     absent: list[str] | None = None,
                     paired: pd.DataFrame | None = None) -> None:
    shown = rounds.copy()
    for c in ("miou", "miou_min", "miou_max"):
        shown[c] = (100 * shown[c]).round(2)
    for c in PERCENT:
        if c in shown:
            shown[c] = (100 * shown[c]).round(1)
    html = _html(shown)
    if paired is not None and len(paired):
        p = paired.copy()
        for c in [c for c in p.columns if c.startswith(("diff_", "ci_", "trial_"))]:
            p[c] = (100 * p[c]).round(2)
        html += (f"<h3>Paired differences to {html_escape(str(p['baseline'].iloc[0]))}</h3>"
                 "<p>mIoU of the method minus the baseline's in the same trial (same warm-up),"
                 " in points; mean over trials and its 95% Student-t confidence interval."
                 "</p>" + _html(p))
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;font-size:13px}} table.asal{{border-collapse:collapse}}
table.asal td,table.asal th{{padding:3px 7px;border-bottom:1px solid #ccc;text-align:right}}
table.asal th{{background:#f3f3f3}}</style></head><body>
<p>{title}. mIoU and purities in %, means over trials; "q: CLASS" is the mean number of the
round's queries the oracle answered CLASS; "pct of full" is mIoU as a share of the same
trial's fully supervised mIoU (method Full). Diagnostics: "model agreement" is theta_(t-1)'s
per-superpixel agreement with the dominant ground-truth label over the pool; "merged purity"
and "base purity" the share of pool pixels carrying their merged region's (base superpixel's)
dominant label; "sieve removed wrong" and "sieve kept right" the share of wrong labelled
pixels sieving removed and of right ones it kept; "confidence right/wrong" the model's mean
confidence in the given label. {html_escape(absent_note(absent or []))}</p>
{html}</body></html>"""
    with atomic_path(out) as tmp:
        tmp.write_text(page)


def plot(summary: pd.DataFrame, out: str, title: str = "", full: pd.DataFrame | None = None,
         paired: pd.DataFrame | None = None) -> None:
    """mIoU against clicks (mean, band: range over trials; Full as a horizontal line with its
    range) and, beside it, each method's paired difference to the baseline with its 95% CI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if summary["miou_mean"].isna().all() and "annotation_seconds" in summary:
        # A human oracle without a labelled evaluation split: the cost, not the accuracy.
        fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
        for method, rows in summary.groupby("method", sort=False, observed=True):
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
    two = paired is not None and len(paired) > 0
    fig, axes = plt.subplots(1, 2 if two else 1, figsize=(12.4 if two else 6.4, 4.4), dpi=120,
                             squeeze=False)
    ax = axes[0, 0]
    colours = {}
    for method, rows in summary.groupby("method", sort=False, observed=True):
        rows = rows.sort_values("clicks")
        line, = ax.plot(rows["clicks"], 100 * rows["miou_mean"], marker="o", label=method)
        colours[method] = line.get_color()
        ax.fill_between(rows["clicks"], 100 * rows["miou_min"], 100 * rows["miou_max"],
                        color=line.get_color(), alpha=0.2, linewidth=0)
    if full is not None and len(full):
        m = 100 * full["miou"]
        ax.axhline(m.mean(), color="black", linestyle="--", linewidth=1,
                   label=f"Full ({m.mean():.1f})")
        ax.axhspan(m.min(), m.max(), color="black", alpha=0.08, linewidth=0)
    ax.set_xlabel("clicks (queried regions)")
    ax.set_ylabel("mIoU (%)")
    ax.set_title(title or "mIoU vs clicks (mean; band: range over trials)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if two:
        ax = axes[0, 1]
        for method, rows in paired.groupby("method", sort=False):
            rows = rows.sort_values("clicks")
            colour = colours.get(method)
            ax.plot(rows["clicks"], 100 * rows["diff_mean"], marker="o", color=colour,
                    label=method)
            ax.fill_between(rows["clicks"], 100 * rows["ci_low"], 100 * rows["ci_high"],
                            color=colour, alpha=0.2, linewidth=0)
        ax.axhline(0, color="black", linewidth=1)
        ax.set_xlabel("clicks (queried regions)")
        ax.set_ylabel(f"mIoU - {paired['baseline'].iloc[0]} (points)")
        ax.set_title("paired difference per trial (mean; band: 95% CI)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def purity_plot(metric_paths: list[str], out: str, bins: int = 8) -> None:
    """Mean purity of the queries against their size (log-spaced size bins), per method, over
    every round after the warm-up and every trial."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = {}
    for path in metric_paths:
        m = json.loads(Path(path).read_text())
        if m.get("round") in (None, 0) or not m.get("queries_size_purity"):
            continue
        points.setdefault(m["method"], []).extend(
            (z, p) for z, p in m["queries_size_purity"] if p is not None)
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    sizes = np.array([z for pts in points.values() for z, _ in pts], np.float64)
    if len(sizes):
        edges = np.geomspace(max(sizes.min(), 1), sizes.max() + 1, bins + 1)
        for method, pts in points.items():
            z, p = np.array(pts, np.float64).T
            k = np.clip(np.searchsorted(edges, z, side="right") - 1, 0, bins - 1)
            count = np.bincount(k, minlength=bins)
            mean = np.bincount(k, weights=p, minlength=bins) / np.maximum(count, 1)
            keep = count > 0
            centre = np.sqrt(edges[:-1] * edges[1:])
            ax.plot(centre[keep], 100 * mean[keep], marker="o", label=f"{method} ({len(z)})")
        ax.set_xscale("log")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no query after the warm-up", ha="center", transform=ax.transAxes)
    ax.set_xlabel("query size (pixels, log scale)")
    ax.set_ylabel("query purity (% of its pixels with its dominant label)")
    ax.set_title("query purity against size (rounds >= 1, all trials)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def report(metric_paths: list[str], out_table: str, out_plot: str, title: str = "",
           warmup_of: dict | None = None, out_rounds: str | None = None,
           out_rounds_csv: str | None = None, baseline: str | None = None,
           out_paired: str | None = None, out_purity: str | None = None) -> None:
    from ..measure.paired import paired_differences

    table = collect(metric_paths)
    is_warmup = table["method"].str.startswith("warmup")
    is_full = table["method"] == FULL
    methods = list(dict.fromkeys(table.loc[~is_warmup & ~is_full, "method"]))
    warmup_of = warmup_of or {m: "warmup" for m in methods}
    # The shared warm-up is round 0 of every method: repeat it under each method's name.
    table = pd.concat([table[~is_warmup]]
                      + [table[table["method"] == warmup_of[m]].assign(method=m)
                         for m in methods], ignore_index=True)
    table = with_percent_of_full(table)
    table = table.sort_values(["method", "trial", "round"]).reset_index(drop=True)
    write_csv(out_table, table)
    rounds_only = table[table["method"] != FULL]
    paired = None
    if baseline is not None and baseline in methods:
        paired = paired_differences(rounds_only, baseline)
    if out_paired is not None:
        write_csv(out_paired, paired if paired is not None else pd.DataFrame())
    if out_rounds is not None:
        rounds = round_table(table)
        if out_rounds_csv is not None:
            write_csv(out_rounds_csv, rounds)
        write_html_table(rounds, out_rounds, title or "asal: per-round summary",
                         absent_classes(table), paired)
    summary = summarise(rounds_only)
    summary["method"] = pd.Categorical(summary["method"], methods)
    plot(summary.sort_values(["method", "round"]), out_plot, title, table[table["method"] == FULL],
         paired)
    if out_purity is not None:
        purity_plot(metric_paths, out_purity)
