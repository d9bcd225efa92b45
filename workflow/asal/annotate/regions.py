"""Pure functions: where a query lies in its image, and the pictures the page shows of it.

All vectorised numpy (plus OpenCV for morphology and PNG coding); no file or server state.
"""

from __future__ import annotations

import cv2
import numpy as np

OUTLINE_RGB = (255, 221, 0)  # yellow: visible on street scenes, sky and vegetation alike


def query_mask(region_of_local: np.ndarray, local_map: np.ndarray, rep: int) -> np.ndarray:
    """(H, W) bool: pixels of the merged region `rep`, given the region id of each of the
    image's base superpixels (`region_of_local[j]`, j the local id) and the local map."""
    return (np.asarray(region_of_local) == rep)[np.asarray(local_map)]


def outline(mask: np.ndarray, thickness: int = 1) -> np.ndarray:
    """(H, W) bool: a band of `thickness` pixels on both sides of the region's boundary."""
    m = mask.astype(np.uint8)
    kernel = np.ones((2 * thickness + 1, 2 * thickness + 1), np.uint8)
    return (cv2.dilate(m, kernel) - cv2.erode(m, kernel, borderType=cv2.BORDER_REPLICATE)) > 0


def crop_box(mask: np.ndarray, margin: float = 0.75,
             min_side: int = 24) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1): the region's bounding box grown by `margin` of its size on every side,
    at least `min_side` pixels square where the image allows, clipped to the image."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return 0, h, 0, w
    box = []
    for lo, hi, size in ((ys.min(), ys.max() + 1, h), (xs.min(), xs.max() + 1, w)):
        side = max(hi - lo, 1)
        grow = max(int(round(side * margin)), (min(min_side, size) - side + 1) // 2, 0)
        a, b = lo - grow, hi + grow
        # Shift back inside the image before clipping, so a region at the edge keeps its context.
        if a < 0:
            a, b = 0, b - a
        if b > size:
            a, b = a - (b - size), size
        box += [max(a, 0), min(b, size)]
    return box[0], box[1], box[2], box[3]


def thickness_for(shape: tuple[int, int]) -> int:
    """Outline width that stays visible when a large image is shown on a laptop screen."""
    return max(1, int(round(max(shape) / 480)))


def render_view(image: np.ndarray, mask: np.ndarray, dim: float = 0.35) -> np.ndarray:
    """The whole image with everything outside the region dimmed and the region outlined."""
    out = image.astype(np.float32)
    out[~mask] *= dim
    out = out.astype(np.uint8)
    # Outside the region only, so that none of its own pixels is hidden.
    out[outline(mask, thickness_for(mask.shape)) & ~mask] = OUTLINE_RGB
    return out


def render_crop(image: np.ndarray, mask: np.ndarray, dim: float = 0.6) -> np.ndarray:
    """A zoomed crop around the region: lightly dimmed outside, outlined (1 px)."""
    y0, y1, x0, x1 = crop_box(mask)
    img, m = image[y0:y1, x0:x1].astype(np.float32), mask[y0:y1, x0:x1]
    img[~m] *= dim
    img = img.astype(np.uint8)
    img[outline(m, 1) & ~m] = OUTLINE_RGB
    return img


def png_bytes(rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def text_colour(rgb) -> str:
    """Black or white, whichever reads better on a button of colour `rgb`."""
    r, g, b = (float(c) for c in rgb)
    return "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#fff"
