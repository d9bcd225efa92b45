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


# Pixels per block of superpixel_statistics: the block's temporaries (a few MB) stay in cache
# and are reused, instead of full-image (C, H, W) float64 copies (320 MB at 19 x 1024 x 2048).
_BLOCK = 1 << 15
_TINY = np.finfo(np.float64).tiny


def _top2(blk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best and second-best value of each column of blk (C, m): the values np.partition
    would pick (a tie at the top gives second == best), without sorting or copying blk."""
    if blk.shape[0] == 1:
        return blk[0].copy(), np.zeros_like(blk[0])
    best = np.maximum(blk[0], blk[1])
    second = np.minimum(blk[0], blk[1])
    tmp = np.empty_like(best)
    for c in range(2, blk.shape[0]):
        np.minimum(best, blk[c], out=tmp)
        np.maximum(second, tmp, out=second)
        np.maximum(best, blk[c], out=best)
    return best, second


def _first_argmax(blk: np.ndarray, best: np.ndarray, out: np.ndarray) -> None:
    """out = argmax over axis 0 with np.argmax's tie rule (the first class reaching `best`):
    the number of leading classes below the best. Byte-wide work, no transposed copy."""
    out[...] = 0
    below = np.ones(blk.shape[1], bool)
    lt = np.empty(blk.shape[1], bool)
    step = below.view(np.uint8) if out.dtype == np.uint8 else below
    for c in range(blk.shape[0] - 1):
        np.less(blk[c], best, out=lt)
        below &= lt
        out += step


def _entropy(blk: np.ndarray) -> np.ndarray:
    """pixel_entropy of blk (C, m), in blk's dtype."""
    lg = np.clip(blk, 1e-12, 1.0)
    np.log(lg, out=lg)
    lg *= blk
    return -lg.sum(axis=0)


def superpixel_statistics(probs: np.ndarray, local_map: np.ndarray, n_superpixels: int) -> dict:
    """Sums over each superpixel of one image: pixel count, class probabilities, u(x),
    entropy and a histogram of the predicted class.

    probs: (C, H, W) class probabilities; local_map: (H, W) ids in [0, n_superpixels).
    Sums are float64 and counts int64 whatever the input. float32 probabilities (what predict
    gives) are not copied to float64: u(x) is their exact float64 ratio, the per-pixel
    entropy is computed in float32 (relative difference ~1e-7 from a float64 computation, the
    precision the float32 probabilities carry anyway); float64 input is computed in float64.

    How: the image is walked in blocks of pixels; in each block the per-pixel top-2, argmax
    and entropy come from a few vectorised passes over the C rows, and the C + 2 summed
    quantities are first added up over runs of equal ids along the rows (np.add.reduceat;
    SEEDS superpixels give runs of ~10 pixels), then the run sums per superpixel with one
    bincount each. The result differs from a pixel-by-pixel float64 sum only in summation
    order (relative ~1e-15).
    """
    probs = np.asarray(probs)
    if probs.dtype != np.float32:
        probs = probs.astype(np.float64, copy=False)
    n_classes = probs.shape[0]
    flat = probs.reshape(n_classes, -1)
    ids = np.asarray(local_map).ravel().astype(np.intp, copy=False)
    n_pixels, n = ids.size, int(n_superpixels)
    if flat.shape[1] != n_pixels:
        raise ValueError(f"probabilities {probs.shape} and superpixel map {np.shape(local_map)} "
                         "cover different pixels")
    if n_pixels and (ids.min() < 0 or ids.max() >= n):
        raise ValueError(f"superpixel ids span [{ids.min()}, {ids.max()}], outside "
                         f"[0, {n}): the map does not belong to this superpixel count")
    width = n_classes + 2  # rows summed: C probabilities, u, entropy
    if n_pixels == 0:
        sums = np.zeros((n, width))
        pred = np.zeros(0, np.intp)
    else:
        breaks = ids[1:] != ids[:-1]
        breaks[_BLOCK - 1::_BLOCK] = True  # every block starts a run
        starts = np.flatnonzero(np.concatenate(([True], breaks)))
        block_starts = np.arange(0, n_pixels, _BLOCK)
        bounds = np.append(np.searchsorted(starts, block_starts), starts.size)
        pred = np.empty(n_pixels, np.uint8 if n_classes <= 255 else np.intp)
        run_sums = np.empty((width, starts.size))
        buf = np.empty((width, min(_BLOCK, n_pixels)))
        for j, a in enumerate(block_starts):
            b = min(a + _BLOCK, n_pixels)
            blk, rows = flat[:, a:b], buf[:, :b - a]
            best, second = _top2(blk)
            _first_argmax(blk, best, pred[a:b])
            rows[:n_classes] = blk
            best64 = best.astype(np.float64)
            np.maximum(best64, _TINY, out=best64)
            np.divide(second, best64, out=rows[n_classes])
            rows[n_classes + 1] = _entropy(blk)
            lo, hi = bounds[j], bounds[j + 1]
            np.add.reduceat(rows, starts[lo:hi] - a, axis=1, out=run_sums[:, lo:hi])
        run_ids = ids[starts]
        sums = np.stack([np.bincount(run_ids, weights=row, minlength=n) for row in run_sums],
                        axis=1)
    count = np.bincount(ids, minlength=n)
    pred_hist = np.bincount(ids * n_classes + pred, minlength=n * n_classes)
    return {
        "count": count.astype(np.int64),
        "prob_sum": np.ascontiguousarray(sums[:, :n_classes]),
        "u_sum": sums[:, n_classes].copy(),
        "entropy_sum": sums[:, n_classes + 1].copy(),
        "pred_hist": pred_hist.reshape(n, n_classes).astype(np.int64),
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
