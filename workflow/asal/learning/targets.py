"""The labels a round trains on, as per-pixel code maps: one code per pixel, read by the loss.

- a class c (0..C-1): the oracle's label, kept by sieving (cross-entropy, eq. 10);
- C + k: a multi-class answer, the classes allowed at the pixel being row k of `sets` (a
  partial label: the loss maximises the probability of the set);
- `void_code`: a pixel of a region the oracle called void (it trains the model's void output,
  never a class);
- `ignore`: no label.

Maps are uint8 (ignore 255, void 254) unless the sets need more codes (then uint16), so the
labels of a single-label method are the same bytes as asal's earlier sparse targets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..method.answers import members, set_size


@dataclass
class Targets:
    maps: dict[int, np.ndarray]  # pool image index -> (H, W) codes; images with a kept label
    ignore: int
    void_code: int
    sets: np.ndarray | None  # (n_sets, C) bool: the classes code C + k allows


def coded_targets(sp, sieved: dict, n_classes: int,
                  void_superpixel: np.ndarray | None = None) -> Targets:
    """Per pool image with a kept labelled pixel, its code map; `void_superpixel` (bool per
    base superpixel, the regions answered void) marks their pixels in those images. Void
    answers in an image without a kept class pixel train nothing: adding that image would
    change which images the class head's batches are drawn from."""
    keep = np.asarray(sieved["kept"], bool)
    pixel = np.asarray(sieved["pixel"])[keep]
    code = np.asarray(sieved["label"])[keep].astype(np.int64)
    sets = None
    if "label_set" in sieved:
        label_set = np.asarray(sieved["label_set"], np.int64)[keep]
        several = set_size(label_set) > 1
        if several.any():
            table, index = np.unique(label_set[several], return_inverse=True)
            sets = members(table, n_classes)
            code[several] = n_classes + index
    n_codes = n_classes + (0 if sets is None else len(sets))
    dtype, ignore = (np.uint8, 255) if n_codes <= 254 else (np.uint16, 65535)
    void_code = ignore - 1
    image = np.searchsorted(sp.pixel_offset, pixel, side="right") - 1
    maps = {}
    for i in np.unique(image):
        h, w = sp.shapes[i]
        t = np.full(h * w, ignore, dtype)
        sel = image == i
        t[pixel[sel] - sp.pixel_offset[i]] = code[sel]
        if void_superpixel is not None:
            ids = sp.sp_offset[i] + sp.local_map(int(i)).ravel()
            t[void_superpixel[ids] & (t == ignore)] = void_code
        maps[int(i)] = t.reshape(h, w)
    return Targets(maps, ignore, void_code, sets)
