"""Acquisition (eq. 4-7): score every candidate region and pick the top B.

Works on region statistics only (sums of base superpixel rows), never on ground truth.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..experiment.settings import defaults


@dataclass(frozen=True)
class Function:
    """What an acquisition function scores: `value` ranks regions ("u": mean BvSB
    uncertainty u(s), normalised as `normalize` says; "entropy": mean entropy; None: all
    equal, so the seeded tie-break draws uniformly), and `balance` weighs it by
    exp(-p(D(s))), p(c) the share of pool "pixels" or of "regions" predicted c (None: no
    class term)."""

    value: str | None
    balance: str | None = None


FUNCTIONS = {
    "classbal_pixel": Function("u", "pixels"),  # eq. 7 (the paper)
    "classbal_superpixel": Function("u", "regions"),  # ClassBal (Cai et al. 2021)
    "bvsb": Function("u"),
    "entropy": Function("entropy"),
    "random": Function(None),
}
NORMALIZE = ("none", "minmax", "authors")
_DEFAULTS = defaults("acquire")


@dataclass(frozen=True)
class AcquireSpec:
    """Acquisition settings (config `acquire`; defaults from the schema)."""

    function: str = _DEFAULTS["function"]  # a key of FUNCTIONS
    # How u(s) enters the score. none: raw u(s), as eq. 7 (the paper). minmax: a true
    # min-max over the pool, (u - min) / (max - min). authors: u / max over the pool, then
    # the class weight exp(-p(c)) in float32: the authors' code min-max normalises a padded
    # per-image array whose padded and merged-away slots hold 0, so its minimum is 0.
    normalize: str = _DEFAULTS["normalize"]

    def __post_init__(self):
        if self.function not in FUNCTIONS:
            raise ValueError(f"acquire.function {self.function!r}: use one of "
                             f"{tuple(FUNCTIONS)}")
        if self.normalize not in NORMALIZE:
            raise ValueError(f"acquire.normalize {self.normalize!r}: use one of {NORMALIZE}")

    @property
    def scored(self) -> Function:
        return FUNCTIONS[self.function]

    def as_dict(self) -> dict:
        return asdict(self)


def dominant_prediction(pred_hist: np.ndarray) -> np.ndarray:
    """D_theta(s): the class predicted at most of the region's pixels (ties: lowest class)."""
    return pred_hist.argmax(axis=1)


def class_prior(dominant: np.ndarray, weight: np.ndarray, n_classes: int) -> np.ndarray:
    """p(c): share of `weight` (pixels, or 1 per region) in regions whose D_theta is c."""
    total = weight.sum()
    mass = np.bincount(dominant, weights=weight, minlength=n_classes)
    return mass / total if total > 0 else mass


def scores(region_stats: dict, spec: AcquireSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Acquisition score a(s), mean uncertainty u(s) and D_theta(s) of every region."""
    count = region_stats["count"].astype(np.float64)
    safe = np.maximum(count, 1.0)
    u = region_stats["u_sum"] / safe
    entropy = region_stats["entropy_sum"] / safe
    dominant = dominant_prediction(region_stats["pred_hist"])
    n_classes = region_stats["pred_hist"].shape[1]
    weight = count if spec.scored.balance == "pixels" else np.ones_like(count)
    prior = class_prior(dominant, weight, n_classes)
    u_range = (float(u.min()), float(u.max())) if len(u) else (0.0, 0.0)
    return pool_scores(u, entropy, dominant, spec, prior, u_range), u, dominant


def tiebreak_keys(ids: np.ndarray, seed: int) -> np.ndarray:
    """A seeded pseudo-random key per region id (splitmix64 of id and seed).

    A key depends on the region's id only, not on which other regions are looked at
    together, so a pool scored block by block breaks ties exactly as a pool scored at once.
    """
    with np.errstate(over="ignore"):
        z = np.asarray(ids, np.uint64) + np.uint64(seed % (1 << 64)) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def select_top(score: np.ndarray, candidate: np.ndarray, budget: int,
               keys: np.ndarray) -> np.ndarray:
    """Indices of the `budget` best candidates, best first; ties go by the seeded `keys`.

    Asks for more than there is spend what is left.
    """
    if budget < 0:
        raise ValueError(f"budget {budget} is negative")
    idx = np.flatnonzero(candidate)
    order = np.lexsort((keys[idx], -score[idx]))
    return idx[order[:budget]]


# Which per-region value orders regions *within* one predicted class. The class-balance
# factor exp(-p(c)) is the same for a whole class, and both normalisations are monotone, so
# the B best of the pool are among the B best of each class by this value alone; p(c) is only
# known once the whole pool has been seen.
def within_class_value(function: Function, u: np.ndarray, entropy: np.ndarray) -> np.ndarray:
    if function.value is None:
        return np.zeros_like(u)
    return {"u": u, "entropy": entropy}[function.value]


class PoolTopB:
    """The B best candidates of a pool streamed block by block, in memory O(classes x B).

    Feed every block's regions (candidates or not: p(c) and the u range count them
    all); `finish` applies the pool-wide p(c) and returns the top B as `scores` would have.
    Candidates gather in a buffer that is cut back to the B best of each class whenever it
    outgrows a few times that, so the sort runs a handful of times, not once per block; once
    a class holds B, a newcomer below its B-th best is dropped on arrival.
    """

    FIELDS = ("rep", "count", "u", "entropy", "dominant", "key", "n_base")

    def __init__(self, spec: AcquireSpec, n_classes: int, budget: int):
        self.spec, self.n_classes, self.budget = spec, n_classes, budget
        self.pixel_mass = np.zeros(n_classes)
        self.region_mass = np.zeros(n_classes)
        self.u_min, self.u_max = np.inf, -np.inf
        self.parts: list[dict] = []
        self.n_buffered = 0
        self.floor = np.full(n_classes, -np.inf)  # B-th best value of each full class
        self.n_candidates = 0

    def add(self, rows: dict, candidate: np.ndarray) -> None:
        """rows: rep, count, u, entropy, dominant, key, n_base of every region of a block."""
        count = rows["count"].astype(np.float64)
        self.pixel_mass += np.bincount(rows["dominant"], weights=count, minlength=self.n_classes)
        self.region_mass += np.bincount(rows["dominant"], minlength=self.n_classes)
        if len(rows["u"]):
            self.u_min = min(self.u_min, float(rows["u"].min()))
            self.u_max = max(self.u_max, float(rows["u"].max()))
        self.n_candidates += int(candidate.sum())
        value = within_class_value(self.spec.scored, rows["u"], rows["entropy"])
        # Ties with the floor stay: the seeded key decides them at the next cut.
        take = candidate & (value >= self.floor[rows["dominant"]])
        if take.any():
            self.parts.append({k: np.asarray(rows[k])[take] for k in self.FIELDS})
            self.n_buffered += int(take.sum())
        if self.n_buffered > 4 * self.n_classes * max(self.budget, 1):
            self._cut()

    def _cut(self) -> None:
        """Keep the B best of each class by (value, key); update the floors."""
        if not self.parts:
            return
        merged = {k: np.concatenate([p[k] for p in self.parts]) for k in self.FIELDS}
        value = within_class_value(self.spec.scored, merged["u"], merged["entropy"])
        order = np.lexsort((merged["key"], -value, merged["dominant"]))
        cls = merged["dominant"][order]
        rank = np.arange(len(order)) - np.searchsorted(cls, cls, side="left")
        keep = order[rank < self.budget]
        self.parts = [{k: v[keep] for k, v in merged.items()}]
        self.n_buffered = len(keep)
        full = np.bincount(merged["dominant"][keep], minlength=self.n_classes) >= self.budget
        last = order[rank == self.budget - 1]  # the B-th best of each full class
        self.floor[:] = -np.inf
        self.floor[merged["dominant"][last]] = value[last]
        self.floor[~full] = -np.inf

    def finish(self) -> tuple[dict, np.ndarray]:
        """(kept rows, their scores), the top B best first."""
        self._cut()
        kept = self.parts[0] if self.parts else {
            k: np.zeros(0, np.uint64 if k == "key" else np.int64) for k in self.FIELDS}
        score = pool_scores(kept["u"].astype(np.float64), kept["entropy"].astype(np.float64),
                            kept["dominant"], self.spec, self._prior(),
                            (self.u_min, self.u_max))
        pick = select_top(score, np.ones(len(score), bool), self.budget, kept["key"])
        return {k: v[pick] for k, v in kept.items()}, score[pick]

    def _prior(self) -> np.ndarray:
        mass = self.pixel_mass if self.spec.scored.balance == "pixels" else self.region_mass
        total = mass.sum()
        return mass / total if total > 0 else mass


def pool_scores(u: np.ndarray, entropy: np.ndarray, dominant: np.ndarray, spec: AcquireSpec,
                prior: np.ndarray, u_range: tuple[float, float]) -> np.ndarray:
    """a(s) from per-region means and pool-wide p(c) and u range (see `scores`)."""
    lo, hi = u_range
    if spec.normalize == "minmax" and len(u):
        u_used = (u - lo) / (hi - lo) if hi > lo else np.zeros_like(u)
    elif spec.normalize == "authors" and len(u):
        u_used = u / hi if hi > 0 else np.zeros_like(u)
    else:
        u_used = u
    function = spec.scored
    value = within_class_value(function, u_used, entropy)
    if function.balance is None:
        return value
    if spec.normalize == "authors":
        # Their weights: p(c) stored as float32, w = exp(-p) in float32, multiplied into
        # the float64 normalised uncertainty.
        weight = np.exp(-prior.astype(np.float32)).astype(np.float64)
    else:
        weight = np.exp(-prior)
    return value * weight[dominant]
