"""How well the void output finds what the oracle calls void, and what the discount of
void-aware acquisition does to a round's queries, from one round's real artifacts.

For a model's statistics (a round's stats.h5, with the void output's sums), the labelled set
before the round and the oracle table: the area under the ROC curve of v(s) for telling
void-dominant base superpixels from the others, and the share of the top-B regions by eq. 7
and by the void-aware score a(s) (1 - v(s))^k, for several k, whose dominant label is void
(as the oracle would answer). Base superpixels only (SP's regions); no model is run.

    python benchmarks/void_share.py results/paper --trial 0 --budget 6000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from asal.method import acquisition
from asal.store import artifacts


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties counted half)."""
    from scipy.stats import rankdata

    ranks = rankdata(score)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("experiment", type=Path, help="results/<experiment>")
    p.add_argument("--trial", type=int, default=0)
    p.add_argument("--round", type=int, default=0, help="the model's round (its stats.h5)")
    p.add_argument("--method", default="warmup")
    p.add_argument("--budget", type=int, default=6000)
    p.add_argument("--powers", type=float, nargs="+", default=[1, 2, 4])
    args = p.parse_args()
    folder = args.experiment / args.method / f"trial{args.trial}" / f"round{args.round}"
    stats, _ = artifacts.read_table(folder / "stats.h5", "predict",
                                    ("count", "u_sum", "entropy_sum", "pred_hist", "void_sum"))
    labelled, _ = artifacts.read_table(folder / "labelled.h5", "query", ("label",))
    gt, _ = artifacts.read_table(args.experiment / "oracle" / "seeds.h5", "oracle_table",
                                 ("gt_hist",))
    void_dominant = gt["gt_hist"].argmax(1) == gt["gt_hist"].shape[1] - 1
    count = np.maximum(stats["count"], 1)
    v = stats["void_sum"] / count
    candidate = labelled["label"] < 0
    print(f"# {folder}: {len(v)} base superpixels, {int(candidate.sum())} unlabelled; "
          f"{100 * void_dominant.mean():.1f}% void-dominant")
    print(f"AUC of v(s) for void-dominant superpixels: {auc(v, void_dominant):.3f}; mean v(s) "
          f"{v[void_dominant].mean():.3f} on them, {v[~void_dominant].mean():.3f} elsewhere")
    keys = acquisition.tiebreak_keys(np.arange(len(v)), 1)
    print(f"{'score':24s} {'void share of top-B':>20s} {'mean u(s)':>10s}")
    for name, spec in [("eq. 7 (SP)", acquisition.AcquireSpec())] + [
            (f"void_aware, k = {k:g}", acquisition.AcquireSpec(function="void_aware",
                                                               void_power=k))
            for k in args.powers]:
        score, u, _ = acquisition.scores(stats, spec)
        pick = acquisition.select_top(score, candidate, args.budget, keys)
        print(f"{name:24s} {100 * void_dominant[pick].mean():19.1f}% {u[pick].mean():10.3f}")


if __name__ == "__main__":
    main()
