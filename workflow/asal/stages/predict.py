"""Rule predict: one forward pass of theta_t over the pool (or a shard of it), reduced to
per-base-superpixel statistics that merge and acquire of the next round read."""

from __future__ import annotations

import numpy as np

from ..data.datasets import dataset_from
from ..experiment.seeds_and_shards import shard_range
from ..method import statistics
from ..progress import Progress
from ..store import artifacts
from ..store.artifacts import provenance
from ..store.round_tables import check_pool
from .arguments import add_dataset, add_device, add_features, add_inputs, add_shard, run_stage

HELP = "per-superpixel statistics of a model's prediction"


def add_arguments(p) -> None:
    add_dataset(p)
    add_inputs(p, "--superpixels", "--model", "--out")
    add_features(p)
    add_shard(p)
    add_device(p)


def main(args) -> None:
    run_stage(predict, args)


def predict(*, dataset: dict, superpixels: str, model: str, out: str, device: str = "auto",
            threads: int = 0, batch_size: int = 8, shard: int = 0, shards: int = 1,
            features: str | None = None) -> None:
    """One forward pass over the pool (or one shard of it), reduced to per base superpixel
    statistics, written image by image."""
    from ..learning.inference import Predictor, torch_setup

    dataset_cfg, sp_path, model_path, n_shards = dataset, superpixels, model, shards
    features_path = features

    ds = dataset_from(dataset_cfg)
    dev = torch_setup(threads, device)
    with Predictor(model_path, ds, dev, features_path, batch_size) as predictor, \
            artifacts.open_superpixels(sp_path) as sp:
        check_pool(ds, sp, sp_path)
        lo, hi = shard_range(sp.n_images, shard, n_shards)
        attrs = provenance("predict", superpixel_spec=sp.attrs["superpixel_spec"],
                           classes=list(ds.classes), model=str(model_path),
                           model_round=int(predictor.meta.get("round", -1)), shard=shard,
                           n_shards=n_shards)
        first, rows_total = int(sp.sp_offset[lo]), int(sp.sp_offset[hi] - sp.sp_offset[lo])
        with artifacts.table_writer(out, "predict", attrs, rows_total, ds.n_classes) as rows:
            progress = Progress("predict", hi - lo)
            names = sp.names[lo:hi]
            if predictor.has_void:  # v(s): the void output summed per superpixel
                rows.create("void_sum", (rows_total,), np.float64)
                stream = predictor.probs_with_void(names)
            else:
                stream = ((p, None) for p in predictor.probs(names))
            for i, (probs, void) in enumerate(stream, start=lo):
                a, b = int(sp.sp_offset[i]), int(sp.sp_offset[i + 1])
                local = sp.local_map(i)
                stats = statistics.superpixel_statistics(probs, local, b - a)
                for key in statistics.STAT_KEYS:
                    rows.put(key, a - first, stats[key])
                if void is not None:
                    rows.put("void_sum", a - first,
                             np.bincount(local.ravel(), weights=void.ravel().astype(np.float64),
                                         minlength=b - a))
                progress(i + 1 - lo)
