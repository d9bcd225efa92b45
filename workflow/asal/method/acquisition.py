"""Acquisition (eq. 4-7): score every candidate region and pick the top B.

Works on region statistics only (sums of base superpixel rows), never on ground truth.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from ..experiment.extensions import is_reference, resolve
from ..experiment.settings import defaults


@dataclass(frozen=True)
class Function:
    """What a built-in acquisition function scores: `value` ranks regions ("u": mean BvSB
    uncertainty u(s), normalised as `normalize` says; "entropy": mean entropy; None: all
    equal, so the seeded tie-break draws uniformly), and `balance` weighs it by
    exp(-p(D(s))), p(c) the share of pool "pixels" or of "regions" predicted c (None: no
    class term)."""

    value: str | None
    balance: str | None = None


@dataclass(frozen=True)
class Regions:
    """What a score function sees of a block of candidate regions (one row each): the pixel
    count, mean u(x) (eq. 4-5), mean entropy, D_theta(s) (eq. 6), the number of base
    superpixels, and v(s), the mean predicted probability that a pixel is void (None when the
    model has no void output)."""

    count: np.ndarray
    u: np.ndarray
    entropy: np.ndarray
    dominant: np.ndarray
    n_base: np.ndarray
    void: np.ndarray | None = None


@dataclass(frozen=True)
class Pool:
    """What a score function sees of the whole pool: p(c) by pixels (eq. 6) and by regions,
    the range of u(s), and the acquisition settings."""

    prior_pixels: np.ndarray
    prior_regions: np.ndarray
    u_range: tuple[float, float]
    spec: "AcquireSpec"


def _builtin(function: Function):
    def score(regions: Regions, pool: Pool) -> np.ndarray:
        prior = pool.prior_pixels if function.balance == "pixels" else pool.prior_regions
        return pool_scores(regions.u, regions.entropy, regions.dominant, pool.spec, prior,
                           pool.u_range, function)
    score.__doc__ = f"Built-in score: {function}."
    return score


def void_aware(regions: Regions, pool: Pool) -> np.ndarray:
    """Eq. 7 discounted by the predicted chance that the region is void: a(s) (1 - v(s))^k,
    k = acquire.void_power. The oracle answers a void-dominant region with a paid click that
    teaches the classes nothing; uncertainty alone seeks them out, since a model without a
    void class is unsure there."""
    if regions.void is None:
        raise ValueError("acquire.function void_aware needs the model's void output (v(s) in "
                         "the statistics): use train.model feature_head, and rerun predict")
    base = _builtin(BUILTIN_SCORES["classbal_pixel"])(regions, pool)
    keep = np.clip(1.0 - regions.void, 0.0, 1.0)
    return base * keep ** pool.spec.void_power


BUILTIN_SCORES = {
    "classbal_pixel": Function("u", "pixels"),  # eq. 7 (the paper)
    "classbal_superpixel": Function("u", "regions"),  # ClassBal (Cai et al. 2021)
    "bvsb": Function("u"),
    "entropy": Function("entropy"),
    "random": Function(None),
}
# Every built-in score function by name; `acquire.function` may also name one of the user's.
FUNCTIONS: dict[str, Callable] = {**{name: _builtin(f) for name, f in BUILTIN_SCORES.items()},
                                  "void_aware": void_aware}
NORMALIZE = ("none", "minmax", "authors")
_DEFAULTS = defaults("acquire")


@dataclass(frozen=True)
class AcquireSpec:
    """Acquisition settings (config `acquire`; defaults from the schema)."""

    function: str = _DEFAULTS["function"]  # a key of FUNCTIONS, or module:function
    # How u(s) enters the score. none: raw u(s), as eq. 7 (the paper). minmax: a true
    # min-max over the pool, (u - min) / (max - min). authors: u / max over the pool, then
    # the class weight exp(-p(c)) in float32: the authors' code min-max normalises a padded
    # per-image array whose padded and merged-away slots hold 0, so its minimum is 0.
    normalize: str = _DEFAULTS["normalize"]
    void_power: float = _DEFAULTS["void_power"]  # void_aware: the discount's exponent

    def __post_init__(self):
        if self.function not in FUNCTIONS and not is_reference(self.function):
            resolve(self.function, FUNCTIONS, "acquire.function")
        if self.normalize not in NORMALIZE:
            raise ValueError(f"acquire.normalize {self.normalize!r}: use one of {NORMALIZE}")
        if self.void_power < 0:
            raise ValueError(f"acquire.void_power {self.void_power}: at least 0")

    @property
    def score_function(self) -> Callable:
        return resolve(self.function, FUNCTIONS, "acquire.function")

    @property
    def uses_void(self) -> bool:
        return self.function == "void_aware"

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


def regions_from_stats(region_stats: dict) -> Regions:
    """Per-region means from summed statistics (count, u_sum, entropy_sum, pred_hist and,
    when the model has a void output, void_sum)."""
    count = np.asarray(region_stats["count"])
    safe = np.maximum(count.astype(np.float64), 1.0)
    void = region_stats.get("void_sum")
    return Regions(count=count, u=region_stats["u_sum"] / safe,
                   entropy=region_stats["entropy_sum"] / safe,
                   dominant=dominant_prediction(region_stats["pred_hist"]),
                   n_base=np.asarray(region_stats.get("n_base", np.ones(len(count), np.int64))),
                   void=None if void is None else np.asarray(void) / safe)


def scores(region_stats: dict, spec: AcquireSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Acquisition score a(s), mean uncertainty u(s) and D_theta(s) of every region of a
    whole pool at once (the streamed stage gives the same: PoolSummary and TopB)."""
    regions = regions_from_stats(region_stats)
    summary = PoolSummary(region_stats["pred_hist"].shape[1])
    summary.add(regions, np.zeros(len(regions.u), bool))
    score = checked_scores(spec, regions, summary.pool(spec))
    return score, regions.u, regions.dominant


def checked_scores(spec: AcquireSpec, regions: Regions, pool: Pool) -> np.ndarray:
    """The configured function's scores, refused unless one finite number per region."""
    score = np.asarray(spec.score_function(regions, pool), np.float64)
    if score.shape != regions.u.shape:
        raise ValueError(f"acquire.function {spec.function}: gave {score.shape} scores for "
                         f"{len(regions.u)} regions; return one per region")
    if not np.isfinite(score).all():
        raise ValueError(f"acquire.function {spec.function}: gave a score that is NaN or "
                         "infinite")
    return score


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


class PoolSummary:
    """Pass one over a pool streamed block by block: what a score needs of the whole pool
    (p(c) by pixels and by regions, the range of u(s)) and the number of candidates."""

    def __init__(self, n_classes: int):
        self.n_classes = n_classes
        self.pixel_mass = np.zeros(n_classes)
        self.region_mass = np.zeros(n_classes)
        self.u_min, self.u_max = np.inf, -np.inf
        self.n_candidates = 0

    def add(self, regions: Regions, candidate: np.ndarray) -> None:
        """Every region of a block, candidate or not: p(c) and the u range count them all."""
        self.pixel_mass += np.bincount(regions.dominant,
                                       weights=regions.count.astype(np.float64),
                                       minlength=self.n_classes)
        self.region_mass += np.bincount(regions.dominant, minlength=self.n_classes)
        if len(regions.u):
            self.u_min = min(self.u_min, float(regions.u.min()))
            self.u_max = max(self.u_max, float(regions.u.max()))
        self.n_candidates += int(np.count_nonzero(candidate))

    def pool(self, spec: AcquireSpec) -> Pool:
        def share(mass):
            total = mass.sum()
            return mass / total if total > 0 else mass
        u_range = (self.u_min, self.u_max) if self.u_min <= self.u_max else (0.0, 0.0)
        return Pool(share(self.pixel_mass), share(self.region_mass), u_range, spec)


class TopB:
    """Pass two: the B best candidates by (score, seeded key), kept in memory O(B) over a
    pool streamed block by block (cut back to the B best whenever the buffer holds a few
    times that)."""

    def __init__(self, budget: int):
        if budget < 0:
            raise ValueError(f"budget {budget} is negative")
        self.budget = budget
        self.parts: list[dict] = []
        self.n_buffered = 0

    def add(self, rows: dict, score: np.ndarray, candidate: np.ndarray) -> None:
        """rows: arrays of one value per region (rep and key at least)."""
        if not candidate.any():
            return
        self.parts.append({"score": score[candidate],
                           **{k: np.asarray(v)[candidate] for k, v in rows.items()}})
        self.n_buffered += int(np.count_nonzero(candidate))
        if self.n_buffered > 4 * max(self.budget, 1):
            self._cut()

    def _cut(self) -> None:
        if not self.parts:
            return
        merged = {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}
        order = np.lexsort((merged["key"], -merged["score"]))[:self.budget]
        self.parts = [{k: v[order] for k, v in merged.items()}]
        self.n_buffered = len(order)

    def finish(self) -> tuple[dict, np.ndarray]:
        """(kept rows, their scores), the top B best first."""
        self._cut()
        if not self.parts:
            return {}, np.zeros(0)
        kept = self.parts[0]
        return {k: v for k, v in kept.items() if k != "score"}, kept["score"]


def pool_scores(u: np.ndarray, entropy: np.ndarray, dominant: np.ndarray, spec: AcquireSpec,
                prior: np.ndarray, u_range: tuple[float, float],
                function: Function) -> np.ndarray:
    """a(s) of a built-in function from per-region means and pool-wide p(c) and u range."""
    lo, hi = u_range
    if spec.normalize == "minmax" and len(u):
        u_used = (u - lo) / (hi - lo) if hi > lo else np.zeros_like(u)
    elif spec.normalize == "authors" and len(u):
        u_used = u / hi if hi > 0 else np.zeros_like(u)
    else:
        u_used = u
    if function.value is None:
        value = np.zeros_like(u_used)
    else:
        value = {"u": u_used, "entropy": entropy}[function.value]
    if function.balance is None:
        return value
    if spec.normalize == "authors":
        # Their weights: p(c) stored as float32, w = exp(-p) in float32, multiplied into
        # the float64 normalised uncertainty.
        weight = np.exp(-prior.astype(np.float32)).astype(np.float64)
    else:
        weight = np.exp(-prior)
    return value * weight[dominant]
