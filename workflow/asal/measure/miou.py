"""Segmentation accuracy: the confusion matrix over labelled pixels, per-class IoU and mIoU."""

from __future__ import annotations

import numpy as np

from ..data.labelmaps import VOID


def confusion(pred: np.ndarray, label: np.ndarray, n_classes: int) -> np.ndarray:
    valid = label != VOID
    idx = label[valid].astype(np.int64) * n_classes + pred[valid]
    return np.bincount(idx, minlength=n_classes ** 2).reshape(n_classes, n_classes)


def iou_from_confusion(conf: np.ndarray) -> np.ndarray:
    """Per-class IoU = TP / (TP + FP + FN) (rows: ground truth, columns: prediction).

    NaN (undefined) for a class with no ground-truth pixel, even where it is predicted: the
    field's convention (mmsegmentation's and HuggingFace's mean IoU), so that a class the
    evaluation split lacks is left out of the mean instead of counting as 0.
    """
    tp = np.diag(conf).astype(np.float64)
    present = conf.sum(1) > 0
    union = conf.sum(0) + conf.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(present, tp / np.maximum(union, 1), np.nan)


def mean_iou(iou: np.ndarray) -> float | None:
    """mIoU over the classes whose IoU is defined; None when none is."""
    defined = ~np.isnan(iou)
    return float(iou[defined].mean()) if defined.any() else None
