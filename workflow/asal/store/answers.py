"""The oracle's answers of a round (answers.csv) and the labelled set they make
(labelled.h5): written by the same code for the simulated oracle (stage query) and the
human one (stage annotate), so both give the same files."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from . import artifacts, blocks
from .artifacts import ArtifactError, provenance

log = logging.getLogger(__name__)


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
                  extra_attrs: dict | None = None, label_set: np.ndarray | None = None,
                  clicks: np.ndarray | None = None, prev_answers: int | None = None
                  ) -> pd.DataFrame:
    """The given answer of each query -> answers.csv and labelled.h5 (the previous labelled
    set with this round's members added). Shared by the simulated and the human oracle, so
    both write the same format; `extra_columns` / `extra_attrs` add provenance only.

    `answer` is each query's label (void: C). An answer type that may name several classes
    also gives `label_set` (bit masks, asal.method.answers) and `clicks` (what each answer
    cost); the labelled set then keeps the sets in a column of their own. Queries beyond
    len(answer) went unasked (the clicks ran out): they are neither labelled nor written."""
    n_classes = len(classes)
    answer = np.asarray(answer, np.int64)
    n = len(answer)
    queries = queries.iloc[:n]
    clicks = np.ones(n, np.int64) if clicks is None else np.asarray(clicks, np.int64)
    asked = member_q < n
    member_ids, member_q = member_ids[asked], member_q[asked]
    # Query ids number the answers of the labelled set from the first: the next id is the
    # answers so far (one click each unless an answer names several classes).
    prev_answers = prev_clicks if prev_answers is None else prev_answers
    qid = prev_answers + np.arange(n)
    clicks_total = prev_clicks + int(clicks.sum())
    attrs = provenance("query", superpixel_spec=superpixel_spec, classes=list(classes),
                       round=round, clicks_total=clicks_total, void_label=n_classes,
                       answers_total=prev_answers + n, **(extra_attrs or {}))
    columns = [("label", answer), ("query", qid), ("round", round)]
    if label_set is not None:
        columns.append(("label_set", np.asarray(label_set, np.int64)))
    with artifacts.table_writer(out_labelled, "query", attrs, m) as rows:
        if label_set is not None:
            rows.create("label_set", (m,), np.int64)
        for lo in range(0, m, block_rows):
            hi = min(m, lo + block_rows)
            a, b = np.searchsorted(member_ids, [lo, hi])
            ids, q = member_ids[a:b] - lo, member_q[a:b]
            for key, value in columns:
                if key == "label_set" and not prev.has("label_set"):
                    # earlier rounds answered one label: its set of one (0: unlabelled)
                    earlier = np.asarray(prev("label", lo, hi)).astype(np.int64)
                    block = np.where(earlier >= 0, np.left_shift(1, np.maximum(earlier, 0)), 0)
                else:
                    block = np.array(prev(key, lo, hi))
                block[ids] = value[q] if isinstance(value, np.ndarray) else value
                rows.put(key, lo, block)
        names = list(classes) + ["void"]
        more = {}
        if label_set is not None:  # a bit per label (asal.method.answers), read as names
            named = (np.asarray(label_set, np.int64)[:, None]
                     >> np.arange(n_classes + 1)) & 1
            more["label_names"] = ["+".join(names[c] for c in np.flatnonzero(row))
                                   for row in named]
        answers = queries.assign(query_id=qid, label=answer,
                                 label_name=[names[x] for x in answer], clicks=clicks,
                                 **more, **(extra_columns or {}))
        artifacts.write_csv(out_answers, answers)
    void = int((answer == n_classes).sum())
    log.info("query: %d answers for %d clicks this round (%d void-dominant, nothing learnt "
             "from them), %d clicks in total", n, int(clicks.sum()), void, clicks_total)
    return answers
