"""Rule query, simulated oracle: each query's dominant ground-truth label, added to the labelled
set. `query_members` and `write_answers` are shared with the human oracle (stage annotate), so
both write the same answers.csv and labelled.h5."""

from __future__ import annotations

import contextlib
import logging

import numpy as np
import pandas as pd

from ..data.datasets import dataset_from
from ..method import oracle
from ..store import artifacts, blocks
from ..store.artifacts import ArtifactError, provenance
from ..store.round_tables import open_labelled, open_regions
from .arguments import add_dataset

log = logging.getLogger(__name__)

HELP = "the oracle: dominant label of each query"


def add_arguments(p) -> None:
    add_dataset(p)
    for a in ("--queries", "--oracle-table", "--answers", "--labelled-out"):
        p.add_argument(a, required=True)
    p.add_argument("--merged", default=None)
    p.add_argument("--labelled", default=None, help="previous round's labelled set")
    p.add_argument("--round", type=int, required=True)


def main(args) -> pd.DataFrame:
    classes = list(dataset_from(args.dataset).classes)
    return query(args.queries, args.oracle_table, args.merged, args.labelled, classes,
                 args.round, args.answers, args.labelled_out)


def query_members(queries_path: str, reps: np.ndarray, regions, prev, m: int,
                   block_rows: int, gt_hist=None, n_classes: int = 0):
    """Base superpixels of every query: (global ids, query index), sorted by id; with
    `gt_hist` also each query's ground-truth histogram. Refuses a query that covers a
    superpixel labelled in an earlier round (nothing is paid twice)."""
    by_rep = np.argsort(reps)
    sorted_reps = reps[by_rep]
    hist = np.zeros((len(reps), n_classes + 1), np.int64) if gt_hist is not None else None
    member_ids, member_q = [], []
    for lo in range(0, m, block_rows):
        hi = min(m, lo + block_rows)
        region = regions("region", lo, hi)
        pos = np.clip(np.searchsorted(sorted_reps, region), 0, max(len(reps) - 1, 0))
        inside = np.flatnonzero(sorted_reps[pos] == region) if len(reps) else \
            np.zeros(0, np.int64)
        q = by_rep[pos[inside]]
        if (prev("label", lo, hi)[inside] >= 0).any():
            raise ArtifactError(f"{queries_path}: a query covers superpixels labelled in "
                                "an earlier round; rerun acquire")
        if hist is not None and len(inside):
            block_hist = np.asarray(gt_hist[lo:hi])[inside].astype(np.int64)
            np.add.at(hist, q, block_hist)
        member_ids.append(lo + inside)
        member_q.append(q)
    member_ids = np.concatenate(member_ids) if member_ids else np.zeros(0, np.int64)
    member_q = np.concatenate(member_q) if member_q else np.zeros(0, np.int64)
    return member_ids, member_q, hist


def write_answers(queries: pd.DataFrame, answer: np.ndarray, member_ids: np.ndarray,
                  member_q: np.ndarray, prev, prev_clicks: int, m: int, classes: list[str],
                  superpixel_spec, round: int, out_answers: str, out_labelled: str,
                  block_rows: int = blocks.DEFAULT_BLOCK_ROWS, extra_columns: dict | None = None,
                  extra_attrs: dict | None = None) -> pd.DataFrame:
    """The given answer of each query -> answers.csv and labelled.h5 (the previous labelled
    set with this round's members added). Shared by the simulated and the human oracle, so
    both write the same format; `extra_columns` / `extra_attrs` add provenance only."""
    n_classes = len(classes)
    answer = np.asarray(answer, np.int64)
    # One click per query, numbered from the first: the next id is the clicks so far.
    qid = prev_clicks + np.arange(len(queries))
    clicks_total = prev_clicks + len(queries)
    attrs = provenance("query", superpixel_spec=superpixel_spec, classes=list(classes),
                       round=round, clicks_total=clicks_total, void_label=n_classes,
                       **(extra_attrs or {}))
    with artifacts.table_writer(out_labelled, "query", attrs, m) as rows:
        for lo in range(0, m, block_rows):
            hi = min(m, lo + block_rows)
            a, b = np.searchsorted(member_ids, [lo, hi])
            ids, q = member_ids[a:b] - lo, member_q[a:b]
            for key, value in (("label", answer[q]), ("query", qid[q]), ("round", round)):
                block = np.array(prev(key, lo, hi))
                block[ids] = value
                rows.put(key, lo, block)
        names = list(classes) + ["void"]
        answers = queries.assign(query_id=qid, label=answer,
                                 label_name=[names[x] for x in answer], clicks=1,
                                 **(extra_columns or {}))
        artifacts.write_csv(out_answers, answers)
    void = int((answer == n_classes).sum())
    log.info("query: %d clicks this round (%d void-dominant, nothing learnt from them), "
             "%d in total", len(answers), void, clicks_total)
    return answers


def query(queries_path: str, table_path: str, merged_path: str | None,
          prev_labelled_path: str | None, classes: list[str], round: int,
          out_answers: str, out_labelled: str,
          block_rows: int = blocks.DEFAULT_BLOCK_ROWS) -> pd.DataFrame:
    """Ask the simulated oracle for each query's dominant label; add them to the labelled set.

    Two passes in row blocks: the first gathers each query's ground-truth histogram (and
    checks nothing is paid twice), the second writes the new labelled set; memory holds a
    block and the queried superpixels, not the pool.
    """
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
        regions = stack.enter_context(open_regions(merged_path, m))
        prev, pattrs = stack.enter_context(open_labelled(prev_labelled_path, m))
        prev_clicks = int(pattrs["clicks_total"]) if pattrs is not None else 0
        member_ids, member_q, hist = query_members(queries_path, reps, regions, prev, m,
                                                    block_rows, gt_hist, n_classes)
        return write_answers(queries, oracle.dominant_label(hist), member_ids, member_q, prev,
                             prev_clicks, m, classes, tattrs["superpixel_spec"], round,
                             out_answers, out_labelled, block_rows)
