"""Pure functions: where a query lies in its image, and the pictures the page shows of it.

The picture must leave no doubt about which pixels are asked about, whatever the region's
shape: the region's own pixels are shown untouched, everything else (holes, other regions) is
dimmed and hatched, and a yellow ring runs around the region on the outside, also along the
image's border (in a frame around the picture), so a region that fills most of the image is
outlined too. Drawn on the original image at its own resolution: the working resolution of
the pool (`dataset.resize`) is often too small to recognise a pedestrian.

All vectorised numpy (plus OpenCV for morphology and PNG coding); no file or server state.
"""

from __future__ import annotations

import cv2
import numpy as np

OUTLINE_RGB = (255, 221, 0)  # yellow: visible on street scenes, sky and vegetation alike
EDGE_RGB = (0, 0, 0)  # a dark line outside the yellow one, for bright backgrounds (sky)
FRAME_RGB = (48, 48, 48)  # the frame around the picture where the region does not touch it
DIM = 0.6  # brightness of what is not the region: dimmed, still recognisable
HATCH_GREY, HATCH_MIX = 150, 0.55  # its diagonal hatching: a veil of light grey stripes, so
# that "not part of it" is seen on dark and bright pixels alike, whatever their colour


def query_mask(region_of_local: np.ndarray, local_map: np.ndarray, rep: int) -> np.ndarray:
    """(H, W) bool: pixels of the merged region `rep`, given the region id of each of the
    image's base superpixels (`region_of_local[j]`, j the local id) and the local map."""
    return (np.asarray(region_of_local) == rep)[np.asarray(local_map)]


def upscale_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The mask of the working resolution at the original image's `shape` (nearest
    neighbour, pixel centres aligned), so the region is drawn on the file as it is."""
    h, w = mask.shape
    rows = np.minimum(((np.arange(shape[0]) + 0.5) * h / shape[0]).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(shape[1]) + 0.5) * w / shape[1]).astype(np.int64), w - 1)
    return mask[rows[:, None], cols[None, :]]


def _grow(mask: np.ndarray, radius: int) -> np.ndarray:
    """The mask dilated by a disc of `radius` pixels."""
    if radius <= 0:
        return mask.copy()
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def outline(mask: np.ndarray, thickness: int = 1) -> np.ndarray:
    """(H, W) bool: the ring of `thickness` pixels just outside the region (its holes
    included), never on the region's own pixels."""
    return _grow(mask, thickness) & ~mask


def thickness_for(shape: tuple[int, int]) -> int:
    """Outline width that stays visible when the picture is scaled to a laptop screen."""
    return max(2, int(round(max(shape) / 160)))


def pad_for(shape: tuple[int, int]) -> int:
    """Width of the frame around the picture: the yellow ring and its dark edge fit in it."""
    return thickness_for(shape) + 1


def hatch(shape: tuple[int, int], period: int) -> np.ndarray:
    """(H, W) bool: diagonal stripes, `period // 4` pixels wide every `period`."""
    y, x = np.ogrid[:shape[0], :shape[1]]
    return (x + y) % period < max(1, period // 4)


def render_view(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The whole image in a frame of `pad_for` pixels: the region untouched, the rest dimmed
    and hatched, a yellow ring (then a dark line) around the region on the outside, in the
    frame too where the region reaches the image's border. `mask` has the image's size."""
    if image.shape[:2] != mask.shape:
        raise ValueError(f"image {image.shape[:2]} and mask {mask.shape} differ in size")
    t, p = thickness_for(mask.shape), pad_for(mask.shape)
    rest = ~mask
    out = image.copy()
    stripes = hatch(mask.shape, max(8, 3 * t))
    out[rest] = (image[rest] * DIM).astype(np.uint8)
    veil = rest & stripes
    out[veil] = (image[veil] * (1 - HATCH_MIX) + HATCH_GREY * HATCH_MIX).astype(np.uint8)
    canvas = np.empty((mask.shape[0] + 2 * p, mask.shape[1] + 2 * p, 3), np.uint8)
    canvas[:] = FRAME_RGB
    canvas[p:-p, p:-p] = out
    framed = np.pad(mask, p)  # the frame is never the region: the ring enters it
    ring = _grow(framed, t)
    canvas[_grow(framed, t + 1) & ~ring] = EDGE_RGB
    canvas[ring & ~framed] = OUTLINE_RGB
    return canvas


def crop_box(mask: np.ndarray, margin: float = 0.2,
             min_side: int = 24) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1): the region's bounding box grown by `margin` of its size on every side,
    at least `min_side` pixels square where the image allows (a small region gets context
    around it), clipped to the image."""
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


def zoom_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of the zoom: the region with a fifth of its size around it, and at
    least a sixth of the image's longer side, so that a small region is seen in its context
    and a large one is framed rather than lost in the whole image."""
    return crop_box(mask, margin=0.2, min_side=max(32, int(round(max(mask.shape) / 6))))


def render_crop(view: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The zoom: the part of the framed `view` (from render_view) in `zoom_box`, with the
    ring and, at the image's border, the frame; `mask` has the image's size."""
    p = pad_for(mask.shape)
    y0, y1, x0, x1 = zoom_box(mask)
    # Image rows y0..y1 are view rows y0+p..y1+p; p more on each side keep the ring.
    return view[y0:y1 + 2 * p, x0:x1 + 2 * p]


def png_bytes(rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def text_colour(rgb) -> str:
    """Black or white, whichever reads better on a button of colour `rgb`."""
    r, g, b = (float(c) for c in rgb)
    return "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#fff"
