"""The simulated annotator: one click names the dominant ground-truth label of a region.

Only the oracle and evaluation read ground truth. Void is counted like any class (column C of
the histograms): a region that is mostly void costs its click and teaches nothing.
"""

from __future__ import annotations

import numpy as np


def label_histograms(label: np.ndarray, local_map: np.ndarray, n_superpixels: int,
                     n_classes: int, void: int = 255) -> np.ndarray:
    """(n_superpixels, C+1) ground-truth pixel counts per superpixel; column C is void."""
    lab = label.ravel().astype(np.int64)
    lab = np.where(lab == void, n_classes, lab)
    ids = local_map.ravel().astype(np.int64)
    hist = np.bincount(ids * (n_classes + 1) + lab, minlength=n_superpixels * (n_classes + 1))
    return hist.reshape(n_superpixels, n_classes + 1)


def dominant_label(hist: np.ndarray) -> np.ndarray:
    """D(s): the most frequent label, void included (value C); ties go to the lower label."""
    return hist.argmax(axis=1)


def purity(hist: np.ndarray) -> np.ndarray:
    """Share of a region's pixels that carry its dominant label."""
    total = hist.sum(axis=1)
    return hist.max(axis=1) / np.maximum(total, 1)
