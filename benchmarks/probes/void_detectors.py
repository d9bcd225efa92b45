"""Which void detector finds the regions the oracle calls void: the measurement behind the
feature head's void output (asal.learning.models.VoidHead).

From one trial's warm-up (its labelled set, sieved labels, theta_0's statistics with the
void sums of the model that made them, the cached features and the oracle table), it trains
void detectors on the warm-up's void answers and, for each, prints the AUC of v(s) for
void-dominant base superpixels and the void share of the top-B regions under the void-aware
score (1 - v(s))^k for k = 1, 2, 4:

- (a) the void sums in stats.h5 (whatever void output the run's model had);
- (b) a small head of its own on the frozen taps (width 16), plain binary cross-entropy;
- (c) the same with positive pixels weighted 5x.

    python benchmarks/probes/void_detectors.py results/paper --trial 0
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from asal.learning.losses import upsampled_logits_at
from asal.learning.models import VoidHead, _up
from asal.learning.targets import coded_targets
from asal.method import acquisition
from asal.store import artifacts
from asal.store.feature_file import open_features

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from void_share import auc  # noqa: E402


def train(head, taps, y, iters, pos_weight, size, seed=0):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(head.parameters(), lr=0.003, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda it: (1 - it / iters) ** 0.9)
    head.train()
    for _ in range(iters):
        pick = torch.from_numpy(rng.integers(0, len(y), 8))
        x = {k: v[pick].float() for k, v in taps.items()}
        target = y[pick]
        b, i, j = (target != 255).nonzero(as_tuple=True)
        z = upsampled_logits_at(head(x), b, i, j, size)[:, 0]
        loss = nn.functional.binary_cross_entropy_with_logits(
            z, (target[b, i, j] == 254).float(), pos_weight=torch.tensor(pos_weight))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return head.eval()


@torch.no_grad()
def void_sums(head, sp, feats, size):
    out = np.zeros(sp.n_superpixels)
    for a in range(0, sp.n_images, 16):
        names = list(sp.names[a:a + 16])
        taps = feats.rows(names, ("s8", "s16", "s32"))
        v = torch.sigmoid(_up(head({k: torch.from_numpy(x).float() for k, x in taps.items()}),
                              size))[:, 0].numpy()
        for k, i in enumerate(range(a, min(a + 16, sp.n_images))):
            lo, hi = int(sp.sp_offset[i]), int(sp.sp_offset[i + 1])
            out[lo:hi] = np.bincount(sp.local_map(i).ravel(), weights=v[k].ravel(),
                                     minlength=hi - lo)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("experiment", type=Path)
    p.add_argument("--trial", type=int, default=0)
    p.add_argument("--budget", type=int, default=6000)
    p.add_argument("--iterations", type=int, default=1200)
    args = p.parse_args()
    torch.set_num_threads(1)
    exp, folder = args.experiment, args.experiment / f"warmup/trial{args.trial}/round0"
    labelled, lattrs = artifacts.read_table(folder / "labelled.h5", "query", ("label",))
    sieved, _ = artifacts.read_table(folder / "sieved.h5", "sieve", ("pixel", "label", "kept"))
    gt, _ = artifacts.read_table(exp / "oracle/seeds.h5", "oracle_table", ("gt_hist",))
    stats, _ = artifacts.read_table(folder / "stats.h5", "predict",
                                    ("count", "u_sum", "entropy_sum", "pred_hist", "void_sum"))
    void_dominant = gt["gt_hist"].argmax(1) == gt["gt_hist"].shape[1] - 1
    candidate = labelled["label"] < 0
    keys = acquisition.tiebreak_keys(np.arange(len(candidate)), 1)
    n_classes = gt["gt_hist"].shape[1] - 1

    def report(name, vsum):
        st = dict(stats, void_sum=vsum)
        v = vsum / np.maximum(stats["count"], 1)
        row = [f"{name:30s} AUC {auc(v, void_dominant):.3f}, mean v(s) "
               f"{v[void_dominant].mean():.3f} void / {v[~void_dominant].mean():.3f} other |"]
        for k in (1, 2, 4):
            score, u, _ = acquisition.scores(st, acquisition.AcquireSpec(
                function="void_aware", void_power=k))
            pick = acquisition.select_top(score, candidate, args.budget, keys)
            row.append(f"k={k}: {100 * void_dominant[pick].mean():.1f}% void, "
                       f"u {u[pick].mean():.3f};")
        print(" ".join(row), flush=True)

    score, u, _ = acquisition.scores(stats, acquisition.AcquireSpec())
    pick = acquisition.select_top(score, candidate, args.budget, keys)
    print(f"# {folder}: eq. 7 alone asks {100 * void_dominant[pick].mean():.1f}% void-dominant "
          f"regions (u {u[pick].mean():.3f}) of its top {args.budget}")
    report("(a) the run's void output", stats["void_sum"])
    with artifacts.open_superpixels(exp / "superpixels/seeds.h5") as sp, \
            open_features(exp / "features/efficientnet_lite0.h5") as feats:
        codes = coded_targets(sp, sieved, n_classes, labelled["label"] == lattrs["void_label"])
        names = [sp.names[i] for i in codes.maps]
        taps = {k: torch.from_numpy(v) for k, v in feats.rows(names, ("s8", "s16", "s32")).items()}
        y = torch.from_numpy(np.stack(list(codes.maps.values())).astype(np.int64))
        size = tuple(feats.image_shape)
        c8, c16, c32 = (taps[k].shape[1] for k in ("s8", "s16", "s32"))
        for label, weight in (("(b) taps head, BCE", 1.0), ("(c) taps head, positives x5", 5.0)):
            start = time.time()
            head = train(VoidHead(c8, c16, c32), taps, y, args.iterations, weight, size)
            report(label, void_sums(head, sp, feats, size))
            print(f"   trained in {time.time() - start:.0f} s ({args.iterations} iterations)")


if __name__ == "__main__":
    main()
