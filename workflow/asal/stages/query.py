"""Rule query, simulated oracle: each query's dominant ground-truth label, added to the labelled
set (asal.store.answers writes the files, as for the human oracle)."""

from __future__ import annotations

import contextlib
import logging

import numpy as np
import pandas as pd

from ..data.datasets import dataset_from
from ..method import oracle
from ..store import artifacts, blocks
from ..store.answers import query_members, write_answers
from ..store.artifacts import ArtifactError
from ..store.round_tables import open_labelled, open_regions
from .arguments import add_dataset, add_inputs, run_stage

log = logging.getLogger(__name__)

HELP = "the oracle: dominant label of each query"


def add_arguments(p) -> None:
    add_dataset(p)
    add_inputs(p, "--queries", "--oracle-table", "--answers", "--labelled-out")
    add_inputs(p, "--merged", required=False)
    p.add_argument("--labelled", default=None, help="previous round's labelled set")
    p.add_argument("--round", type=int, required=True)


def main(args) -> pd.DataFrame:
    """The simulated oracle needs the dataset's class names only."""
    classes = list(dataset_from(vars(args).pop("dataset")).classes)
    return run_stage(query, args, classes=classes)


def query(*, queries: str, oracle_table: str, merged: str | None, labelled: str | None,
          classes: list[str], round: int, answers: str, labelled_out: str,
          block_rows: int = blocks.DEFAULT_BLOCK_ROWS) -> pd.DataFrame:
    """Ask the simulated oracle for each query's dominant label; add them to the labelled set.

    Two passes in row blocks: the first gathers each query's ground-truth histogram (and
    checks nothing is paid twice), the second writes the new labelled set; memory holds a
    block and the queried superpixels, not the pool.
    """
    queries_path, table_path = queries, oracle_table
    queries = artifacts.read_csv(queries_path)
    reps = queries["region"].to_numpy().astype(np.int64)
    with contextlib.ExitStack() as stack:
        table, tattrs = stack.enter_context(
            artifacts.open_table(table_path, "oracle_table", ("gt_hist",)))
        gt_hist = table["gt_hist"]
        m, n_classes = gt_hist.shape[0], gt_hist.shape[1] - 1
        if n_classes != len(classes):
            raise ArtifactError(f"{table_path}: histograms have {n_classes} classes, the "
                                f"dataset {len(classes)}; rerun oracle_table")
        regions = stack.enter_context(open_regions(merged, m))
        prev, pattrs = stack.enter_context(open_labelled(labelled, m))
        prev_clicks = int(pattrs["clicks_total"]) if pattrs is not None else 0
        member_ids, member_q, hist = query_members(queries_path, reps, regions, prev, m,
                                                    block_rows, gt_hist, n_classes)
        return write_answers(queries, oracle.dominant_label(hist), member_ids, member_q, prev,
                             prev_clicks, m, classes, tattrs["superpixel_spec"], round,
                             answers, labelled_out, block_rows)
