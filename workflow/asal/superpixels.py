"""Base superpixels S0: SEEDS, made connected with dense ids, and their 4-neighbour graph."""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import cv2
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

COLOR_SPACES = {
    # SEEDS builds colour histograms with `histogram_bins` bins per channel over 0..255 for
    # uint8 input, so every channel must span that range. OpenCV's 8-bit Lab and HSV do
    # (HSV hue is 0..179, a documented OpenCV convention); float HSV, as in the authors'
    # code, puts hue in 0..360 and s, v in 0..1, so nearly all pixels fall in one bin.
    "lab": cv2.COLOR_RGB2LAB,
    "hsv": cv2.COLOR_RGB2HSV,
    "rgb": None,
}


@dataclass(frozen=True)
class SeedsSpec:
    """What decides the base superpixels; recorded in every artifact built on them."""

    size: int = 256  # target average superpixel area in pixels
    levels: int = 5
    prior: int = 3
    histogram_bins: int = 10
    iterations: int = 10
    double_step: bool = True
    color_space: str = "lab"

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

    def as_dict(self) -> dict:
        return asdict(self)


@functools.lru_cache(maxsize=64)
def _seeds_request(height, width, size, levels, bins, prior, double_step) -> tuple[int, int]:
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


def seeds_labels(image: np.ndarray, spec: SeedsSpec) -> np.ndarray:
    """Raw SEEDS labels of an RGB uint8 image (may have empty ids and split regions)."""
    height, width = image.shape[:2]
    if spec.color_space not in COLOR_SPACES:
        raise ValueError(f"unknown colour space {spec.color_space!r}; use one of "
                         f"{sorted(COLOR_SPACES)}")
    code = COLOR_SPACES[spec.color_space]
    converted = image if code is None else cv2.cvtColor(image, code)
    spec.requested_count(height, width)  # refuses a size larger than the image
    request, _ = spec.seeds_request(height, width)
    seeds = cv2.ximgproc.createSuperpixelSEEDS(
        width, height, 3, request, spec.levels, spec.prior, spec.histogram_bins,
        spec.double_step)
    seeds.iterate(np.ascontiguousarray(converted), spec.iterations)
    return seeds.getLabels()


def _neighbour_pairs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of all horizontally and vertically adjacent pixel pairs."""
    h, w = labels.shape
    idx = np.arange(h * w).reshape(h, w)
    a = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    return a, b


def connected_relabel(labels: np.ndarray) -> np.ndarray:
    """Split every label into its 4-connected pieces and number them densely in raster order.

    Ids are ordered by each region's first pixel in raster order, so the result does not
    depend on the raw label values.
    """
    h, w = labels.shape
    flat = labels.ravel()
    a, b = _neighbour_pairs(labels)
    same = flat[a] == flat[b]
    graph = coo_matrix((np.ones(int(same.sum()), dtype=np.int8), (a[same], b[same])),
                       shape=(h * w, h * w))
    _, comp = connected_components(graph, directed=False)
    # connected_components numbers components in order of their lowest node, which is the
    # raster order of each component's first pixel.
    return comp.reshape(h, w).astype(np.int32)


def adjacency(local_map: np.ndarray) -> np.ndarray:
    """Unique 4-neighbour edges (a < b) between superpixels of one image, sorted."""
    flat = local_map.ravel().astype(np.int64)
    a, b = _neighbour_pairs(local_map)
    la, lb = flat[a], flat[b]
    diff = la != lb
    lo = np.minimum(la[diff], lb[diff])
    hi = np.maximum(la[diff], lb[diff])
    n = int(flat.max()) + 1 if flat.size else 0
    keys = np.unique(lo * n + hi)
    return np.stack([keys // n, keys % n], axis=1) if keys.size else np.zeros((0, 2), np.int64)


def superpixelize_image(image: np.ndarray, spec: SeedsSpec) -> np.ndarray:
    """Connected, densely numbered SEEDS superpixels of one image."""
    return connected_relabel(seeds_labels(image, spec))
