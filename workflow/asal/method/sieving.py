"""Sieving (eq. 8-9): drop the pixels of a labelled region where the model doubts its label.

The threshold phi(s) is the knee (Kneedle) of the sorted confidences of the region's label,
so it adapts to each region instead of a global cut.

The knee search is asal's own, written to give what the `kneed` package gave up to 0.8.5,
the versions the authors ran (their code predates 0.8.6). kneed 0.8.6 changed the search
(detection pauses after a local minimum until the next maximum), so the installed kneed
cannot be relied on for the authors' knees; `KNEE_SEARCH` names the search in the sieve
artifact's provenance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from ..experiment.settings import defaults

KNEE_SEARCH = "Kneedle as in kneed 0.8.5 (the authors' version): concave, increasing, offline"


_DEFAULTS = defaults("sieve")
THRESHOLDS = ("kneedle", "none")  # named thresholds; a number is a fixed phi
SCOPES = ("all", "new")


@dataclass(frozen=True)
class SieveSpec:
    """Sieving settings (config `sieve`; defaults from the schema)."""

    threshold: str | float = _DEFAULTS["threshold"]  # kneedle | none | fixed phi (Table 6)
    n_points: int = _DEFAULTS["n_points"]  # points of the sorted curve (authors: N // 20)
    min_size: int | None = _DEFAULTS["min_size"]  # smaller regions kept whole; None: see below
    scope: str = _DEFAULTS["scope"]  # all: every region queried so far (eq. 9); new: this round's
    sensitivity: float = _DEFAULTS["sensitivity"]  # Kneedle S

    def __post_init__(self):
        if isinstance(self.threshold, str):
            if self.threshold not in THRESHOLDS:
                raise ValueError(f"sieve.threshold {self.threshold!r}: use kneedle, none or a "
                                 "number in [0, 1]")
        elif not 0.0 <= float(self.threshold) <= 1.0:
            raise ValueError(f"sieve.threshold {self.threshold}: a fixed phi must be in [0, 1]")
        if self.scope not in SCOPES:
            raise ValueError(f"sieve.scope {self.scope!r}: use one of {SCOPES}")
        if self.n_points < 3:
            raise ValueError(f"sieve.n_points {self.n_points}: Kneedle needs at least 3")

    @property
    def active(self) -> bool:
        """Whether regions are sieved at all (threshold none keeps every labelled pixel)."""
        return self.threshold != "none"

    def for_superpixels(self, attrs: dict) -> "SieveSpec":
        """min_size None resolved for the superpixels it sieves: twice their target size
        (the authors sieve regions of 512 px and more at 256), or twice the mean size for
        superpixels made without a target (the ground truth's components)."""
        if self.min_size is not None:
            return self
        size = attrs.get("target_size") or round(float(attrs["achieved_mean_size"]))
        return replace(self, min_size=2 * int(size))

    def as_dict(self) -> dict:
        return asdict(self)


def knee_index(y: np.ndarray, sensitivity: float = 1.0) -> int | None:
    """Index of the knee of y (concave, increasing, evenly spaced x = 0..n-1), or None.

    Kneedle as kneed 0.8.5 runs it (interp1d, offline: the first knee found):
    normalise x and y to [0, 1]; difference curve D = y_n - x_n; local maxima and minima
    of D (each point compared with its neighbours, an end point with itself on the
    outside, ties counting as both); walk D from its first maximum: at a maximum the
    threshold becomes D(max) - S * mean step of x_n, at a minimum it becomes 0; the first
    point whose successor drops below the threshold's is the knee (the last maximum seen).
    """
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    if n < 2:
        return None
    x_n = np.arange(n) / (n - 1)
    y_n = (y - y.min()) / (y.max() - y.min())
    d = y_n - x_n
    left = np.concatenate([d[:1], d[:-1]])
    right = np.concatenate([d[1:], d[-1:]])
    is_max = (d >= left) & (d >= right)
    is_min = (d <= left) & (d <= right)
    maxima = np.flatnonzero(is_max)
    if not len(maxima):
        return None
    tmx = d[maxima] - sensitivity * np.abs(np.diff(x_n).mean())
    threshold, at, k = 0.0, None, 0
    for i in range(int(maxima[0]), n - 1):
        if is_max[i]:
            threshold, at, k = tmx[k], i, k + 1
        if is_min[i]:
            threshold = 0.0
        if d[i + 1] < threshold:
            return at
    return None


def kneedle_threshold(confidence: np.ndarray, n_points: int = 20,
                      sensitivity: float = 1.0) -> float:
    """phi(s): the confidence at the knee of the ascending sorted curve, sampled as the
    authors do (every (N // n_points)-th value, the minimum included). No knee keeps all."""
    curve = np.sort(np.asarray(confidence, dtype=np.float64))
    stride = max(1, len(curve) // n_points)
    y = curve[::stride]
    if len(y) < 3 or y[0] == y[-1]:
        return float(curve[0])
    knee = knee_index(y, sensitivity)
    return float(y[0] if knee is None else y[knee])


def region_threshold(confidence: np.ndarray, spec: SieveSpec) -> float:
    """The cut for one region under the configured rule; -inf keeps every pixel."""
    if not spec.active or len(confidence) < spec.min_size:
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
