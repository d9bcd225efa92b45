"""Why a method did what it did, measured against ground truth on the evaluation side only:
nothing here is read by merge or acquire.

Every function takes one block of whole images of the per-superpixel tables (rows of base
superpixels; a merged region never crosses an image), so the pool streams through in blocks.
Ground-truth histograms have the classes first and void last.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..method.answers import MAX_CLASSES

if TYPE_CHECKING:
    import pandas as pd


def dominant_labels(gt_hist: np.ndarray) -> np.ndarray:
    """D(s): the most frequent ground-truth label, void (index C) included, lowest index on
    ties (the oracle's rule)."""
    return np.asarray(gt_hist).argmax(1)


def agreement_counts(pred_hist: np.ndarray, gt_hist: np.ndarray) -> tuple[int, int]:
    """(superpixels whose predicted dominant class is D(s), superpixels with D(s) not void):
    a model's per-superpixel agreement with the oracle, void-dominant ones left out."""
    truth = dominant_labels(gt_hist)
    counted = truth != gt_hist.shape[1] - 1
    agree = np.asarray(pred_hist).argmax(1) == truth
    return int((agree & counted).sum()), int(counted.sum())


def region_histograms(region: np.ndarray, gt_hist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Region ids present in the block and their summed ground-truth histograms."""
    ids, inverse = np.unique(region, return_inverse=True)
    hist = np.zeros((len(ids), gt_hist.shape[1]), np.int64)
    np.add.at(hist, inverse, gt_hist)
    return ids, hist


def purity_counts(hist: np.ndarray) -> tuple[int, int]:
    """(pixels carrying their region's dominant class, class pixels) over regions, void pixels
    left out: summed over blocks, their ratio is the pixel-weighted purity of the regions."""
    classes = hist[:, :-1]
    return int(classes.max(1, initial=0).sum()), int(classes.sum())


def region_purity(hist: np.ndarray) -> np.ndarray:
    """Per region: share of its class pixels carrying its dominant class (NaN if all void)."""
    classes = hist[:, :-1].astype(np.float64)
    total = classes.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, classes.max(1, initial=0) / total, np.nan)


def sieve_quality(right: np.ndarray, kept: np.ndarray, confidence: np.ndarray) -> dict:
    """Sieving as a classifier of wrong labels: the share of wrong labelled pixels it removes
    (its precision at its task) and of right ones it keeps (its recall), and the model's mean
    confidence in the given label on right and on wrong pixels (where it was computed)."""
    right, kept = np.asarray(right, bool), np.asarray(kept, bool)
    confidence = np.asarray(confidence, np.float64)
    wrong = ~right
    seen = np.isfinite(confidence)

    def share(num, den):
        return float(num) / float(den) if den else None

    def mean(sel):
        return float(confidence[sel].mean()) if sel.any() else None

    return {
        "sieve_removed_wrong": share((wrong & ~kept).sum(), wrong.sum()),
        "sieve_kept_right": share((right & kept).sum(), right.sum()),
        "confidence_right": mean(right & seen),
        "confidence_wrong": mean(wrong & seen),
    }


def label_quality(sp, sieved: dict, labels_of) -> dict:
    """How right the labels given to training are, measured against ground truth.

    Evaluation side only: nothing here is fed back to acquisition. `labels_of(i)` returns the
    ground-truth map of pool image i.
    """
    pixel, label, kept = sieved["pixel"], sieved["label"], sieved["kept"].astype(bool)
    image = np.searchsorted(sp.pixel_offset, pixel, side="right") - 1
    truth = np.empty(len(pixel), np.int64)
    for i in np.unique(image):
        sel = image == i
        truth[sel] = labels_of(int(i)).ravel()[pixel[sel] - sp.pixel_offset[i]]
    if "label_set" in sieved:  # a multi-class answer is right where the truth is in its set
        inside = (truth >= 0) & (truth <= MAX_CLASSES)
        right = np.zeros(len(pixel), bool)
        right[inside] = ((np.asarray(sieved["label_set"], np.int64)[inside]
                          >> truth[inside]) & 1).astype(bool)
    else:
        right = truth == label
    n, n_kept, n_right = len(pixel), int(kept.sum()), int(right.sum())
    confidence = sieved.get("confidence", np.full(n, np.nan))
    return {
        **sieve_quality(right, kept, confidence),
        "labelled_pixels": n,
        "kept_pixels": n_kept,
        # share of labelled pixels whose oracle label is right (the dominant-label noise)
        "label_purity": n_right / n if n else None,
        # the same among the pixels that sieving kept
        "sieved_purity": int((right & kept).sum()) / n_kept if n_kept else None,
        # share of the right pixels that sieving kept
        "sieve_recall": int((right & kept).sum()) / n_right if n_right else None,
    }


def query_summary(answers: pd.DataFrame, names: list[str]) -> dict:
    """This round's queries: how large they were, which label the oracle gave them, what they
    cost (a multi-class answer costs a click per class named) and how many were void.
    `names` are the classes then void."""
    counts = answers["label"].value_counts()
    clicks = answers["clicks"] if "clicks" in answers else np.ones(len(answers), np.int64)
    return {
        "round_clicks": int(clicks.sum()),
        "round_queries": int(len(answers)),
        # clicks on answers of void (one each): paid, and teaching the classes nothing
        "clicks_on_void": int((answers["label"] == len(names) - 1).sum()),
        "mean_query_size": float(answers["size"].mean()) if len(answers) else None,
        "mean_query_base_superpixels": float(answers["n_base"].mean()) if len(answers) else None,
        "queries_per_class": {name: int(counts.get(k, 0)) for k, name in enumerate(names)},
        "clicks_per_answer": (float(clicks.sum()) / len(answers) if len(answers) else None),
    }
