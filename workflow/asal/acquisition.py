"""Acquisition (eq. 4-7): score every candidate region and pick the top B.

Works on region statistics only (sums of base superpixel rows), never on ground truth.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

FUNCTIONS = ("classbal_pixel", "classbal_superpixel", "bvsb", "entropy", "random")


@dataclass(frozen=True)
class AcquireSpec:
    # classbal_pixel: eq. 7, u(s) exp(-p(D(s))) with p(c) the share of pool *pixels* in
    #   regions predicted c (the paper); classbal_superpixel: p(c) the share of *regions*
    #   predicted c (ClassBal, Cai et al. 2021); bvsb: u(s) alone; entropy: mean entropy;
    #   random: uniform.
    function: str = "classbal_pixel"
    # The authors' code min-max normalises u(s) over the pool before weighting; the paper
    # does not. "none" follows the paper.
    normalize: str = "none"  # none | minmax

    def __post_init__(self):
        if self.function not in FUNCTIONS:
            raise ValueError(f"acquire.function {self.function!r}: use one of {FUNCTIONS}")
        if self.normalize not in ("none", "minmax"):
            raise ValueError(f"acquire.normalize {self.normalize!r}: use none or minmax")

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
    dominant = dominant_prediction(region_stats["pred_hist"])
    n_classes = region_stats["pred_hist"].shape[1]
    if spec.normalize == "minmax" and len(u):
        span = u.max() - u.min()
        u_used = (u - u.min()) / span if span > 0 else np.zeros_like(u)
    else:
        u_used = u
    if spec.function == "classbal_pixel":
        score = u_used * np.exp(-class_prior(dominant, count, n_classes)[dominant])
    elif spec.function == "classbal_superpixel":
        score = u_used * np.exp(-class_prior(dominant, np.ones_like(count), n_classes)[dominant])
    elif spec.function == "bvsb":
        score = u_used
    elif spec.function == "entropy":
        score = region_stats["entropy_sum"] / safe
    else:  # random: the seeded tie-break below makes the choice
        score = np.zeros_like(u)
    return score, u, dominant


def select_top(score: np.ndarray, candidate: np.ndarray, budget: int,
               rng: np.random.Generator) -> np.ndarray:
    """Indices of the `budget` best candidates, best first; ties go to a seeded random order.

    Asks for more than there is spend what is left.
    """
    if budget < 0:
        raise ValueError(f"budget {budget} is negative")
    idx = np.flatnonzero(candidate)
    tiebreak = rng.permutation(len(idx))
    order = np.lexsort((tiebreak, -score[idx]))
    return idx[order[:budget]]
