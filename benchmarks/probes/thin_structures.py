"""Which model for thin structures on images that are not photographs? A made-up stand-in for
electron-microscopy membranes: grey textured cells whose borders, 1 to 2 pixels wide, are the
class to find (a folder dataset with 0/255 masks, as such data usually comes). Each model is
trained on every pool pixel (Full) by the pipeline's own stages and scored on the evaluation
split, beside the majority class predicted everywhere.

    .venv/bin/python benchmarks/probes/thin_structures.py --work /tmp/thin \
        > benchmarks/results/thin_structures.txt

The frozen ImageNet encoder of the feature head sees a photograph's textures at stride 8 and
more; a membrane 2 px wide is a sliver of one feature cell.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ASAL = str(Path(sys.executable).with_name("asal"))


def membranes(rng: np.random.Generator, size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """A grey image of Voronoi cells and its mask: 255 on the cells' borders, 0 inside."""
    seeds = rng.uniform(0, size, (rng.integers(18, 30), 2))
    yy, xx = np.mgrid[0:size, 0:size]
    d = np.hypot(yy[..., None] - seeds[:, 0], xx[..., None] - seeds[:, 1])
    nearest = np.sort(d, axis=2)
    border = (nearest[..., 1] - nearest[..., 0]) < rng.uniform(1.2, 2.0)
    cell = d.argmin(axis=2)
    shade = rng.uniform(120, 200, len(seeds))[cell]
    image = shade + rng.normal(0, 18, (size, size))
    image[border] = rng.uniform(40, 70) + rng.normal(0, 10, border.sum())
    image = cv2.GaussianBlur(np.clip(image, 0, 255).astype(np.uint8), (3, 3), 0.8)
    return image, (border * 255).astype(np.uint8)


def make_dataset(root: Path, n_pool: int, n_val: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(exist_ok=True)
    names = [f"em_{k:03d}" for k in range(n_pool + n_val)]
    for name in names:
        image, mask = membranes(rng)
        cv2.imwrite(str(root / "images" / f"{name}.png"), image)
        cv2.imwrite(str(root / "labels" / f"{name}.png"), mask)
    (root / "pool.txt").write_text("\n".join(names[:n_pool]) + "\n")
    (root / "val.txt").write_text("\n".join(names[n_pool:]) + "\n")
    (root / "classes.json").write_text(json.dumps({"classes": ["cell", "membrane"],
                                                   "values": [0, 255]}))
    return root


def run(args: list[str]) -> float:
    start = time.monotonic()
    proc = subprocess.run([ASAL, *args], capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"asal {args[0]} failed:\n{proc.stderr[-3000:]}")
    return time.monotonic() - start


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", required=True)
    p.add_argument("--pool", type=int, default=40)
    p.add_argument("--val", type=int, default=12)
    p.add_argument("--iterations", type=int, default=600)
    p.add_argument("--trials", type=int, default=2)
    a = p.parse_args(argv)

    work = Path(a.work)
    root = make_dataset(work / "data", a.pool, a.val)
    dataset = {"name": "folder", "root": str(root), "evaluation_split": "val"}
    check = work / "check.json"
    run(["check-dataset", "--dataset", json.dumps(dataset), "--out", str(check)])
    pixels = json.loads(check.read_text())["pixels"]
    from asal.reporting.experiments import trivial_miou

    k, trivial = trivial_miou(pixels["pool"], pixels["evaluation"])
    share = 100 * pixels["pool"][1] / sum(pixels["pool"])
    print(f"# {a.pool} pool + {a.val} evaluation images, 128x128; membrane pixels "
          f"{share:.1f}% of the pool")
    print(f"majority class everywhere (cell): mIoU {100 * trivial:.1f}%\n")
    features = work / "efficientnet_lite0.h5"
    run(["features", "--dataset", json.dumps(dataset), "--encoder", "efficientnet_lite0",
         "--threads", "1", "--device", "cpu", "--out", str(features)])
    print(f"{'model':<24} {'trial':>5} {'mIoU %':>7} {'membrane IoU %':>15} {'train s':>8}")
    for model in ("feature_head", "small_unet"):
        spec = {"model": model, "iterations": a.iterations, "batch_size": 8, "lr": 0.003}
        extra = ["--features", str(features)] if model == "feature_head" else []
        for trial in range(a.trials):
            out = work / f"{model}_{trial}.pt"
            metrics, timing = out.with_suffix(".json"), out.with_suffix(".seconds")
            if metrics.exists() and timing.exists():  # a rerun with the same --work resumes
                m = json.loads(metrics.read_text())
                print(f"{model:<24} {trial:>5} {100 * m['miou']:>7.1f} "
                      f"{100 * m['iou']['membrane']:>15.1f} "
                      f"{float(timing.read_text()):>8.0f}", flush=True)
                continue
            seconds = run(["train", "--full", "--dataset", json.dumps(dataset), "--spec",
                           json.dumps(spec), *extra, "--seed", "0", "--trial", str(trial),
                           "--round", "0", "--threads", "1", "--device", "cpu", "--out",
                           str(out), "--log-out", str(out.with_suffix(".csv"))])
            timing.write_text(f"{seconds:.1f}")
            run(["evaluate", "--dataset", json.dumps(dataset), "--model", str(out), *extra,
                 "--method", "Full", "--trial", str(trial), "--device", "cpu", "--threads",
                 "1", "--out", str(metrics)])
            m = json.loads(metrics.read_text())
            print(f"{model:<24} {trial:>5} {100 * m['miou']:>7.1f} "
                  f"{100 * m['iou']['membrane']:>15.1f} {seconds:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
