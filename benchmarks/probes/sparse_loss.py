"""Does evaluating the feature head's loss at labelled pixels only (asal.learning.losses) change
what a round learns? The same label sets trained twice, the same seed and batches, once by the
dense route (every logit upsampled to the image, unlabelled pixels ignored: the code before the
change) and once by the sparse route (the default), then evaluated on the evaluation split.

The two routes compute the same loss and gradients up to the order of floating-point sums, so
the weights drift apart by rounding only; what this measures is how far that drift moves mIoU,
and the CPU time each route spends per step.

    .venv/bin/python benchmarks/probes/sparse_loss.py --experiment results/camvid \
        --dataset '{"name": "camvid", "root": "../shared/data/camvid", "resize": 0.5}' \
        --rounds warmup/trial0/round0 SP/trial0/round2 AMSP+S/trial1/round4 --iterations 300

Each label set is a round folder of an experiment that ran (its sieved.h5); the experiment's
superpixels and features files are used as the workflow uses them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--experiment", required=True, help="results/<experiment> folder")
    p.add_argument("--dataset", required=True, help="the dataset JSON the workflow passes")
    p.add_argument("--rounds", nargs="+", required=True,
                   help="round folders under the experiment: <method>/trial<k>/round<t>")
    p.add_argument("--iterations", type=int, default=300)
    p.add_argument("--encoder", default="efficientnet_lite0")
    p.add_argument("--superpixels", default="seeds")
    a = p.parse_args(argv)

    from asal import cli
    from asal.learning import losses

    root = Path(a.experiment)
    dataset = json.loads(a.dataset)
    dataset.setdefault("evaluation_split", "val")
    features = root / "features" / f"{a.encoder}.h5"
    spx = root / "superpixels" / f"{a.superpixels}.h5"
    spec = {"model": "feature_head", "encoder": a.encoder, "iterations": a.iterations,
            "batch_size": 8, "lr": 0.003}
    out = Path(tempfile.mkdtemp(prefix="sparse_loss_"))
    print(f"{'label set':<28} {'route':<7} {'mIoU %':>7} {'CPU ms/step':>12}", flush=True)
    diffs = []
    for folder in a.rounds:
        trial = int(folder.split("/trial")[1].split("/")[0])
        rnd = int(folder.split("/round")[1])
        miou = {}
        for route, share in (("dense", -1.0), ("sparse", losses.DENSE_SHARE)):
            losses.DENSE_SHARE, default = share, losses.DENSE_SHARE
            model = out / f"{folder.replace('/', '_')}_{route}.pt"
            start = time.process_time()
            cli.call("train", dataset=dataset, superpixels=spx, sieved=root / folder / "sieved.h5",
                     spec=spec, features=features, seed=0, trial=trial, round=rnd,
                     threads=1, device="cpu", out=model,
                     log_out=model.with_suffix(".csv"))
            per_step = 1000 * (time.process_time() - start) / a.iterations
            losses.DENSE_SHARE = default
            metrics = model.with_suffix(".json")
            cli.call("evaluate", dataset=dataset, model=model, features=features,
                     method=route, trial=trial, round=rnd, device="cpu", threads=1, out=metrics)
            miou[route] = 100 * json.loads(metrics.read_text())["miou"]
            print(f"{folder:<28} {route:<7} {miou[route]:>7.2f} {per_step:>12.0f}", flush=True)
        diffs.append(miou["sparse"] - miou["dense"])
    mean_abs = sum(abs(d) for d in diffs) / len(diffs)
    print(f"\nsparse - dense mIoU, points: {', '.join(f'{d:+.2f}' for d in diffs)}; "
          f"mean |difference| {mean_abs:.2f}")


if __name__ == "__main__":
    sys.exit(main())
