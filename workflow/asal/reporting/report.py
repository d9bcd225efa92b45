"""The benchmark's summary: mIoU against clicks, by method, over trials."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from ..store.artifacts import atomic_path, write_csv

QUALITY = ("label_purity", "sieved_purity", "sieve_recall", "mean_query_size",
           "mean_query_base_superpixels", "labelled_pixels", "kept_pixels", "round_clicks",
           "round_queries", "clicks_on_void")
# Why a method did what it did (evaluate's diagnostics, from ground truth)
DIAGNOSTICS = ("model_agreement", "merged_purity", "base_purity", "query_purity",
               "sieve_removed_wrong", "sieve_kept_right", "confidence_right", "confidence_wrong")
PERCENT = ("label_purity", "sieved_purity", "sieve_recall", "model_agreement", "merged_purity",
           "base_purity", "query_purity", "sieve_removed_wrong", "sieve_kept_right")
FULL = "Full"
# Counts, written as integers wherever every value is whole (a mean over trials may not be).
COUNTS = ("trial", "round", "clicks", "trials", "round_clicks", "round_queries",
          "clicks_on_void", "labelled_pixels", "kept_pixels", "superpixel_size")
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
    """Add `pct_of_full`: mIoU as a share of the same trial's Full mIoU, or of the mean of
    Full's trials where the trial ran no Full (full_trials); NaN without Full."""
    full = table[table["method"] == FULL].set_index("trial")["miou"].astype(float)
    ceiling = table["trial"].map(full).astype(float).fillna(full.mean() if len(full)
                                                            else np.nan)
    pct = 100 * table["miou"].astype(float) / ceiling
    return table.assign(pct_of_full=pct.astype(float))


def round_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per method and round, means over trials: what a reader checks first. Full (no rounds)
    comes last, as one row."""
    quality = [c for c in ("label_purity", "sieved_purity", "sieve_recall", "mean_query_size",
                           "round_clicks", "round_queries", "clicks_on_void", "void_share")
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


def trivial_far_below(summary: pd.DataFrame, trivial: float) -> bool:
    """Whether the majority-class baseline lies under half the lowest curve: drawn, it would
    stretch the axis to 0 and flatten the differences the plot is for."""
    lowest = summary["miou_min"].min() if "miou_min" in summary else float("nan")
    return bool(np.isfinite(lowest) and trivial < 0.5 * lowest)


def plot(summary: pd.DataFrame, out: str, title: str = "", full: pd.DataFrame | None = None,
         paired: pd.DataFrame | None = None, trivial: tuple[str, float] | None = None) -> None:
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
    timed = "annotation_seconds" in summary and summary["annotation_seconds"].notna().any()
    panels = 1 + two + timed
    fig, axes = plt.subplots(1, panels, figsize=(6.2 * panels, 4.4), dpi=120, squeeze=False)
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
    if trivial is not None:
        label = f"majority class everywhere ({trivial[0]}, {100 * trivial[1]:.1f})"
        if trivial_far_below(summary, trivial[1]):  # a line there would flatten the curves
            ax.plot([], [], " ", label=label + ", below the axis")
        else:
            ax.axhline(100 * trivial[1], color="grey", linestyle=":", linewidth=1.2,
                       label=label)
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
        bases = sorted(set(paired["baseline"]))
        ax.set_ylabel(f"mIoU - {bases[0] if len(bases) == 1 else 'baseline'} (points)")
        ax.set_title("paired difference per trial (mean; band: 95% CI)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if timed:
        # A person answered: accuracy against the annotator's time, the cost that decides
        # whether larger (merged) regions save work, not only clicks.
        ax = axes[0, panels - 1]
        for method, rows in summary.groupby("method", sort=False, observed=True):
            rows = rows.sort_values("clicks")
            ax.plot(rows["annotation_seconds"] / 60, 100 * rows["miou_mean"], marker="o",
                    color=colours.get(method), label=method)
        ax.set_xlabel("annotator time (minutes)")
        ax.set_ylabel("mIoU (%)")
        ax.set_title("mIoU vs annotation minutes (mean over trials)")
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


def _figure_bytes(draw, size=(12.4, 4.6)) -> bytes:
    """PNG bytes of a figure drawn by `draw(fig)`."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=size, dpi=110)
    draw(fig)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


FIGURE_CAPTIONS = {
    "clicks": "mIoU against clicks (mean over trials, band: range; dashed: Full) and each "
              "method's paired difference to its baseline (mean, band: 95% CI).",
    "size": "The paper's Figure 3 (c, d): mIoU after the last round against the base superpixel "
            "size (achieved mean area), a line per method with the trials' range, and the paired "
            "difference to the baseline at the same size with its 95% interval.",
    "table": "The paper's rows as a picture: each method's paired difference to the baseline "
             "after the last round with its 95% interval (dots), and the paper's own difference "
             "to its baseline where the config gives the paper's numbers (crosses).",
    "class_balance": "The paper's Figure 19: queries answered with each class over every round "
                     "after the warm-up (mean over trials), classes by decreasing share of the "
                     "pool's pixels, for each method.",
}


def experiment_figure(kind: str, rows: pd.DataFrame, full: pd.DataFrame,
                      counts: pd.DataFrame | None) -> bytes | None:
    """The figure an experiment of `kind` leads with (None for clicks: the clicks plot)."""
    from . import experiments

    if kind == "size":
        def draw(fig):
            a, b = fig.subplots(1, 2)
            experiments.size_figure(a, b, rows, full)
        return _figure_bytes(draw)
    if kind == "table":
        height = 1.2 + 0.45 * len(rows)
        return _figure_bytes(lambda fig: experiments.table_figure(fig.subplots(), rows),
                             (8.5, max(3.0, height)))
    if kind == "class_balance" and counts is not None:
        return _figure_bytes(lambda fig: experiments.class_balance_figure(fig.subplots(),
                                                                          counts), (11, 4.6))
    return None


def integer_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Counts as integers in a CSV: Full's empty round and clicks make pandas store the
    whole column as floats (`1.0`, `6000.0`), which reads as a measurement, not a count."""
    counts = [c for c in table.columns
              if (c in COUNTS or c.startswith("queries_")) and is_numeric_dtype(table[c])
              and (table[c].dropna() == table[c].dropna().round()).all()]
    return table.astype({c: "Int64" for c in counts})


def report(metric_paths: list[str], out_table: str, out_plot: str, title: str = "",
           warmup_of: dict | None = None, out_rounds: str | None = None,
           out_rounds_csv: str | None = None, baseline: str | None = None,
           out_paired: str | None = None, out_purity: str | None = None, *,
           figure: str = "clicks", info: dict | None = None, out_figure: str | None = None,
           class_share: dict | None = None, what_ran: str = "",
           second_baseline: str | None = None, dataset_check: dict | None = None) -> None:
    """Every report file from the metrics of an experiment. `info` describes each method
    ({method: {base, size, area, label, paper}}: a size sweep's base method and superpixel
    size, the achieved mean area, a label and the paper's number for its rows); `figure` picks
    the figure the page leads with; `class_share` is each class's share of the pool's
    pixels (the class-balance figure sorts by it)."""
    from ..measure.paired import paired_differences
    from . import experiments
    from .page import (DIAGNOSTIC_NOTE, count_table, diagnostics_table, method_table,
                       results_table, write_page)

    info = info or {}
    table = collect(metric_paths)
    is_warmup = table["method"].str.startswith("warmup")
    is_full = table["method"] == FULL
    methods = list(dict.fromkeys(table.loc[~is_warmup & ~is_full, "method"]))
    warmup_of = warmup_of or {m: "warmup" for m in methods}
    # The shared warm-up is round 0 of every method: repeat it under each method's name.
    table = pd.concat([table[~is_warmup]]
                      + [table[table["method"] == warmup_of[m]].assign(method=m)
                         for m in methods], ignore_index=True)
    table = table.assign(
        base_method=[info.get(m, {}).get("base", m) for m in table["method"]],
        superpixel_size=[info.get(m, {}).get("size") for m in table["method"]])
    table = with_percent_of_full(table)
    if {"clicks_on_void", "round_clicks"} <= set(table.columns):
        # the share of a round's clicks spent on answers of void: paid, teaching nothing
        table["void_share"] = (table["clicks_on_void"].astype(float)
                               / table["round_clicks"].astype(float))
    table = table.sort_values(["method", "trial", "round"]).reset_index(drop=True)
    write_csv(out_table, integer_counts(table))
    rounds_only = table[table["method"] != FULL]
    partners = experiments.baselines(methods, baseline, info)
    paired = paired_differences(rounds_only, partners) if partners else None
    if out_paired is not None:
        write_csv(out_paired, paired if paired is not None else pd.DataFrame())
    summary = summarise(rounds_only)
    summary["method"] = pd.Categorical(summary["method"], methods)
    full = table[table["method"] == FULL]
    trivial = None
    pixels = (dataset_check or {}).get("pixels", {})
    if "pool" in pixels and "evaluation" in pixels:
        k, value = experiments.trivial_miou(pixels["pool"], pixels["evaluation"])
        # NaN when no class has ground truth in the evaluation split: no baseline at all
        trivial = None if np.isnan(value) else (dataset_check["classes"][k], value)
    trials = int(table["trial"].nunique())
    plot(summary.sort_values(["method", "round"]), out_plot,
         f"mIoU vs clicks (mean; band: range over {trials} trials)", full, paired, trivial)
    if out_purity is not None:
        purity_plot(metric_paths, out_purity)
    second = experiments.baselines(methods, second_baseline, info)
    paired_second = paired_differences(rounds_only, second) if second else None
    rows = (experiments.method_rows(table, paired, info, paired_second) if methods
            else pd.DataFrame())
    counts = experiments.queries_by_class(table, class_share) if methods else None
    png = experiment_figure(figure, rows, full, counts) if methods else None
    if png is None:
        png = Path(out_plot).read_bytes()
    if out_figure is not None:
        with atomic_path(out_figure) as tmp:
            tmp.write_bytes(png)
    if out_rounds is None:
        return
    rounds = round_table(table)
    if out_rounds_csv is not None:
        write_csv(out_rounds_csv, integer_counts(rounds))
    sections = []
    if len(rows) and (figure in ("size", "table", "class_balance")
                      or "seconds_per_click" in rows):
        sections.append(("Methods after the last round", "mIoU in %, mean over trials with "
                         "its range; diff: paired difference to the baseline in points with "
                         "its 95% Student-t interval; query size and labelled pixels per "
                         "click over the last round's queries.", method_table(rows)))
    sections.append(("Results by round", "Means over trials. " + absent_note(
        absent_classes(table)), results_table(rounds, paired)))
    sections.append(("Diagnostics by round", DIAGNOSTIC_NOTE, diagnostics_table(rounds)))
    if counts is not None and len(counts):
        sections.append(("Queries per class", "Queries answered with each class over every "
                         "round after the warm-up, summed over rounds, mean over trials"
                         + (", classes by decreasing share of the pool's pixels."
                            if class_share else "."), count_table(counts)))
    if methods:
        order = list(counts.index) if counts is not None else None
        sections.append(("IoU per class after the last round", "%, mean over trials.",
                         count_table(experiments.per_class_iou(table, order))))
    if trivial is not None:
        where = ("far below the curves, named in the plot's legend"
                 if trivial_far_below(summary, trivial[1]) else "the dotted line")
        what_ran += (f" Predicting the pool's majority class ({trivial[0]}) everywhere scores "
                     f"{100 * trivial[1]:.1f}% mIoU on the evaluation split ({where}).")
    write_page(out_rounds, title=title or "asal report", what_ran=what_ran,
               figure_png=png, figure_caption=FIGURE_CAPTIONS.get(figure, ""),
               verdicts=experiments.verdict_lines(rows) if len(rows) else [],
               warnings=experiments.warnings(table, *(reversed(trivial) if trivial
                                                      else (None, None))),
               sections=sections, atomic_path=atomic_path)
