"""Rules evaluate and evaluate_full: mIoU of theta_t on the evaluation split, and (given the
round's labels) their quality and the round's ground-truth diagnostics. Evaluation side only:
nothing written here is read by a stage that chooses queries."""

from __future__ import annotations

import contextlib
import logging

import numpy as np
import pandas as pd

from .. import __version__
from ..data.datasets import Dataset, dataset_from
from ..measure.diagnostics import label_quality, query_summary
from ..measure.miou import confusion, iou_from_confusion, mean_iou
from ..progress import Progress
from ..store import artifacts, blocks
from ..store.round_tables import open_regions
from .arguments import add_dataset, add_device, add_features, run_stage

log = logging.getLogger(__name__)

HELP = "mIoU on the evaluation split"


def add_arguments(p) -> None:
    add_dataset(p)
    for a in ("--model", "--out", "--method"):
        p.add_argument(a, required=True)
    p.add_argument("--labelled", default=None, help="clicks so far; none for method Full")
    add_features(p)
    p.add_argument("--oracle-table", default=None, help="with --superpixels: diagnostics")
    p.add_argument("--merged", default=None, help="this round's merged regions")
    p.add_argument("--prev-stats", default=None, help="theta_{t-1}'s statistics")
    p.add_argument("--superpixels", default=None, help="with --sieved: label quality figures")
    p.add_argument("--sieved", default=None)
    p.add_argument("--answers", default=None, help="this round's answers: query figures")
    p.add_argument("--without-labels", action="store_true",
                   help="human oracle: skip, saying so, what needs labels that are absent")
    p.add_argument("--trial", type=int, required=True)
    p.add_argument("--round", type=int, default=None, help="none for method Full")
    add_device(p)


def main(args) -> dict:
    return run_stage(evaluate, args)


def evaluate(*, dataset: dict, model: str, method: str, trial: int, round: int | None,
             out: str, labelled: str | None = None, superpixels: str | None = None,
             sieved: str | None = None, answers: str | None = None,
             features: str | None = None, oracle_table: str | None = None,
             merged: str | None = None, prev_stats: str | None = None,
             without_labels: bool = False, device: str = "auto", threads: int = 0) -> dict:
    """mIoU on the evaluation split, plus (when given the round's labels) their quality and
    the round's diagnostics. Without a labelled set (method Full) no click was counted.

    `without_labels` (the human oracle): an evaluation split without labels, or none, skips
    evaluation with a line saying so, and a pool without labels skips the label quality."""
    from ..learning.inference import Predictor, torch_setup

    meta = {"method": method, "trial": trial, "round": round}
    dataset_cfg, model_path, labelled_path, sp_path = dataset, model, labelled, superpixels
    sieved_path, answers_path, features_path = sieved, answers, features
    oracle_path, merged_path, prev_stats_path = oracle_table, merged, prev_stats
    ds = dataset_from(dataset_cfg)
    if without_labels:
        skipped = _no_evaluation_labels(ds)
        if skipped is not None:
            return _metrics_without_evaluation(ds, labelled_path, meta, out, answers_path,
                                               skipped)
    dev = torch_setup(threads, device)
    ds.check_files(ds.evaluation, labels=True)
    conf = np.zeros((ds.n_classes, ds.n_classes), np.int64)
    progress = Progress("evaluate", len(ds.evaluation))
    with Predictor(model_path, ds, dev, features_path) as predictor:
        for k, probs in enumerate(predictor.probs(ds.evaluation)):
            conf += confusion(probs.argmax(0), ds.read_label(ds.evaluation[k]), ds.n_classes)
            progress(k + 1)
    iou = iou_from_confusion(conf)
    clicks = (int(artifacts.read_attrs(labelled_path)["clicks_total"])
              if labelled_path is not None else None)
    absent = [c for c, v in zip(ds.classes, iou) if np.isnan(v)]
    metrics = {
        **meta, "clicks": clicks, "miou": mean_iou(iou),
        "pixel_accuracy": float(np.trace(conf) / max(conf.sum(), 1)),
        "iou": {c: (None if np.isnan(v) else float(v)) for c, v in zip(ds.classes, iou)},
        # no ground-truth pixel in the evaluation split: IoU undefined, left out of miou
        "classes_absent": absent,
        "evaluation_split": ds.evaluation_split,
        "n_evaluation_images": len(ds.evaluation), "asal_version": __version__,
    }
    answers = artifacts.read_csv(answers_path) if answers_path is not None else None
    if answers is not None:
        metrics.update(query_summary(answers, list(ds.classes) + ["void"]))
    if sieved_path is not None and sp_path is not None:
        with artifacts.open_superpixels(sp_path) as sp:
            if without_labels and not all(ds.label_path(n).exists() for n in sp.names):
                log.info("evaluate: the pool has no labels; label purity and sieve recall "
                         "are not computed")
            else:
                keys = ("pixel", "label", "kept", "confidence") + (
                    ("label_set",) if artifacts.has_datasets(sieved_path, ("label_set",))
                    else ())
                sieved, _ = artifacts.read_table(sieved_path, "sieve", keys)
                metrics.update(label_quality(sp, sieved,
                                             lambda i: ds.read_label(sp.names[i])))
    if labelled_path is not None:
        metrics.update(annotation_time(labelled_path))
    if oracle_path is not None and sp_path is not None:
        metrics.update(round_diagnostics(sp_path, oracle_path, answers, merged_path,
                                         prev_stats_path))
    if absent:
        log.info("evaluate: %d classes have no ground-truth pixel in the evaluation split and "
                 "are left out of mIoU: %s", len(absent), ", ".join(absent))
    log.info("evaluate: mIoU %s after %s clicks",
             "undefined" if metrics["miou"] is None else f"{metrics['miou']:.4f}",
             "all (fully supervised)" if clicks is None else clicks)
    artifacts.write_json(out, metrics)
    return metrics


def round_diagnostics(sp_path: str, oracle_path: str, answers: pd.DataFrame | None,
                      merged_path: str | None = None, stats_path: str | None = None,
                      block_rows: int = blocks.DEFAULT_BLOCK_ROWS) -> dict:
    """Ground-truth diagnostics of one round, streamed over blocks of whole images: theta_{t-1}'s
    per-superpixel agreement with D(s) (from its statistics), the pixel-weighted purity of the
    pool's merged regions (and of its base superpixels, the no-merging reference), and each
    query's purity against its size."""
    from ..measure import diagnostics as dg

    with contextlib.ExitStack() as stack:
        sp = stack.enter_context(artifacts.open_superpixels(sp_path))
        gt, _ = stack.enter_context(artifacts.open_table(oracle_path, "oracle_table",
                                                         ("gt_hist",)))
        regions = stack.enter_context(open_regions(merged_path, sp.n_superpixels))
        stats = None
        if stats_path is not None:
            stats, _ = stack.enter_context(artifacts.open_table(stats_path, "predict",
                                                                ("pred_hist",)))
        asked = np.sort(answers["region"].to_numpy(np.int64)) if answers is not None else None
        asked_hist = np.zeros((0 if asked is None else len(asked), gt["gt_hist"].shape[1]),
                              np.int64)
        counts = np.zeros(6, np.int64)  # agree, counted, merged pure, merged px, base pure, px
        for a, b in blocks.image_blocks(sp.sp_offset, block_rows):
            lo, hi = int(sp.sp_offset[a]), int(sp.sp_offset[b])
            hist = np.asarray(gt["gt_hist"][lo:hi]).astype(np.int64)
            if stats is not None:
                counts[0:2] += dg.agreement_counts(stats["pred_hist"][lo:hi], hist)
            ids, region_hist = dg.region_histograms(regions("region", lo, hi), hist)
            counts[2:4] += dg.purity_counts(region_hist)
            counts[4:6] += dg.purity_counts(hist)
            if asked is not None and len(asked):
                pos = np.clip(np.searchsorted(asked, ids), 0, len(asked) - 1)
                hit = asked[pos] == ids
                asked_hist[pos[hit]] += region_hist[hit]
    out = {
        "model_agreement": counts[0] / counts[1] if stats is not None and counts[1] else None,
        "merged_purity": counts[2] / counts[3] if counts[3] else None,
        "base_purity": counts[4] / counts[5] if counts[5] else None,
    }
    if answers is not None:
        purity = dg.region_purity(asked_hist)
        order = np.searchsorted(asked, answers["region"].to_numpy(np.int64))
        out["query_purity"] = float(np.nanmean(purity)) if np.isfinite(purity).any() else None
        # [size in px, purity] of every query, for the purity-against-size plot
        out["queries_size_purity"] = [
            [int(z), None if np.isnan(p) else round(float(p), 4)]
            for z, p in zip(answers["size"].to_numpy(), purity[order])]
    return {k: (float(v) if isinstance(v, (np.floating, np.integer)) else v)
            for k, v in out.items()}


def annotation_time(labelled_path: str) -> dict:
    """Annotator seconds of a human oracle's labelled set (nothing for the simulated one)."""
    attrs = artifacts.read_attrs(labelled_path)
    if attrs.get("oracle") != "human":
        return {}
    return {"oracle": "human", "round_seconds": float(attrs.get("round_seconds", 0.0)),
            "annotation_seconds": float(attrs.get("seconds_total", 0.0))}


def _no_evaluation_labels(ds: Dataset) -> str | None:
    """Why there is nothing to evaluate on (no evaluation split, or it has no labels)."""
    split = ds.evaluation_split
    if not ds.evaluation:
        return f"no evaluation split (dataset.evaluation_split: {split})"
    missing = [n for n in ds.evaluation if not ds.label_path(n).exists()]
    if missing:
        return (f"the evaluation split {split!r} has no labels (e.g. {ds.label_path(missing[0])}"
                " is missing)")
    return None


def _metrics_without_evaluation(ds: Dataset, labelled_path: str, meta: dict, out: str,
                                answers_path: str | None, why: str) -> dict:
    """metrics.json of a round that cannot be evaluated: clicks and annotator time only."""
    clicks = int(artifacts.read_attrs(labelled_path)["clicks_total"])
    metrics = {**meta, "clicks": clicks, "miou": None, "pixel_accuracy": None, "iou": None,
               "evaluation_split": ds.evaluation_split,
               "n_evaluation_images": 0, "evaluation_skipped": why,
               "asal_version": __version__}
    if answers_path is not None:
        metrics.update(query_summary(artifacts.read_csv(answers_path),
                                     list(ds.classes) + ["void"]))
    metrics.update(annotation_time(labelled_path))
    log.info("evaluate: skipped, %s; metrics.json has the clicks (%d) and annotator time only",
             why, clicks)
    artifacts.write_json(out, metrics)
    return metrics
