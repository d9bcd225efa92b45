"""The figure and verdicts an experiment leads with: the paper's Figure 3 (mIoU against clicks;
mIoU against base superpixel size), Tables 5 and 6 (rows of methods at the last round) and
Figure 19 (queries per class with and without the class-balanced term).

Everything here works on the report's per-trial table (one row per method, trial and round,
with `base_method` and `superpixel_size` beside each method) and on the paired differences to
the baseline; drawing and reading files stay in report.py.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

FIGURES = ("clicks", "size", "table", "class_balance")
FULL = "Full"


def final_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Each method's rows at its last round (Full excluded)."""
    rounds = table[table["method"] != FULL]
    last = rounds.groupby("method")["round"].transform("max")
    return rounds[rounds["round"] == last]


def verdict(mean: float, low: float, high: float) -> str:
    """Where the paired interval lies: above 0 (the trials agree the method is better),
    below 0, or around 0 (no difference the trials agree on)."""
    if any(map(_missing, (low, high))):
        return "one trial: no interval" if not _missing(mean) else "no pair"
    if low > 0:
        return "above 0"
    if high < 0:
        return "below 0"
    return "around 0"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def method_rows(table: pd.DataFrame, paired: pd.DataFrame | None,
                info: dict[str, dict], paired_second: pd.DataFrame | None = None
                ) -> pd.DataFrame:
    """One row per method at its last round: clicks, mIoU mean and range over trials, the
    paired difference to its baseline with the 95% interval and the verdict, the mean query
    size and labelled pixels per click, and the paper's number when the config gives one."""
    final = final_rows(table)
    rows = []
    for method, part in final.groupby("method", sort=False):
        miou = 100 * part["miou"].astype(float)
        row = {"method": method, "label": info.get(method, {}).get("label", method),
               "base_method": info.get(method, {}).get("base", method),
               "superpixel_size": info.get(method, {}).get("size"),
               "superpixel_area": info.get(method, {}).get("area"),
               "round": int(part["round"].max()), "clicks": int(part["clicks"].mean()),
               "trials": int(part["trial"].nunique()), "miou": miou.mean(),
               "miou_min": miou.min(), "miou_max": miou.max(),
               "mean_query_size": part["mean_query_size"].astype(float).mean(),
               "pixels_per_click": (part["labelled_pixels"].astype(float)
                                    / part["clicks"].astype(float)).mean(),
               "paper": info.get(method, {}).get("paper")}
        if "annotation_seconds" in part and part["annotation_seconds"].notna().any():
            row["seconds_per_click"] = (part["annotation_seconds"].astype(float)
                                        / part["clicks"].astype(float)).mean()
        diff = None
        if paired is not None and len(paired):
            hit = paired[(paired["method"] == method) & (paired["round"] == row["round"])]
            diff = hit.iloc[0] if len(hit) else None
        if diff is not None:
            row.update(baseline=diff["baseline"], diff=100 * diff["diff_mean"],
                       ci_low=100 * diff["ci_low"], ci_high=100 * diff["ci_high"],
                       verdict=verdict(diff["diff_mean"], diff["ci_low"], diff["ci_high"]),
                       diff_sd=100 * diff.get("diff_sd", np.nan),
                       trials_for_1pt=diff.get("trials_for_1pt"), pairs=diff.get("pairs"))
        else:
            row.update(baseline=None, diff=np.nan, ci_low=np.nan, ci_high=np.nan,
                       verdict="baseline" if _is_baseline(method, paired) else "no pair")
        second = _pair_at(paired_second, method, row["round"])
        if second is not None:
            row.update(second_baseline=second["baseline"], diff2=100 * second["diff_mean"],
                       ci2_low=100 * second["ci_low"], ci2_high=100 * second["ci_high"],
                       verdict2=verdict(second["diff_mean"], second["ci_low"],
                                        second["ci_high"]))
        rows.append(row)
    return pd.DataFrame(rows)


def _pair_at(paired: pd.DataFrame | None, method: str, rnd: int):
    if paired is None or not len(paired):
        return None
    hit = paired[(paired["method"] == method) & (paired["round"] == rnd)]
    return hit.iloc[0] if len(hit) else None


def _is_baseline(method: str, paired: pd.DataFrame | None) -> bool:
    return paired is not None and len(paired) > 0 and method in set(paired["baseline"])


def precision_clause(needed, trials: int, half_width: float) -> str:
    """How sure a verdict is: the trials that would narrow its interval to ±1 point, at the
    standard deviation of the per-trial differences seen so far (`trials`: the pairs)."""
    if _missing(needed) or needed is None or pd.isna(needed):
        return ""
    needed, trials = int(needed), int(trials)
    if needed <= trials:
        return f" with {trials} trials, already within ±1 point (±{half_width:.1f})"
    return (f" with {trials} trials; about {needed} trials would narrow this to ±1 point"
            f" (±{half_width:.1f} now)")


def verdict_lines(rows: pd.DataFrame) -> list[str]:
    """One sentence per method that has a baseline: its paired difference and the verdict."""
    lines = []
    for _, r in rows.iterrows():
        if r["verdict"] in ("baseline", "no pair"):
            continue
        text = (f"{r['label']}: {r['diff']:+.1f} points against {r['baseline']} after "
                f"{r['clicks']} clicks")
        if not _missing(r["ci_low"]):
            text += f" (95% CI {r['ci_low']:+.1f} to {r['ci_high']:+.1f}), {r['verdict']}"
            text += precision_clause(r.get("trials_for_1pt"), r.get("pairs", r["trials"]),
                                     (r["ci_high"] - r["ci_low"]) / 2)
        else:
            text += f" ({r['verdict']})"
        if isinstance(r.get("second_baseline"), str):
            text += f"; against {r['second_baseline']} {r['diff2']:+.1f}"
            if not _missing(r["ci2_low"]):
                text += (f" (95% CI {r['ci2_low']:+.1f} to {r['ci2_high']:+.1f}), "
                         f"{r['verdict2']}")
        lines.append(text + ".")
    return lines


def baselines(methods: list[str], baseline: str | None,
              info: dict[str, dict]) -> dict[str, str]:
    """Each method's baseline: the report's baseline run on the same base superpixel size
    (in a size sweep, AMSP+S@16px is paired with SP@16px), else the baseline itself (a
    method of its own size is compared with it at equal clicks)."""
    if baseline is None:
        return {}
    by_base_size = {(info.get(m, {}).get("base", m), info.get(m, {}).get("size")): m
                    for m in methods}
    out = {}
    for m in methods:
        size = info.get(m, {}).get("size")
        partner = by_base_size.get((baseline, size),
                                   baseline if baseline in methods else None)
        if partner is not None and partner != m:
            out[m] = partner
    return out


def queries_by_class(table: pd.DataFrame, class_share: dict[str, float] | None = None
                     ) -> pd.DataFrame:
    """Queries answered with each class over every round after the warm-up, summed over
    rounds and averaged over trials, one column per method; classes by decreasing share of the
    pool's pixels when `class_share` is given (Figure 19), void last."""
    rounds = table[(table["method"] != FULL) & (table["round"].astype(float) > 0)]
    columns = [c for c in table.columns if c.startswith("queries_")]
    per_trial = rounds.groupby(["method", "trial"])[columns].sum()
    out = per_trial.groupby("method", sort=False).mean().T
    out.index = [c[len("queries_"):] for c in out.index]
    order = list(out.index)
    if class_share:
        order = sorted((c for c in order if c != "void"),
                       key=lambda c: -class_share.get(c, 0.0)) + \
            (["void"] if "void" in order else [])
    out = out.loc[order]
    if class_share:
        out.insert(0, "pool share %", [100 * class_share.get(c, np.nan) for c in order])
    return out


def per_class_iou(table: pd.DataFrame, class_order: list[str] | None = None) -> pd.DataFrame:
    """Mean IoU (%) per class at each method's last round, one column per method."""
    final = final_rows(table)
    columns = [c for c in table.columns if c.startswith("iou_")]
    out = 100 * final.groupby("method", sort=False)[columns].mean().T
    out.index = [c[len("iou_"):] for c in out.index]
    if class_order:
        out = out.loc[[c for c in class_order if c in out.index]]
    return out


# ------------------------------------------------------------------ figures


def size_figure(ax_miou, ax_diff, rows: pd.DataFrame, full: pd.DataFrame | None) -> None:
    """Figure 3 (c, d): mIoU at the last round against the base superpixel size (achieved
    mean area, log scale), a line per method with the trials' range; beside it each method's
    paired difference to the baseline at the same size with its 95% interval."""
    # Methods' intervals at one size side by side: each shifted by a few percent of the size
    # (on the log axis, a fixed distance), so no interval hides another.
    paired = [b for b, part in rows.groupby("base_method", sort=False)
              if part["diff"].notna().any()]
    dodge = {b: 2.0 ** (0.08 * (k - (len(paired) - 1) / 2)) for k, b in enumerate(paired)}
    for base, part in rows.groupby("base_method", sort=False):
        part = part.sort_values("superpixel_area")
        x = part["superpixel_area"].astype(float)
        line, = ax_miou.plot(x, part["miou"], marker="o", label=base)
        ax_miou.fill_between(x, part["miou_min"], part["miou_max"], color=line.get_color(),
                             alpha=0.15, linewidth=0)
        with_diff = part[part["diff"].notna()]
        if len(with_diff):
            err = np.vstack([with_diff["diff"] - with_diff["ci_low"],
                             with_diff["ci_high"] - with_diff["diff"]])
            ax_diff.errorbar(with_diff["superpixel_area"].astype(float) * dodge[base],
                             with_diff["diff"],
                             yerr=np.nan_to_num(err), marker="o", capsize=3,
                             color=line.get_color(), label=base)
    if full is not None and len(full):
        m = 100 * full["miou"].astype(float)
        ax_miou.axhline(m.mean(), color="black", linestyle="--", linewidth=1,
                        label=f"Full ({m.mean():.1f})")
    areas = sorted(set(rows["superpixel_area"].dropna().astype(float).round()))
    for ax in (ax_miou, ax_diff):
        ax.set_xscale("log", base=2)
        if areas:
            ax.set_xticks(areas, [f"{a:.0f}" for a in areas])
            ax.minorticks_off()
        ax.set_xlabel("base superpixel size (mean px, log scale)")
        ax.grid(alpha=0.3)
    ax_miou.set_ylabel("mIoU at the last round (%)")
    ax_miou.set_title("mIoU against base superpixel size (band: range over trials)")
    ax_miou.legend(fontsize=8)
    ax_diff.axhline(0, color="black", linewidth=1)
    ax_diff.set_ylabel("mIoU - baseline at the same size (points)")
    ax_diff.set_title("paired difference per trial (mean, 95% CI)")
    if ax_diff.get_legend_handles_labels()[0]:
        ax_diff.legend(fontsize=8)


def table_figure(ax, rows: pd.DataFrame) -> None:
    """Tables 5 and 6 as a picture: each method's paired difference to the baseline at the
    last round with its 95% interval, and the paper's difference to its own baseline as a
    cross where the config gives the paper's numbers."""
    shown = rows[rows["verdict"] != "no pair"].reset_index(drop=True)
    y = np.arange(len(shown))[::-1]
    diff = shown["diff"].fillna(0.0).to_numpy(float)
    err = np.vstack([diff - shown["ci_low"].fillna(pd.Series(diff)).to_numpy(float),
                     shown["ci_high"].fillna(pd.Series(diff)).to_numpy(float) - diff])
    ax.errorbar(diff, y, xerr=np.nan_to_num(err), fmt="o", capsize=4, color="tab:blue",
                label="asal: mean over trials, 95% CI")
    base_paper = {r["method"]: r["paper"] for _, r in shown.iterrows()}
    paper_x, paper_y = [], []
    for k, (_, r) in enumerate(shown.iterrows()):
        ref = base_paper.get(r["baseline"]) if r["baseline"] is not None else None
        if not _missing(r["paper"]) and not _missing(ref):
            paper_x.append(r["paper"] - ref)
            paper_y.append(y[k])
    if paper_x:
        ax.plot(paper_x, paper_y, "x", color="tab:red", markersize=9,
                label="paper: difference to its baseline")
    ax.axvline(0, color="black", linewidth=1)
    ax.set_yticks(y, [str(v) for v in shown["label"]])
    ax.set_xlabel("mIoU - baseline at the last round (points)")
    ax.set_title("paired difference to the baseline")
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=8, loc="best")


def class_balance_figure(ax, counts: pd.DataFrame) -> None:
    """Figure 19: queries per class (mean over trials, all rounds after the warm-up) for each
    method, classes by decreasing pool frequency."""
    methods = [c for c in counts.columns if c != "pool share %"]
    x = np.arange(len(counts))
    width = 0.8 / max(len(methods), 1)
    for k, method in enumerate(methods):
        ax.bar(x + (k - (len(methods) - 1) / 2) * width, counts[method].to_numpy(float),
               width, label=method)
    labels = list(counts.index)
    if "pool share %" in counts:
        labels = [f"{c}\n{s:.1f}%" if not _missing(s) else c
                  for c, s in zip(counts.index, counts["pool share %"])]
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylabel("queries answered with the class")
    ax.set_title("queries per class (classes by pool frequency, share under the name)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)


# ------------------------------------------------------------------ sanity of the result


def trivial_miou(pool_pixels: list[int], evaluation_pixels: list[int]) -> tuple[int, float]:
    """The pool's majority class predicted everywhere, scored like a model on the evaluation
    split (void pixels left out, classes without ground truth there left out of the mean):
    its IoU is that class's share of the labelled evaluation pixels, every other class 0.
    Returns (the class, mIoU as a fraction). Pixel lists are per class, void last."""
    pool = np.asarray(pool_pixels[:-1], np.float64)
    evaluation = np.asarray(evaluation_pixels[:-1], np.float64)
    majority = int(pool.argmax())
    present = evaluation > 0
    if not present.any():
        return majority, float("nan")
    return majority, float(evaluation[majority] / evaluation.sum() / present.sum())


FULL_NEAR_TRIVIAL = 5.0  # points: a ceiling this close to the trivial predictor learnt little


def warnings(table: pd.DataFrame, trivial: float | None, trivial_class: str | None
             ) -> list[str]:
    """What a reader should not overlook: a ceiling (Full) within a few points of predicting
    the majority class everywhere, and a class whose IoU falls in every round."""
    out = []
    full = table[table["method"] == FULL]["miou"].astype(float)
    if trivial is not None and not math.isnan(trivial) and len(full):
        gap = 100 * (full.mean() - trivial)
        if gap < FULL_NEAR_TRIVIAL:
            out.append(f"Full, every pool pixel labelled, reaches {100 * full.mean():.1f}% "
                       f"mIoU, only {gap:.1f} points above predicting the pool's majority "
                       f"class ({trivial_class}) everywhere ({100 * trivial:.1f}%): the model "
                       "learns little of this data as set up, so differences between methods "
                       "mean little. Try another model (train.model; see docs/configuration.md, "
                       "When your data is not CamVid), a larger image size or more "
                       "iterations.")
    rounds = table[(table["method"] != FULL) & table["round"].notna()]
    iou = [c for c in table.columns if c.startswith("iou_")]
    for method, part in rounds.groupby("method", sort=False):
        means = part.groupby("round")[iou].mean().sort_index()
        if len(means) < 3:  # the warm-up and at least two rounds
            continue
        falling = [c[len("iou_"):] for c in iou
                   if means[c].notna().all() and (np.diff(means[c].to_numpy()) < 0).all()]
        if falling:
            out.append(f"{method}: the IoU of {', '.join(falling)} falls in every round "
                       f"(mean over trials, rounds {int(means.index[0])} to "
                       f"{int(means.index[-1])}): look at its queries and sieved labels in "
                       "the pictures (a class drowned by merged regions of another, or "
                       "labels sieved away).")
    return out
