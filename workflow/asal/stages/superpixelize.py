"""Rule superpixelize: SEEDS or SLIC base superpixels S0 of the pool (or of one shard of it,
joined by rule gather_superpixels)."""

from __future__ import annotations

import logging

import numpy as np

from ..data.datasets import dataset_from
from ..experiment.seeds_and_shards import shard_range
from ..method import superpixels
from .arguments import add_dataset, add_shard, add_spec, run_stage
from .superpixel_files import write_superpixels

log = logging.getLogger(__name__)

HELP = "SEEDS or SLIC base superpixels of the pool"


def add_arguments(p) -> None:
    add_dataset(p)
    add_spec(p, superpixels.SeedsSpec)
    p.add_argument("--out", required=True)
    add_shard(p)


def main(args) -> dict:
    if args.spec is None:
        raise SystemExit("asal superpixelize: error: give --spec (at least its size)")
    return run_stage(superpixelize, args)


def superpixelize(*, dataset: dict, spec: superpixels.SeedsSpec, out: str, shard: int = 0,
                  shards: int = 1) -> dict:
    """SEEDS or SLIC base superpixels of the pool (or of one shard of it, to be gathered);
    records the algorithm, the size asked for and the size got."""
    ds = dataset_from(dataset)
    n_shards = shards
    lo, hi = shard_range(len(ds.pool), shard, n_shards)
    ds.check_files(ds.pool[lo:hi])
    requested = []

    def superpixel_map(name):
        image = ds.read_image(name)
        requested.append(superpixels.requested_per_image(image.shape, spec))
        return superpixels.superpixelize_image(image, spec)

    extra = dict(target_size=spec.size, shard=shard, n_shards=n_shards, algorithm=spec.algorithm)
    if spec.algorithm == "slic":
        extra["region_size"] = spec.slic_region_size()
    attrs = write_superpixels(
        ds=ds, local_map_of=superpixel_map, spec={"source": spec.algorithm, **spec.as_dict()},
        what="superpixelize", names_in=ds.pool[lo:hi], out=out,
        extra=lambda: dict(requested_per_image=int(np.median(requested)) if requested else 0,
                           **extra))
    log.info("superpixelize: %s set out with %d superpixels per image (target size %d px); "
             "got %.1f per image, mean size %.1f px", spec.algorithm.upper(),
             attrs["requested_per_image"], spec.size, attrs["achieved_per_image"],
             attrs["achieved_mean_size"])
    return attrs
