"""Sieving (eq. 8-9): drop the pixels of a labelled region where the model doubts its label.

The threshold phi(s) is the knee (Kneedle) of the sorted confidences of the region's label,
so it adapts to each region instead of a global cut.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
from kneed import KneeLocator


@dataclass(frozen=True)
class SieveSpec:
    threshold: str | float = "kneedle"  # kneedle | none | a fixed phi in [0, 1] (Table 6)
    n_points: int = 20  # points sampled from the sorted curve (authors: stride N // 20)
    min_size: int = 512  # regions smaller than this are kept whole
    scope: str = "all"  # all: re-sieve every region queried so far (eq. 9); new: this round's
    sensitivity: float = 1.0  # Kneedle S

    def __post_init__(self):
        if isinstance(self.threshold, str):
            if self.threshold not in ("kneedle", "none"):
                raise ValueError(f"sieve.threshold {self.threshold!r}: use kneedle, none or a "
                                 "number in [0, 1]")
        elif not 0.0 <= float(self.threshold) <= 1.0:
            raise ValueError(f"sieve.threshold {self.threshold}: a fixed phi must be in [0, 1]")
        if self.scope not in ("all", "new"):
            raise ValueError(f"sieve.scope {self.scope!r}: use all or new")
        if self.n_points < 3:
            raise ValueError(f"sieve.n_points {self.n_points}: Kneedle needs at least 3")

    def as_dict(self) -> dict:
        return asdict(self)


def kneedle_threshold(confidence: np.ndarray, n_points: int = 20,
                      sensitivity: float = 1.0) -> float:
    """phi(s): the confidence at the knee of the ascending sorted curve, sampled as the
    authors do (every (N // n_points)-th value, the minimum included). No knee keeps all."""
    curve = np.sort(np.asarray(confidence, dtype=np.float64))
    stride = max(1, len(curve) // n_points)
    y = curve[::stride]
    if len(y) < 3 or y[0] == y[-1]:
        return float(curve[0])
    x = np.arange(len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kneed warns when it finds no knee
        knee = KneeLocator(x, y, S=sensitivity, curve="concave", direction="increasing").knee
    return float(y[0] if knee is None else y[int(knee)])


def region_threshold(confidence: np.ndarray, spec: SieveSpec) -> float:
    """The cut for one region under the configured rule; -inf keeps every pixel."""
    if spec.threshold == "none" or len(confidence) < spec.min_size:
        return float("-inf")
    if spec.threshold == "kneedle":
        return kneedle_threshold(confidence, spec.n_points, spec.sensitivity)
    return float(spec.threshold)


def sieve_regions(confidence: np.ndarray, region: np.ndarray, n_regions: int,
                  spec: SieveSpec) -> tuple[np.ndarray, np.ndarray]:
    """Keep mask of labelled pixels and the threshold of every region.

    confidence[k] = f_theta(D(s); x_k) for labelled pixel k of region region[k]. The knee is
    found region by region (Kneedle is sequential); the masking is one vectorised compare.
    """
    thresholds = np.full(n_regions, -np.inf)
    order = np.argsort(region, kind="stable")
    bounds = np.searchsorted(region[order], np.arange(n_regions + 1))
    for r in range(n_regions):
        members = order[bounds[r]:bounds[r + 1]]
        if len(members):
            thresholds[r] = region_threshold(confidence[members], spec)
    # A region kept whole (-inf) keeps even pixels whose confidence was never computed (NaN).
    cut = thresholds[region]
    return np.isneginf(cut) | (confidence >= cut), thresholds
