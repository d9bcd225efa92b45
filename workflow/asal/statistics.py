"""Per-superpixel sufficient statistics of a model's prediction.

One forward pass per round reduces each image's probabilities to a few numbers per base
superpixel. Merging and acquisition then need neither the model nor the pixels: the statistics
of a union of base superpixels are the sums of its members' rows.
"""

from __future__ import annotations

import numpy as np

STAT_KEYS = ("count", "prob_sum", "u_sum", "entropy_sum", "pred_hist")


def pixel_uncertainty(probs: np.ndarray) -> np.ndarray:
    """u(x) = second-best / best class probability (eq. 4); probs is (C, ...)."""
    top2 = -np.partition(-probs, 1, axis=0)[:2]
    return top2[1] / np.maximum(top2[0], np.finfo(np.float64).tiny)


def pixel_entropy(probs: np.ndarray) -> np.ndarray:
    """Shannon entropy (natural log) of each pixel's class distribution."""
    p = np.clip(probs, 1e-12, 1.0)
    return -(probs * np.log(p)).sum(axis=0)


def superpixel_statistics(probs: np.ndarray, local_map: np.ndarray, n_superpixels: int) -> dict:
    """Sums over each superpixel of one image: pixel count, class probabilities, u(x),
    entropy and a histogram of the predicted class.

    probs: (C, H, W) class probabilities; local_map: (H, W) ids in [0, n_superpixels).
    """
    n_classes = probs.shape[0]
    ids = local_map.ravel()
    flat = probs.reshape(n_classes, -1).astype(np.float64)
    count = np.bincount(ids, minlength=n_superpixels)
    prob_sum = np.stack([np.bincount(ids, weights=flat[c], minlength=n_superpixels)
                         for c in range(n_classes)], axis=1)
    u_sum = np.bincount(ids, weights=pixel_uncertainty(flat), minlength=n_superpixels)
    entropy_sum = np.bincount(ids, weights=pixel_entropy(flat), minlength=n_superpixels)
    pred = flat.argmax(axis=0)
    pred_hist = np.bincount(ids * n_classes + pred, minlength=n_superpixels * n_classes)
    return {
        "count": count.astype(np.int64),
        "prob_sum": prob_sum,
        "u_sum": u_sum,
        "entropy_sum": entropy_sum,
        "pred_hist": pred_hist.reshape(n_superpixels, n_classes).astype(np.int64),
    }


def sum_rows(stats: dict, groups: np.ndarray, n_groups: int) -> dict:
    """Statistics of unions: row g of the result sums the rows whose group is g."""
    out = {}
    for key, value in stats.items():
        if value.ndim == 1:
            out[key] = np.bincount(groups, weights=value, minlength=n_groups)
        else:
            out[key] = np.stack([np.bincount(groups, weights=value[:, c], minlength=n_groups)
                                 for c in range(value.shape[1])], axis=1)
        if value.dtype.kind in "iu":
            out[key] = np.rint(out[key]).astype(np.int64)
    return out
