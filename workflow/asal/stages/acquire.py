"""Rule acquire: score every unlabelled region and pick the top B (eq. 4-7). Reads no ground
truth."""

from __future__ import annotations

import contextlib
import logging

import numpy as np
import pandas as pd

from ..experiment.seeds_and_shards import acquire_tie_seed
from ..method import acquisition, statistics
from ..progress import Progress
from ..store import artifacts, blocks
from ..store.round_tables import (
    QUERY_COLUMNS,
    block_stats,
    check_stats,
    open_labelled,
    open_regions,
)
from .arguments import add_inputs, add_spec, run_stage

log = logging.getLogger(__name__)

HELP = "score regions and pick the top B"


def add_arguments(p) -> None:
    add_spec(p, acquisition.AcquireSpec)
    add_inputs(p, "--superpixels", "--stats", "--out")
    add_inputs(p, "--merged", "--labelled", required=False)
    for a in ("--budget", "--seed", "--trial", "--round"):
        p.add_argument(a, type=int, required=True)


def main(args) -> pd.DataFrame:
    return run_stage(acquire, args)


# What scoring reads: no class probabilities (a fifth of the predict file's bytes remain); the
# void output's sums where the model has one.
ACQUIRE_KEYS = ("count", "u_sum", "entropy_sum", "pred_hist")


def acquire(*, superpixels: str, stats: str, merged: str | None, labelled: str | None,
            spec: acquisition.AcquireSpec, budget: int, seed: int, trial: int, round: int,
            out: str, block_rows: int = blocks.DEFAULT_BLOCK_ROWS) -> pd.DataFrame:
    """Top-B regions by the acquisition score. Reads no ground truth.

    Two passes over the pool in blocks of whole images (a region never spans two images):
    the first sums what a score needs of the whole pool (p(c), the range of u), the second
    scores each block's regions and keeps the B best; memory holds a block and B rows.
    """
    if budget <= 0:
        raise ValueError(f"budget {budget}: each round must ask at least one query")
    tie_seed = acquire_tie_seed(seed, trial, round)
    sp_path, stats_path = superpixels, stats
    with contextlib.ExitStack() as stack:
        sp = stack.enter_context(artifacts.open_superpixels(sp_path))
        m = sp.n_superpixels
        # v(s) for the score functions, where the model has a void output
        with_void = artifacts.has_datasets(stats_path, ("void_sum",))
        if spec.uses_void and not with_void:
            raise artifacts.ArtifactError(
                f"{stats_path}: no void_sum column: acquire.function void_aware needs a model "
                "with a void output (train.model feature_head, trained by this version); "
                "rerun train and predict")
        keys = ACQUIRE_KEYS + (("void_sum",) if with_void else ())
        stats, sattrs = stack.enter_context(artifacts.open_table(stats_path, "predict", keys))
        check_stats(stats_path, sattrs, stats["count"].shape[0], sp, sp_path)
        regions = stack.enter_context(open_regions(merged, m))
        labelled, _ = stack.enter_context(open_labelled(labelled, m))
        summary = acquisition.PoolSummary(stats["pred_hist"].shape[1])
        top = acquisition.TopB(budget)

        def block_regions(a, b):
            lo, hi = int(sp.sp_offset[a]), int(sp.sp_offset[b])
            reps, group = np.unique(regions("region", lo, hi), return_inverse=True)
            region_stats = statistics.sum_rows(block_stats(stats, lo, hi, keys), group,
                                               len(reps))
            region_stats["n_base"] = np.bincount(group, minlength=len(reps))
            # A region holding any labelled base superpixel is never asked again (merging
            # keeps labelled ones apart; this also covers regions from other merge rules).
            taken = labelled("label", lo, hi) >= 0
            candidate = np.bincount(group, weights=taken, minlength=len(reps)) == 0
            return reps, acquisition.regions_from_stats(region_stats), candidate

        progress = Progress("acquire: the pool", sp.n_images)
        for a, b in blocks.image_blocks(sp.sp_offset, block_rows):
            _, rows, candidate = block_regions(a, b)
            summary.add(rows, candidate)
            progress(b)
        pool = summary.pool(spec)
        progress = Progress("acquire: scores", sp.n_images)
        for a, b in blocks.image_blocks(sp.sp_offset, block_rows):
            reps, rows, candidate = block_regions(a, b)
            score = acquisition.checked_scores(spec, rows, pool)
            top.add({"rep": reps, "count": rows.count, "u": rows.u, "dominant": rows.dominant,
                     "key": acquisition.tiebreak_keys(reps, tie_seed), "n_base": rows.n_base},
                    score, candidate)
            progress(b)
        names = sp.names
        image_of = sp.image_of_ids
    if budget > summary.n_candidates:
        log.warning("budget %d exceeds the %d regions left unlabelled; spending %d", budget,
                    summary.n_candidates, summary.n_candidates)
    kept, score = top.finish()
    if not len(score):
        kept = {k: np.zeros(0, np.int64) for k in ("rep", "count", "u", "dominant", "n_base")}
    image = image_of(kept["rep"])
    table = pd.DataFrame({
        "query": np.arange(len(score)), "round": round, "region": kept["rep"], "image": image,
        "image_name": names[image], "n_base": kept["n_base"], "size": kept["count"],
        "score": score, "uncertainty": kept["u"], "predicted": kept["dominant"]})
    artifacts.write_csv(out, table[QUERY_COLUMNS])
    return table
