"""The worked example of docs/extending.md: one function for each of asal's extension points,
in a module of one's own, outside the asal package.

    acquire:  {function: my_extensions:uncertainty_times_size}
    merge:    {criterion: my_extensions:hellinger}
    answer:   {type: my_extensions:top_two}

Put the folder holding this file on PYTHONPATH (or install it as a package) where snakemake
and its jobs run.
"""

from __future__ import annotations

import numba
import numpy as np


def uncertainty_times_size(regions, pool):
    """Acquisition score: eq. 7 weighed by the log of the region's pixels, so that a click
    prefers the larger of two equally uncertain regions (a click costs the same whatever its
    size). `regions` holds one row per candidate region (count, u, entropy, dominant, n_base,
    void); `pool` the pool-wide p(c) (prior_pixels, prior_regions), the u range and the
    settings. Return one number per region: the highest are asked first."""
    eq7 = regions.u * np.exp(-pool.prior_pixels[regions.dominant])
    return eq7 * np.log1p(regions.count)


@numba.njit
def hellinger(p, q):
    """Merging criterion: the Hellinger distance of two mean class distributions, in [0, 1].
    Merging compares it with merge.epsilon; it runs compiled inside the region growing, so it
    must be numba-compilable (plain loops and numpy on 1-D float arrays)."""
    total = 0.0
    for c in range(p.shape[0]):
        d = np.sqrt(p[c]) - np.sqrt(q[c])
        total += d * d
    return np.sqrt(0.5 * total)


def top_two(hist, spec):
    """Answer type: the dominant label, and the runner-up class too where it covers at least
    30% of the region, at a click per class named. `hist` holds the ground-truth pixel counts
    of the queried regions, (n, C+1), void last. Return each answer's label set as a bit mask
    (bit c: class c, bit C: void) and its clicks (at least 1)."""
    n_classes = hist.shape[1] - 1
    order = np.argsort(-hist, axis=1, kind="stable")
    first, second = order[:, 0], order[:, 1]
    share = hist[np.arange(len(hist)), second] / np.maximum(hist.sum(axis=1), 1)
    both = (share >= 0.3) & (first < n_classes) & (second < n_classes)
    label_set = np.left_shift(1, first) | np.where(both, np.left_shift(1, second), 0)
    return label_set.astype(np.int64), np.where(both, 2, 1)
