"""Rule query, simulated oracle: each query's answer read from the ground truth (its dominant
label, or every class covering a set share of it: answer.type), added to the labelled set
(asal.store.answers writes the files, as for the human oracle)."""

from __future__ import annotations

import contextlib
import logging

import numpy as np
import pandas as pd

from ..data.datasets import dataset_from
from ..method.answers import AnswerSpec, answer_queries
from ..store import artifacts, blocks
from ..store.answers import query_members, write_answers
from ..store.artifacts import ArtifactError
from ..store.round_tables import open_labelled, open_regions
from .arguments import add_dataset, add_inputs, add_spec, run_stage

log = logging.getLogger(__name__)

HELP = "the oracle: the answer of each query, from the ground truth"


def add_arguments(p) -> None:
    add_dataset(p)
    add_spec(p, AnswerSpec)
    p.add_argument("--budget", type=int, default=None,
                   help="clicks of the round: queries are answered in order until they are "
                        "spent (default: every query, one click each at least)")
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
          spec: AnswerSpec = AnswerSpec(), budget: int | None = None,
          block_rows: int = blocks.DEFAULT_BLOCK_ROWS) -> pd.DataFrame:
    """Ask the simulated oracle for each query's answer, in acquisition order until `budget`
    clicks are spent; add them to the labelled set.

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
        prev_answers = int(pattrs.get("answers_total", prev_clicks)) if pattrs is not None \
            else 0
        member_ids, member_q, hist = query_members(queries_path, reps, regions, prev, m,
                                                    block_rows, gt_hist, n_classes)
        label_set, clicks, label, n = answer_queries(hist, spec, budget)
        if n < len(queries):
            log.info("query: the %d clicks were spent after %d of the %d queries; the rest go "
                     "unasked", budget, n, len(queries))
        if label_set is None and prev.has("label_set"):  # keep the earlier rounds' sets
            label_set = np.left_shift(np.int64(1), label)
        return write_answers(queries, label, member_ids, member_q, prev, prev_clicks, m,
                             classes, tattrs["superpixel_spec"], round, answers, labelled_out,
                             block_rows, label_set=label_set, clicks=clicks,
                             prev_answers=prev_answers)
