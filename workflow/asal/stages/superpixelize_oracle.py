"""Rule superpixelize_oracle: the ground truth's connected components as base superpixels, the
upper bound of methods whose every query is pure."""

from __future__ import annotations

import logging

from ..data.datasets import dataset_from
from ..method import superpixels
from .arguments import add_dataset, run_stage
from .superpixel_files import write_superpixels

log = logging.getLogger(__name__)

HELP = "ground-truth connected components as superpixels"


def add_arguments(p) -> None:
    add_dataset(p)
    p.add_argument("--out", required=True)


def main(args) -> dict:
    return run_stage(superpixelize_oracle, args)


def superpixelize_oracle(*, dataset: dict, out: str) -> dict:
    """Oracle superpixels: connected components of each ground-truth map (void included).

    An upper bound that reads ground truth by design: every query is pure.
    """
    ds = dataset_from(dataset)
    ds.check_files(ds.pool, labels=True)
    attrs = write_superpixels(
        ds=ds, local_map_of=lambda name: superpixels.connected_relabel(ds.read_label(name)),
        spec={"source": "oracle"}, what="superpixelize (oracle)", names_in=ds.pool, out=out)
    log.info("superpixelize: oracle superpixels, %.1f per image, mean size %.1f px",
             attrs["achieved_per_image"], attrs["achieved_mean_size"])
    return attrs
