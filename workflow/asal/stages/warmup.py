"""Rule warmup: round 0's queries, B base superpixels drawn uniformly at random; shared by every
method of a trial built on the same superpixels."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..experiment.seeds_and_shards import derive_seed
from ..store import artifacts, blocks
from ..store.round_tables import QUERY_COLUMNS
from .arguments import add_inputs, run_stage

log = logging.getLogger(__name__)

HELP = "round 0: random base superpixels"


def add_arguments(p) -> None:
    add_inputs(p, "--superpixels", "--out")
    for a in ("--budget", "--seed", "--trial"):
        p.add_argument(a, type=int, required=True)


def main(args) -> pd.DataFrame:
    return run_stage(warmup, args)


def warmup(*, superpixels: str, budget: int, seed: int, trial: int, out: str) -> pd.DataFrame:
    """Round 0: B base superpixels uniformly at random; depends only on the trial's seed."""
    rng = np.random.default_rng(derive_seed(seed, trial, 0, 1))
    with artifacts.open_superpixels(superpixels) as sp:
        m = sp.n_superpixels
        if budget > m:
            log.warning("warm-up budget %d exceeds the pool's %d superpixels; taking all",
                        budget, m)
        pick = rng.choice(m, size=min(budget, m), replace=False)
        image = sp.image_of_ids(pick)
        size = np.zeros(len(pick), np.int64)
        for a, b in blocks.image_blocks(sp.sp_offset):
            lo, hi = int(sp.sp_offset[a]), int(sp.sp_offset[b])
            sel = np.flatnonzero((pick >= lo) & (pick < hi))
            size[sel] = sp.area[lo:hi][pick[sel] - lo]
        names = sp.names
    table = pd.DataFrame({
        "query": np.arange(len(pick)), "round": 0, "region": pick, "image": image,
        "image_name": names[image], "n_base": 1, "size": size, "score": np.nan,
        "uncertainty": np.nan, "predicted": -1})
    table.attrs = {}
    artifacts.write_csv(out, table[QUERY_COLUMNS])
    return table
