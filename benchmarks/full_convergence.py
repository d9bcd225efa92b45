"""Has the fully supervised ceiling converged? Full (every pool pixel labelled) trained by a
recipe at N and at 2N iterations, evaluated on the evaluation split: a recipe is long enough
when doubling its iterations moves Full by less than a point.

Runs the pipeline's own stages through the `asal` command (features once, then `train --full`
and `evaluate` per iteration count and trial), one process at a time, single-threaded as the
workflow's jobs are, and prints mIoU and seconds per run:

    .venv/bin/python benchmarks/full_convergence.py --root ../shared/data/camvid --resize 1.0 \
        --iterations 300 600 --trials 2 --work /tmp/full_conv

The features file is kept in --work, so a second call with other iteration counts reuses it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ASAL = str(Path(sys.executable).with_name("asal"))


def run(args: list[str]) -> float:
    """Seconds of one `asal` call (it fails loudly)."""
    start = time.monotonic()
    subprocess.run([ASAL, *args], check=True, capture_output=True, text=True)
    return time.monotonic() - start


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset-name", default="camvid")
    p.add_argument("--root", required=True)
    p.add_argument("--resize", type=float, default=1.0)
    p.add_argument("--encoder", default="efficientnet_lite0")
    p.add_argument("--iterations", type=int, nargs="+", default=[300, 600])
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=0.003)
    p.add_argument("--trials", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", required=True)
    a = p.parse_args(argv)

    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    dataset = json.dumps({"name": a.dataset_name, "root": str(Path(a.root).resolve()),
                          "resize": a.resize, "evaluation_split": "val"})
    features = work / f"{a.encoder}.h5"
    if not features.exists():
        s = run(["features", "--dataset", dataset, "--encoder", a.encoder, "--threads", "1",
                 "--device", "cpu", "--out", str(features)])
        print(f"features ({a.encoder}, resize {a.resize}): {s:.0f} s, "
              f"{features.stat().st_size / 2**20:.0f} MiB", flush=True)
    print(f"{'iterations':>10} {'trial':>5} {'mIoU %':>7} {'train s':>8} {'eval s':>7}", flush=True)
    results: dict[int, list[float]] = {}
    for iterations in a.iterations:
        spec = json.dumps({"model": "feature_head", "encoder": a.encoder,
                           "iterations": iterations, "batch_size": a.batch_size, "lr": a.lr})
        for trial in range(a.trials):
            model = work / f"full_{iterations}_{trial}.pt"
            metrics = work / f"full_{iterations}_{trial}.json"
            t_train = run(["train", "--full", "--dataset", dataset, "--spec", spec,
                           "--features", str(features), "--seed", str(a.seed), "--trial",
                           str(trial), "--round", "0", "--threads", "1", "--device", "cpu",
                           "--out", str(model),
                           "--log-out", str(model.with_suffix(".csv"))])
            t_eval = run(["evaluate", "--dataset", dataset, "--model", str(model),
                          "--features", str(features), "--method", "Full", "--trial",
                          str(trial), "--device", "cpu", "--threads", "1", "--out",
                          str(metrics)])
            miou = 100 * json.loads(metrics.read_text())["miou"]
            results.setdefault(iterations, []).append(miou)
            print(f"{iterations:>10} {trial:>5} {miou:>7.1f} {t_train:>8.0f} {t_eval:>7.0f}",
                  flush=True)
    print("\nmean mIoU % by iterations (paired by trial):")
    its = sorted(results)
    for n in its:
        print(f"  {n:>6}: {sum(results[n]) / len(results[n]):.1f}")
    for lo, hi in zip(its, its[1:]):
        diffs = [b - a for a, b in zip(results[lo], results[hi])]
        print(f"  {lo} -> {hi}: {sum(diffs) / len(diffs):+.1f} points "
              f"(per trial {', '.join(f'{d:+.1f}' for d in diffs)})")


if __name__ == "__main__":
    main()
