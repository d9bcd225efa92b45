"""Rule merge: adaptive merging AM(S0, theta_{t-1}) of the base superpixels (eq. 2-3)."""

from __future__ import annotations

import contextlib
import logging

import numpy as np

from ..method import merging
from ..progress import Progress
from ..store import artifacts, blocks
from ..store.artifacts import provenance
from ..store.round_tables import block_stats, check_stats, open_labelled
from .arguments import add_inputs, add_spec, run_stage

log = logging.getLogger(__name__)

HELP = "adaptive merging of base superpixels"


def add_arguments(p) -> None:
    add_spec(p, merging.MergeSpec)
    add_inputs(p, "--superpixels", "--stats", "--out")
    add_inputs(p, "--labelled", required=False)


def main(args) -> None:
    run_stage(merge, args)


def merge(*, superpixels: str, stats: str, labelled: str | None, spec: merging.MergeSpec,
          out: str, block_rows: int = blocks.DEFAULT_BLOCK_ROWS) -> None:
    """Merged region (global id of its seed) of every base superpixel.

    Streams the pool in blocks of whole images (edges never cross images): memory follows
    the block size, not the pool.
    """
    sp_path, stats_path = superpixels, stats
    with contextlib.ExitStack() as stack:
        sp = stack.enter_context(artifacts.open_superpixels(sp_path))
        m = sp.n_superpixels
        stats, sattrs = stack.enter_context(
            artifacts.open_table(stats_path, "predict", ("count", "prob_sum", "u_sum")))
        check_stats(stats_path, sattrs, stats["count"].shape[0], sp, sp_path)
        labelled, _ = stack.enter_context(open_labelled(labelled, m))
        attrs = provenance("merge", spec.as_dict(), superpixel_spec=sp.attrs["superpixel_spec"])
        rows = stack.enter_context(artifacts.table_writer(out, "merge", attrs, m))
        progress = Progress(f"merge ({spec.mode})", sp.n_images)
        n_regions = 0
        for a, b in blocks.image_blocks(sp.sp_offset, block_rows):
            lo, hi = int(sp.sp_offset[a]), int(sp.sp_offset[b])
            block = block_stats(stats, lo, hi, ("count", "prob_sum", "u_sum"))
            count = np.maximum(block["count"], 1)
            image = np.repeat(np.arange(b - a), np.diff(sp.sp_offset[a:b + 1]))
            region = merging.merge_image(block["prob_sum"] / count[:, None],
                                         block["u_sum"] / count, sp.edges_of(a, b) - lo,
                                         labelled("label", lo, hi) >= 0, spec, image)
            n_regions += int((region == np.arange(hi - lo)).sum())  # one seed per region
            rows.put("region", lo, lo + region)
            progress(b)
        rows.attrs["n_regions"] = n_regions
    log.info("merge: %d base superpixels -> %d regions (%.2f per region)", m, n_regions,
             m / max(n_regions, 1))
