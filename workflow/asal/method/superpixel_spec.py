"""The settings of base superpixels (SeedsSpec), apart from the algorithms so that the
Snakefile can check them while parsing without loading OpenCV. This module imports nothing
of `superpixels` (which imports it): the one piece of SEEDS that a spec needs, the request
that hits the target size, lives here and loads OpenCV only when it is called."""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass

from ..experiment.methods import SEEDS_ONLY, SLIC_ONLY
from ..experiment.settings import choices, defaults

_DEFAULTS = defaults("superpixels")


@functools.lru_cache(maxsize=64)
def _seeds_request(height, width, size, levels, bins, prior, double_step) -> tuple[int, int]:
    """(count to ask SEEDS for, grid count it gives) of `SeedsSpec.seeds_request`, cached."""
    import cv2  # OpenCV only when superpixels are made, never while the Snakefile is parsed
    import numpy as np

    naive = max(1, round(height * width / size))
    candidates = sorted({max(1, round(naive * 2 ** (k / 4))) for k in range(-8, 9)})
    best = None
    for n in candidates:
        grid = cv2.ximgproc.createSuperpixelSEEDS(width, height, 3, n, levels, prior, bins,
                                                  double_step).getNumberOfSuperpixels()
        miss = abs(np.log(height * width / max(grid, 1)) - np.log(size))
        key = (round(miss, 9), abs(n - naive))
        if best is None or key < best[0]:
            best = (key, n, grid)
    return best[1], best[2]


@dataclass(frozen=True)
class SeedsSpec:
    """What decides the base superpixels; recorded in every artifact built on them.

    `algorithm` is seeds (OpenCV's SEEDS: levels, prior, histogram_bins, double_step) or
    slic (OpenCV's SLIC: slic_variant, ruler); both take `size`, `iterations` and
    `color_space`.
    """

    size: int  # target average superpixel area in pixels (required: no default)
    levels: int = _DEFAULTS["levels"]
    prior: int = _DEFAULTS["prior"]
    histogram_bins: int = _DEFAULTS["histogram_bins"]
    iterations: int = _DEFAULTS["iterations"]
    double_step: bool = _DEFAULTS["double_step"]
    color_space: str = _DEFAULTS["color_space"]
    algorithm: str = _DEFAULTS["algorithm"]
    slic_variant: str = _DEFAULTS["slic_variant"]  # OpenCV's SLIC, SLICO, MSLIC
    ruler: float = _DEFAULTS["ruler"]  # SLIC compactness (OpenCV's and scikit-image's: 10)

    def __post_init__(self):
        for key in ("algorithm", "color_space", "slic_variant"):
            allowed = choices(f"superpixels.{key}")
            if getattr(self, key) not in allowed:
                raise ValueError(f"superpixels.{key} {getattr(self, key)!r}: use one of "
                                 f"{allowed}")
        if self.algorithm == "slic" and self.color_space == "authors":
            raise ValueError("superpixels.color_space 'authors' is the authors' SEEDS "
                             "preprocessing (their SLIC ran on plain RGB); with SLIC use "
                             "lab, hsv or rgb")

    def requested_count(self, height: int, width: int) -> int:
        """Superpixels asked of SEEDS: image area / target size (SEEDS rounds it to its grid)."""
        if self.size > height * width:
            raise ValueError(f"superpixel size {self.size} px is larger than the image "
                             f"({height}x{width} = {height * width} px); lower superpixels.size")
        return max(1, round(height * width / self.size))

    def seeds_request(self, height: int, width: int) -> tuple[int, int]:
        """(count to ask SEEDS for, grid count it will use), chosen so the mean superpixel
        area is as close as possible to `size`.

        SEEDS snaps the count to its block grid in coarse steps (at 180x240 both 338 and 675
        give 165, and 169 gives 35), so asking for area / size can miss the target by 4x.
        The grid count is known as soon as the object is built, before any iteration, so the
        request is picked among nearby candidates by the count they actually give.
        """
        return _seeds_request(height, width, self.size, self.levels, self.histogram_bins,
                              self.prior, self.double_step)

    def slic_region_size(self) -> int:
        """SLIC's grid step: the side of a square of the target area, sqrt(size)."""
        return max(1, round(math.sqrt(self.size)))

    def as_dict(self) -> dict:
        """The settings that matter for the chosen algorithm (the others are left out, so
        changing them changes neither the provenance nor what a workflow reruns)."""
        unused = SLIC_ONLY if self.algorithm == "seeds" else SEEDS_ONLY
        return {k: v for k, v in asdict(self).items() if k not in unused}
