"""Base superpixels S0: SEEDS (or SLIC), made connected with dense ids, and their
4-neighbour graph."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

# Defined without OpenCV, for the Snakefile's checks; superpixel_spec imports nothing from
# here, so the two modules form no import cycle.
from .superpixel_spec import SeedsSpec, _seeds_request  # noqa: F401 (re-exported)

__all__ = ["SeedsSpec"]

COLOR_SPACES = {
    # SEEDS builds colour histograms with `histogram_bins` bins per channel over 0..255 for
    # uint8 input, so every channel must span that range. OpenCV's 8-bit Lab and HSV do
    # (HSV hue is 0..179, a documented OpenCV convention). "authors" is the authors'
    # preprocessing (see `authors_input`): float HSV, hue in 0..360 and s, v in 0..1, which
    # SEEDS bins as if every channel spanned 0..1, so nearly all pixels share one hue bin.
    "lab": cv2.COLOR_RGB2LAB,
    "hsv": cv2.COLOR_RGB2HSV,
    "rgb": None,
    "authors": "authors",
}
ALGORITHMS = ("seeds", "slic")  # superpixelize_image's two branches
SLIC_VARIANTS = {"slic": cv2.ximgproc.SLIC, "slico": cv2.ximgproc.SLICO,
                 "mslic": cv2.ximgproc.MSLIC}


def equalize_hist(image: np.ndarray) -> np.ndarray:
    """scikit-image's `exposure.equalize_hist` of an integer image, in float64.

    As scikit-image does for integer input: one histogram bin per integer value from the
    image's minimum to its maximum, over all channels together (not per channel); each pixel
    becomes the cumulative share of values at or below its own (np.interp at the bin
    centres, which are the values themselves, so an exact lookup).
    """
    flat = np.asarray(image).ravel().astype(np.int64)
    lo, hi = int(flat.min()), int(flat.max())
    cdf = np.cumsum(np.bincount(flat - lo, minlength=hi - lo + 1))
    cdf = cdf / float(cdf[-1])
    return cdf[flat - lo].reshape(np.shape(image))


def authors_input(image: np.ndarray) -> np.ndarray:
    """What the authors' superpixel script gives SEEDS: `equalize_hist` of the RGB uint8
    image (float64 in (0, 1]), cast to float32, then OpenCV's float RGB -> HSV (hue in
    0..360, s and v in 0..1)."""
    return cv2.cvtColor(equalize_hist(image).astype(np.float32), cv2.COLOR_RGB2HSV)


def superpixel_input(image: np.ndarray, color_space: str) -> np.ndarray:
    """The array handed to SEEDS or SLIC for an RGB uint8 image."""
    if color_space not in COLOR_SPACES:
        raise ValueError(f"unknown colour space {color_space!r}; use one of "
                         f"{sorted(COLOR_SPACES)}")
    code = COLOR_SPACES[color_space]
    if code == "authors":
        return authors_input(image)
    return np.ascontiguousarray(image if code is None else cv2.cvtColor(image, code))


def seeds_labels(image: np.ndarray, spec: SeedsSpec) -> np.ndarray:
    """Raw SEEDS labels of an RGB uint8 image (may have empty ids and split regions)."""
    height, width = image.shape[:2]
    converted = superpixel_input(image, spec.color_space)
    spec.requested_count(height, width)  # refuses a size larger than the image
    request, _ = spec.seeds_request(height, width)
    seeds = cv2.ximgproc.createSuperpixelSEEDS(
        width, height, 3, request, spec.levels, spec.prior, spec.histogram_bins,
        spec.double_step)
    seeds.iterate(np.ascontiguousarray(converted), spec.iterations)
    return seeds.getLabels()


def slic(image: np.ndarray, spec: SeedsSpec):
    """OpenCV's SLIC object for an RGB uint8 image, its grid laid out, not yet iterated."""
    height, width = image.shape[:2]
    spec.requested_count(height, width)  # refuses a size larger than the image
    return cv2.ximgproc.createSuperpixelSLIC(
        superpixel_input(image, spec.color_space), SLIC_VARIANTS[spec.slic_variant],
        spec.slic_region_size(), float(spec.ruler))


def slic_labels(image: np.ndarray, spec: SeedsSpec) -> np.ndarray:
    """Raw SLIC labels: grid step sqrt(size), `iterations` iterations, then OpenCV's
    connectivity pass (fragments under 25% of a cell join a neighbour)."""
    engine = slic(image, spec)
    engine.iterate(spec.iterations)
    engine.enforceLabelConnectivity(25)
    return engine.getLabels()


def requested_per_image(image_shape: tuple[int, int], spec: SeedsSpec, image=None) -> int:
    """How many superpixels the algorithm set out with on an image of this shape: SEEDS's
    grid count for its request, SLIC's grid cells before iterating."""
    height, width = image_shape[:2]
    if spec.algorithm == "slic":
        if image is None:
            image = np.zeros((height, width, 3), np.uint8)
        return int(slic(image, spec).getNumberOfSuperpixels())
    return spec.seeds_request(height, width)[0]


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
    """Connected, densely numbered SEEDS or SLIC superpixels of one image."""
    raw = slic_labels(image, spec) if spec.algorithm == "slic" else seeds_labels(image, spec)
    return connected_relabel(raw)
