"""Which training regime makes the model informative on a 2-core CPU: fine-tuning the whole
EfficientNet-Lite0 segmenter (the old CamVid config, workflow/configs/camvid_finetune.yaml) or
training only a head over the cached features of a frozen ImageNet encoder (train.model
feature_head, workflow/configs/camvid.yaml)?

Both regimes train with the pipeline's own loops (asal.learning.training.train and train_on_features)
on the same sparse label sets: random draws of a share of the CamVid pool's SEEDS superpixels,
each labelled with its dominant ground-truth label, like the warm-up. Reported per run: seconds
per iteration, mIoU on all val images, the model's per-superpixel agreement with the dominant
ground-truth label over the pool (what merging and sieving lean on), and the spread over
seeds. A fully supervised run (every pool pixel) of the frozen regime gives its ceiling.

    .venv/bin/python benchmarks/cpu_regime.py > benchmarks/results/cpu_regime.txt

Each run is a single-threaded process (as the workflow's train jobs), --jobs at once.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
sys.path.insert(0, str(ROOT / "benchmarks"))

# regime name: (model, encoder, iterations, batch size) -- the two shipped CamVid configs,
# and the frozen regime over the larger Lite2 encoder
REGIMES = {
    "finetune-lite0": ("efficientnet_lite0_seg", None, 130, 4),
    "frozen-lite0": ("feature_head", "efficientnet_lite0", 300, 8),
    "frozen-lite2": ("feature_head", "efficientnet_lite2", 300, 8),
}


def pool_setup(root: str, resize: float, sp_size: int):
    """SEEDS maps and ground-truth histograms of the pool (once)."""
    from asal.method import oracle
    from asal.data.datasets import open_dataset
    from asal.method.superpixels import SeedsSpec, superpixelize_image

    ds = open_dataset("camvid", root, resize=resize)
    spec = SeedsSpec(size=sp_size)
    maps = [superpixelize_image(ds.read_image(n), spec) for n in ds.pool]
    hists = [oracle.label_histograms(ds.read_label(n), m, int(m.max()) + 1, ds.n_classes)
             for n, m in zip(ds.pool, maps)]
    return ds, maps, hists


def draw_targets(maps, hists, n_classes: int, fraction: float | None, seed: int):
    """(H, W) sparse targets of every pool image: a random `fraction` of all superpixels with
    their dominant label (void-dominant clicks teach nothing); None: every pool pixel."""
    from asal.method import oracle
    from asal.data.datasets import VOID

    offsets = np.concatenate([[0], np.cumsum([h.shape[0] for h in hists])])
    dominant = oracle.dominant_label(np.concatenate(hists))
    chosen = np.ones(offsets[-1], bool)
    if fraction is not None:
        chosen[:] = False
        chosen[np.random.default_rng(seed).choice(offsets[-1], round(fraction * offsets[-1]),
                                                  replace=False)] = True
    lut = np.where(chosen & (dominant != n_classes), dominant, VOID).astype(np.uint8)
    return [lut[offsets[i] + m] for i, m in enumerate(maps)]


def run_one(job: dict) -> dict:
    import torch

    torch.set_num_threads(1)
    from asal.store import feature_file
    from asal.measure import diagnostics
    from asal.method import oracle
    from asal.data.datasets import VOID, open_dataset
    from asal.learning.models import build_model
    from asal.measure.miou import confusion, iou_from_confusion, mean_iou
    from asal.learning.training import (TrainSpec, predict_probabilities,
                                        predict_probabilities_from_features, seed_everything,
                                        train, train_on_features)

    model_name, encoder, iterations, batch = REGIMES[job["regime"]]
    ds = open_dataset("camvid", job["root"], resize=job["resize"])
    if job["full"]:
        targets = [ds.read_label(n) for n in ds.pool]
    else:
        targets = draw_targets(job["maps"], job["hists"], ds.n_classes, job["fraction"],
                               job["draw"])
    used = [i for i, t in enumerate(targets) if (t != VOID).any()]
    spec = TrainSpec(model=model_name, pretrained=True, iterations=job["iterations"] or
                     iterations, batch_size=batch, crop=0,
                     encoder=encoder or "efficientnet_lite0")
    seed_everything(job["seed"])
    model = build_model(spec.model, ds.n_classes, spec.pretrained, encoder=spec.encoder)
    cpu = torch.device("cpu")
    start = time.perf_counter()
    if encoder:
        with feature_file.open_features(job["features"][encoder]) as f:
            taps = f.rows([ds.pool[i] for i in used])
            shape = f.image_shape
        train_on_features(model, taps, np.stack([targets[i] for i in used]), spec,
                          job["seed"] + 1000, cpu)
    else:
        train(model, [ds.read_image(ds.pool[i]) for i in used], [targets[i] for i in used],
              spec, job["seed"] + 1000, cpu)
    train_s = time.perf_counter() - start

    def probs(names):
        if encoder:
            with feature_file.open_features(job["features"][encoder]) as f:
                for a in range(0, len(names), 16):
                    yield from predict_probabilities_from_features(
                        model, f.rows(names[a:a + 16]), shape, cpu)
        else:
            yield from predict_probabilities(model, [ds.read_image(n) for n in names], cpu)

    conf = np.zeros((ds.n_classes, ds.n_classes), np.int64)
    for name, p in zip(ds.evaluation, probs(list(ds.evaluation))):
        conf += confusion(p.argmax(0), ds.read_label(name), ds.n_classes)
    agree = np.zeros(2, np.int64)
    for m, h, p in zip(job["maps"], job["hists"], probs(list(ds.pool))):
        pred = oracle.label_histograms(p.argmax(0).astype(np.uint8), m, h.shape[0],
                                       ds.n_classes)[:, :-1]
        agree += diagnostics.agreement_counts(pred, h)
    labelled = sum(int((t != VOID).sum()) for t in targets)
    return {**{k: job[k] for k in ("regime", "seed", "draw", "full")},
            "iterations": spec.iterations, "miou": mean_iou(iou_from_confusion(conf)),
            "agreement": agree[0] / agree[1], "s_per_iter": train_s / spec.iterations,
            "train_s": train_s, "labelled_pixels": labelled}


def make_features(ds, encoder: str, out: Path) -> Path:
    """The features stage's file for the pool and val (once per encoder), as the rule makes it."""
    from asal.stages.features import compute_features

    path = out / f"{encoder}.h5"
    if not path.exists():
        compute_features(dataset={"name": "camvid", "root": str(ds.root), "resize": ds.resize,
                                  "evaluation_split": "val"}, encoder=encoder, out=str(path),
                         threads=2)
    return path


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default=str(ROOT.parent / "shared" / "data" / "camvid"))
    p.add_argument("--resize", type=float, default=0.5)
    p.add_argument("--sp-size", type=int, default=256)
    p.add_argument("--fraction", type=float, default=0.02,
                   help="share of the pool's superpixels labelled (the CamVid warm-up's)")
    p.add_argument("--draws", type=int, nargs="+", default=[0, 1, 2],
                   help="label draws; run k trains with seed k on draw k")
    p.add_argument("--regimes", nargs="+", default=list(REGIMES), choices=list(REGIMES))
    p.add_argument("--full-iterations", type=int, nargs="*", default=[300, 600],
                   help="iterations of the fully supervised frozen-lite0 runs")
    p.add_argument("--cache", default=str(ROOT / "results" / "benchmarks-cpu-regime"),
                   help="where the features files are made once")
    p.add_argument("--jobs", type=int, default=2, help="runs at once")
    args = p.parse_args(argv)

    import torch

    if not Path(args.root).exists():
        sys.exit(f"{args.root}: CamVid not found; pass --root")
    t0 = time.perf_counter()
    ds, maps, hists = pool_setup(args.root, args.resize, args.sp_size)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    encoders = sorted({REGIMES[r][1] for r in args.regimes if REGIMES[r][1]}
                      | ({"efficientnet_lite0"} if args.full_iterations else set()))
    features = {}
    for enc in encoders:
        t = time.perf_counter()
        features[enc] = str(make_features(ds, enc, cache))
        print(f"# features {enc}: {time.perf_counter() - t:.0f} s (0 if cached)", flush=True)
    print("# training regimes on CamVid: fine-tuning against a head over frozen features")
    print("# command: .venv/bin/python benchmarks/cpu_regime.py "
          + " ".join(sys.argv[1:] if argv is None else argv))
    print(f"# machine: {platform.node()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"load average at start {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    h, w = maps[0].shape
    n_sp = sum(x.shape[0] for x in hists)
    print(f"# images {w}x{h}, pool {len(ds.pool)}, val {len(ds.evaluation)}; SEEDS size "
          f"{args.sp_size}: {n_sp} superpixels; draws of {args.fraction:.1%} "
          f"({round(args.fraction * n_sp)} clicks), draws {args.draws}")
    for name in args.regimes:
        model, enc, it, batch = REGIMES[name]
        print(f"# {name}: {model}{' over ' + enc if enc else ''}, {it} iterations, batch "
              f"{batch}, whole images, AdamW lr 0.003, poly decay, 1 thread")
    base = {"root": args.root, "resize": args.resize, "maps": maps, "hists": hists,
            "fraction": args.fraction, "features": features, "iterations": None}
    jobs = [{**base, "regime": r, "seed": d, "draw": d, "full": False}
            for r in args.regimes for d in args.draws]
    jobs += [{**base, "regime": "frozen-lite0", "seed": d, "draw": -1, "full": True,
              "iterations": it} for it in args.full_iterations for d in args.draws[:2]]
    results = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for r in pool.map(run_one, jobs):
            results.append(r)
            what = "Full" if r["full"] else f"draw {r['draw']}"
            print(f"{r['regime']:<15} {what:<7} seed {r['seed']} {r['iterations']:>4} it: "
                  f"mIoU {100 * r['miou']:.1f}, agreement {100 * r['agreement']:.1f}%, "
                  f"{1000 * r['s_per_iter']:.0f} ms/iter, train {r['train_s']:.0f} s",
                  flush=True)
    print("\n# summary (mIoU and agreement in %; spread = max - min over seeds)")
    print(f"{'regime':<15} {'labels':<8} {'it':>4} {'ms/iter':>7} {'mIoU mean':>9} "
          f"{'spread':>6} {'agreement':>9}")
    keys = dict.fromkeys((r["regime"], r["full"], r["iterations"]) for r in results)
    for regime, full, it in keys:
        rs = [r for r in results if (r["regime"], r["full"], r["iterations"]) == (regime, full, it)]
        m = 100 * np.array([r["miou"] for r in rs])
        print(f"{regime:<15} {'Full' if full else f'{args.fraction:.0%}':<8} {it:>4} "
              f"{1000 * np.mean([r['s_per_iter'] for r in rs]):>7.0f} {m.mean():>9.1f} "
              f"{m.max() - m.min():>6.1f} "
              f"{100 * np.mean([r['agreement'] for r in rs]):>9.1f}")
    print(f"# total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
