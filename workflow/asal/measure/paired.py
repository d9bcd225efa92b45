"""Paired comparison of methods: trials share their warm-up (and their seed), so method A and
the baseline of the same trial form a pair, and the per-trial difference carries far less of
the warm-up draw's luck than either curve."""

from __future__ import annotations

import numpy as np
import pandas as pd


def t_interval(diffs: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval of the mean of paired differences;
    the interval is NaN with fewer than two pairs."""
    from scipy.stats import t

    diffs = np.asarray(diffs, np.float64)
    n = len(diffs)
    mean = float(diffs.mean()) if n else float("nan")
    if n < 2:
        return mean, float("nan"), float("nan")
    half = float(t.ppf(0.5 + level / 2, n - 1) * diffs.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


# A point of mIoU, in the unit the metrics hold it (a fraction of 1).
POINT = 0.01


def trials_for_half_width(sd: float, half_width: float = POINT, level: float = 0.95,
                          most: int = 10_000) -> int | None:
    """How many trials make the paired interval's half-width at most `half_width`, were the
    per-trial differences to keep this standard deviation: the least n >= 2 with
    t(level, n-1) * sd / sqrt(n) <= half_width. None when sd is unknown (fewer than two
    pairs); `most` + 1 says "more than `most`"."""
    from scipy.stats import t

    if sd is None or not np.isfinite(sd):
        return None
    n = np.arange(2, most + 1)
    half = t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n)
    enough = np.flatnonzero(half <= half_width)
    return int(n[enough[0]]) if len(enough) else most + 1


def paired_differences(table: pd.DataFrame, baseline: str | dict[str, str],
                       value: str = "miou", level: float = 0.95) -> pd.DataFrame:
    """For every method but the baseline, at every round: the per-trial differences
    (method - baseline, columns trial_K), their mean, standard deviation (`diff_sd`) and
    confidence interval, and the trials that would narrow the interval to +-1 point at that
    standard deviation (`trials_for_1pt`). Only trials
    that both methods ran are paired. `baseline` is one method for all, or each method's own
    (a size sweep pairs every method with the baseline at its size); methods without one are
    left out."""
    partner = baseline if isinstance(baseline, dict) else {
        m: baseline for m in table["method"].unique() if m != baseline}
    rows = []
    for method, part in table.groupby("method", sort=False):
        if method not in partner:
            continue
        ref = partner[method]
        base = table[table["method"] == ref].set_index(["round", "trial"])[value]
        for rnd, r in part.groupby("round"):
            mine = r.set_index("trial")[value]
            both = [k for k in mine.index if (rnd, k) in base.index]
            diffs = np.array([mine[k] - base[(rnd, k)] for k in both], np.float64)
            mean, lo, hi = t_interval(diffs, level)
            sd = float(diffs.std(ddof=1)) if len(diffs) > 1 else float("nan")
            rows.append({"method": method, "baseline": ref, "round": int(rnd),
                         "clicks": int(round(r["clicks"].mean())), "pairs": len(both),
                         "diff_mean": mean, "ci_low": lo, "ci_high": hi, "diff_sd": sd,
                         "trials_for_1pt": trials_for_half_width(sd, POINT, level),
                         **{f"trial_{k}": d for k, d in zip(both, diffs)}})
    out = pd.DataFrame(rows, columns=None if rows else COLUMNS)
    return out.astype({"trials_for_1pt": "Int64"}) if rows else out


COLUMNS = ["method", "baseline", "round", "clicks", "pairs", "diff_mean", "ci_low", "ci_high",
           "diff_sd", "trials_for_1pt"]
