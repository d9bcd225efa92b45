"""How much do the per-superpixel statistics add to the predict stage's forward pass?

The predict stage (asal.stages.predict) streams the pool through the model
(asal.learning.training.predict_probabilities: forward, softmax, .cpu().numpy()) and reduces each
image's (C, H, W) probabilities with asal.method.statistics.superpixel_statistics. This script runs,
on the same images, the same model and the same superpixel maps, in one process, interleaved
batch by batch (the order of the modes rotates from batch to batch, so drift from other load
on the machine falls on all of them alike):

  bare           forward pass producing the probabilities, as predict does, nothing else
  full           the same forward pass + superpixel_statistics of every image (predict's loop)
  full_original  the same with the original statistics (`reference_statistics` below: the
                 implementation before this benchmark), for a before/after in the same run

and, on the probabilities of the bare pass, the statistics alone ("stats", current and
original), with a check that the two implementations agree.

overhead = full / bare - 1 (the issue's figure: at most 30%). Each batch goes through every
mode --reps times; the headline figures take each batch's fastest pass per mode (other load on
a shared machine only ever adds time), the mean over passes and the median of the per-batch
ratios (each full pass beside its bare one) are printed too. stats / bare estimates the
overhead from one timing instead of the difference of two.

Settings (CamVid pool images read through asal.data.datasets' camvid adapter):
  half        240x180: the camvid config's resolution (dataset.resize 0.5), 11 classes,
              SEEDS size 256 (165 superpixels per image), batch 8 (predict's default)
  1024x2048   pool images upscaled to Cityscapes' size, ~8100 superpixels of ~262 px
              (--big-map: tiled half-resolution SEEDS maps by default, or SEEDS itself, which
              needs ~11 GB), 11 classes, batch 2 (memory); and the same with a 19-class head
              (Cityscapes' class count: the statistics grow with C, the forward pass hardly)

Model: efficientnet_lite0_seg, the CPU default model of the camvid config; the trained CamVid
checkpoint where one exists (--model), else freshly built (timing does not depend on the
weights). Torch runs with --threads threads (1, as the predict rule's `threads: 1`).

    .venv/bin/python benchmarks/probes/predict_overhead.py          # -> predict_overhead.txt
    .venv/bin/python benchmarks/probes/predict_overhead.py --quick  # -> predict_overhead_quick.txt

(both in benchmarks/results/)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "workflow"))

DEFAULT_MODEL = ROOT / "results" / "camvid" / "SP" / "trial0" / "round4" / "model.pt"


def reference_statistics(probs: np.ndarray, local_map: np.ndarray, n_superpixels: int) -> dict:
    """asal.method.statistics.superpixel_statistics as it was before this benchmark (commit a11f9b2)."""
    n_classes = probs.shape[0]
    ids = local_map.ravel()
    flat = probs.reshape(n_classes, -1).astype(np.float64)
    count = np.bincount(ids, minlength=n_superpixels)
    prob_sum = np.stack([np.bincount(ids, weights=flat[c], minlength=n_superpixels)
                         for c in range(n_classes)], axis=1)
    top2 = -np.partition(-flat, 1, axis=0)[:2]
    u = top2[1] / np.maximum(top2[0], np.finfo(np.float64).tiny)
    u_sum = np.bincount(ids, weights=u, minlength=n_superpixels)
    p = np.clip(flat, 1e-12, 1.0)
    entropy_sum = np.bincount(ids, weights=-(flat * np.log(p)).sum(axis=0),
                              minlength=n_superpixels)
    pred = flat.argmax(axis=0)
    pred_hist = np.bincount(ids * n_classes + pred, minlength=n_superpixels * n_classes)
    return {"count": count.astype(np.int64), "prob_sum": prob_sum, "u_sum": u_sum,
            "entropy_sum": entropy_sum,
            "pred_hist": pred_hist.reshape(n_superpixels, n_classes).astype(np.int64)}


def load_images(ds, n: int, sp_size: int):
    """n pool images and their SEEDS maps (the project's superpixelize_image)."""
    from asal.method.superpixels import SeedsSpec, superpixelize_image

    spec = SeedsSpec(size=sp_size)
    images = [ds.read_image(name) for name in ds.pool[:n]]
    return images, [superpixelize_image(image, spec) for image in images]


def big_images(ds_full, half_maps: list[np.ndarray], n: int, size: tuple[int, int],
               seeds: bool, sp_size: int):
    """n pool images upscaled to size=(h, w), with superpixel maps of about sp_size px.

    seeds=True runs SEEDS on the upscaled image (OpenCV's SEEDS needs ~11 GB at 1024x2048
    with the project's settings); otherwise the map tiles the half-resolution SEEDS maps of
    the pool (real SEEDS boundaries, ~262 px superpixels, ~8100 of them), renumbered."""
    import cv2

    from asal.method.superpixels import SeedsSpec, superpixelize_image

    h, w = size
    images, maps = [], []
    for k, name in enumerate(ds_full.pool[:n]):
        image = cv2.resize(ds_full.read_image(name), (w, h), interpolation=cv2.INTER_LINEAR)
        images.append(image)
        if seeds:
            maps.append(superpixelize_image(image, SeedsSpec(size=sp_size)))
            continue
        th, tw = half_maps[0].shape
        rows = []
        offset = 0
        for i in range(-(-h // th)):
            row = []
            for j in range(-(-w // tw)):
                tile = half_maps[(k + i * 7 + j) % len(half_maps)]
                row.append(tile + offset)
                offset += int(tile.max()) + 1
            rows.append(np.concatenate(row, axis=1))
        tiled = np.concatenate(rows, axis=0)[:h, :w]
        maps.append(np.unique(tiled, return_inverse=True)[1].reshape(h, w).astype(np.int32))
    return images, maps


def make_model(n_classes: int, model_path: Path | None):
    from asal.learning.models import build_model, load_checkpoint

    if model_path is not None and model_path.exists():
        model, meta = load_checkpoint(model_path, n_classes, "cpu")
        where = model_path.relative_to(ROOT) if model_path.is_relative_to(ROOT) else model_path
        return model, f"{meta['model']} checkpoint {where}"
    import torch

    torch.manual_seed(0)
    model = build_model("efficientnet_lite0_seg", n_classes, pretrained=False).eval()
    return model, "efficientnet_lite0_seg, freshly built (no checkpoint for this class count)"


def compare(new: dict, ref: dict) -> str:
    """Largest difference of each key, relative to the key's largest magnitude."""
    parts = []
    for k in ref:
        if new[k].dtype != ref[k].dtype or new[k].shape != ref[k].shape:
            raise AssertionError(f"{k}: {new[k].dtype}{new[k].shape} != "
                                 f"{ref[k].dtype}{ref[k].shape}")
        if ref[k].dtype.kind in "iu":
            if not np.array_equal(new[k], ref[k]):
                raise AssertionError(f"{k}: integer statistics differ")
            parts.append(f"{k} equal")
        else:
            scale = max(float(np.abs(ref[k]).max()), 1e-300)
            d = float(np.abs(new[k] - ref[k]).max()) / scale
            parts.append(f"{k} {d:.1e}")
    return ", ".join(parts)


MODES = ("bare", "full", "full_original")


def run_setting(label, model, images, maps, batch_size, reps, emit):
    import torch

    from asal.method.statistics import superpixel_statistics
    from asal.learning.training import predict_probabilities

    dev = torch.device("cpu")
    stats_fn = {"full": superpixel_statistics, "full_original": reference_statistics}
    ns = [int(m.max()) + 1 for m in maps]
    batches = [list(range(s, min(s + batch_size, len(images))))
               for s in range(0, len(images), batch_size)]
    t = dict.fromkeys(MODES + ("stats", "reference"), 0.0)
    per_batch = [[] for _ in batches]  # per batch, one row of timings per pass
    diffs = n_classes = None
    # one untimed warm-up batch: first-call allocations and oneDNN kernel selection
    for _ in predict_probabilities(model, [images[i] for i in batches[0]], dev, batch_size):
        pass
    step = 0
    for rep in range(reps):
        for b, idx in enumerate(batches):
            chunk = [images[i] for i in idx]
            k = step % len(MODES)  # rotate the order of the modes from batch to batch
            step += 1
            row = {}
            for mode in MODES[k:] + MODES[:k]:
                start = time.perf_counter()
                if mode == "bare":  # predict's forward pass, nothing else
                    probs = list(predict_probabilities(model, chunk, dev, batch_size))
                else:  # predict's loop: statistics of each image as it comes
                    fn = stats_fn[mode]
                    for i, p in zip(idx, predict_probabilities(model, chunk, dev, batch_size)):
                        fn(p, maps[i], ns[i])
                row[mode] = time.perf_counter() - start
            # the statistics alone, current and original, on the bare pass's probabilities
            out = {}
            for mode, fn in (("stats", superpixel_statistics), ("reference", reference_statistics)):
                start = time.perf_counter()
                out[mode] = [fn(p, maps[i], ns[i]) for i, p in zip(idx, probs)]
                row[mode] = time.perf_counter() - start
            if diffs is None:
                n_classes = probs[0].shape[0]
                diffs = compare(out["stats"][0], out["reference"][0])
            for key in t:
                t[key] += row[key]
            per_batch[b].append(row)
            del probs, out
    n = reps * len(images)
    ms = {key: 1000 * v / n for key, v in t.items()}
    # the fastest of the passes over each batch: other load on the machine only adds time
    best = {key: 1000 * sum(min(r[key] for r in rows) for rows in per_batch) / len(images)
            for key in t}
    paired = {mode: float(np.median([r[mode] / r["bare"] - 1 for rows in per_batch
                                     for r in rows])) for mode in MODES[1:]}
    h, w = images[0].shape[:2]
    emit(f"\n## {label}: {w}x{h} px, {n_classes} classes, "
         f"{np.mean(ns):.0f} superpixels per image, batch {batch_size}, "
         f"{len(images)} images x {reps} passes")
    emit(f"{'ms per image':22s} {'bare':>8s} {'full':>8s} {'full(orig)':>10s} "
         f"{'stats':>8s} {'stats(orig)':>11s}")
    for name, v in (("mean over passes", ms), ("fastest pass per batch", best)):
        emit(f"{name:22s} {v['bare']:8.1f} {v['full']:8.1f} {v['full_original']:10.1f} "
             f"{v['stats']:8.1f} {v['reference']:11.1f}")
    r = {"label": label, "ms": best,
         "overhead": best["full"] / best["bare"] - 1,
         "overhead_original": best["full_original"] / best["bare"] - 1,
         "overhead_mean": t["full"] / t["bare"] - 1,
         "overhead_paired": paired["full"],
         "stats_share": best["stats"] / best["bare"],
         "reference_share": best["reference"] / best["bare"],
         "speedup": best["reference"] / best["stats"]}
    emit(f"overhead full/bare - 1 (fastest passes): {r['overhead']:+.1%}, original statistics "
         f"{r['overhead_original']:+.1%}")
    emit(f"overhead full/bare - 1 (mean over passes): {r['overhead_mean']:+.1%}, original "
         f"{t['full_original'] / t['bare'] - 1:+.1%}; median of the per-batch ratios (each "
         f"full beside its bare): {paired['full']:+.1%}, original {paired['full_original']:+.1%}")
    emit(f"statistics alone / bare (fastest passes): {r['stats_share']:.1%}, original "
         f"{r['reference_share']:.1%}; statistics {r['speedup']:.1f}x faster")
    emit(f"current vs original (max |diff| / max |value|): {diffs}")
    return r


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default=str(ROOT.parent / "shared" / "data" / "camvid"))
    p.add_argument("--model", default=str(DEFAULT_MODEL),
                   help="11-class checkpoint to time (a fresh model when absent)")
    p.add_argument("--quick", action="store_true", help="fewer images and passes")
    p.add_argument("--images", type=int, default=None, help="half-resolution images")
    p.add_argument("--big-images", type=int, default=None, help="1024x2048 images (0: skip)")
    p.add_argument("--reps", type=int, default=None, help="passes over the images (2)")
    p.add_argument("--big-reps", type=int, default=None,
                   help="passes over the 1024x2048 images (2; --quick 1)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (predict rule: 1)")
    p.add_argument("--big-map", choices=("tiled", "seeds"), default="tiled",
                   help="1024x2048 superpixels: tiled half-resolution SEEDS maps, or SEEDS on "
                        "the upscaled image (~11 GB of memory)")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    n_half = args.images or (16 if args.quick else 96)
    n_big = args.big_images if args.big_images is not None else (2 if args.quick else 4)
    reps = args.reps or 2
    big_reps = args.big_reps or (1 if args.quick else 2)
    out = Path(args.out) if args.out else (
        ROOT / "benchmarks" / "results" /
        ("predict_overhead_quick.txt" if args.quick else "predict_overhead.txt"))

    import torch

    torch.set_num_threads(args.threads)
    from asal.data.datasets import open_dataset

    lines = []

    def emit(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    root = Path(args.root)
    if not root.is_dir():
        sys.exit(f"{root}: CamVid not found (give --root)")
    emit("# predict overhead: forward pass alone vs forward pass + superpixel_statistics")
    emit(f"# command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    emit(f"# machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
         f"numpy {np.__version__}, torch {torch.__version__}, {torch.get_num_threads()} "
         f"torch thread(s), load average at start "
         f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} (the CPU may be shared)")
    model_path = Path(args.model) if args.model else None
    results = []

    ds = open_dataset("camvid", root, resize=0.5)
    model, what = make_model(ds.n_classes, model_path)
    emit(f"# model: {what}")
    images, maps = load_images(ds, n_half, 256)
    results.append(run_setting("half (camvid config)", model, images, maps, 8, reps, emit))

    if n_big:
        full = open_dataset("camvid", root, resize=1.0)
        tiles = maps if args.big_map == "tiled" else None
        images, maps = big_images(full, tiles, n_big, (1024, 2048), args.big_map == "seeds", 256)
        emit(f"\n# 1024x2048: CamVid pool images upscaled; superpixel maps: "
             + ("SEEDS size 256 on the upscaled image" if args.big_map == "seeds" else
                "the half-resolution SEEDS maps tiled (real SEEDS boundaries, ~262 px; SEEDS "
                "itself at 1024x2048 needs ~11 GB, --big-map seeds)"))
        results.append(run_setting("1024x2048", model, images, maps, 2, big_reps, emit))
        model19, what19 = make_model(19, None)
        emit(f"# 19-class model: {what19}")
        results.append(run_setting("1024x2048, 19 classes", model19, images, maps, 2,
                                   big_reps, emit))

    emit("\n# summary (target: overhead <= 30%); ms per image, fastest pass per batch; "
         "overhead = full/bare - 1 (paired: median of per-batch ratios)")
    emit(f"{'setting':24s} {'bare':>8s} {'full':>8s} {'overhead':>9s} {'paired':>7s} "
         f"{'stats/bare':>10s} {'orig overhead':>13s} {'orig stats/bare':>15s} "
         f"{'speed-up':>8s}")
    for r in results:
        emit(f"{r['label']:24s} {r['ms']['bare']:8.1f} {r['ms']['full']:8.1f} "
             f"{r['overhead']:+9.1%} {r['overhead_paired']:+7.1%} {r['stats_share']:10.1%} "
             f"{r['overhead_original']:+13.1%} {r['reference_share']:15.1%} "
             f"{r['speedup']:7.1f}x")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"# written to {out}")


if __name__ == "__main__":
    main()
