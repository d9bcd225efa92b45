"""Rule oracle_table: the ground-truth label histogram of every base superpixel, which the
simulated oracle and the diagnostics read (and nothing that chooses queries)."""

from __future__ import annotations

import logging

import numpy as np

from ..data.datasets import dataset_from
from ..method import oracle
from ..progress import Progress
from ..store import artifacts
from ..store.artifacts import ArtifactError, provenance
from ..store.round_tables import check_pool
from .arguments import add_dataset, add_inputs, run_stage

log = logging.getLogger(__name__)

HELP = "ground-truth histogram per base superpixel"


def add_arguments(p) -> None:
    add_dataset(p)
    add_inputs(p, "--superpixels", "--out")
    p.add_argument("--allow-absent-classes", action="store_true",
                   help="accept a pool whose labels lack a declared class "
                        "(dataset.allow_absent_classes)")


def main(args) -> None:
    run_stage(oracle_table, args)


def oracle_table(*, dataset: dict, superpixels: str, out: str,
                 allow_absent_classes: bool = False) -> None:
    """Ground-truth label histogram (void last) of every base superpixel, image by image.

    It reads every pool label, so it also refuses, before anything downstream runs, a pool in
    which a declared class never occurs (masks read with the wrong values, e.g. 0/255 masks
    whose 255 is taken for void), unless `allow_absent_classes`; the file is then not written.
    """
    from ..data.dataset_check import check_pool_classes

    ds = dataset_from(dataset)
    sp_path = superpixels
    with artifacts.open_superpixels(sp_path) as sp:
        check_pool(ds, sp, sp_path)
        ds.check_files(list(sp.names), labels=True)
        attrs = provenance("oracle_table", superpixel_spec=sp.attrs["superpixel_spec"],
                           classes=list(ds.classes))
        progress = Progress("oracle table", sp.n_images)
        totals = np.zeros(ds.n_classes + 1, np.int64)
        with artifacts.table_writer(out, "oracle_table", attrs, sp.n_superpixels,
                                    ds.n_classes) as rows:
            for i, name in enumerate(sp.names):
                label = ds.read_label(name)
                if label.shape != tuple(sp.shapes[i]):
                    raise ArtifactError(f"{ds.label_path(name)}: label is {label.shape} but "
                                        f"its superpixels are {tuple(sp.shapes[i])}")
                lo, hi = int(sp.sp_offset[i]), int(sp.sp_offset[i + 1])
                hist = oracle.label_histograms(label, sp.local_map(i), hi - lo, ds.n_classes)
                rows.put("gt_hist", lo, hist)
                totals += hist.sum(axis=0)
                progress(i + 1)
            warning = check_pool_classes(ds, totals, sp.n_images, allow_absent_classes)
            if warning:
                log.warning("%s (allowed: dataset.allow_absent_classes is true)", warning)
            log.info("oracle table: pool pixels per class %s, void %d",
                     dict(zip(ds.classes, totals[:-1].tolist())), int(totals[-1]))
