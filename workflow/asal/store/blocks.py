"""Blocks of whole images for streaming a pool-wide table: a stage holds one block at a
time, so its memory depends on the block size, not on the number of images."""

from __future__ import annotations

from typing import Iterator

import numpy as np

# About 64 Cityscapes images of 8192 superpixels: a few hundred MB of statistics.
DEFAULT_BLOCK_ROWS = 1 << 19


def image_blocks(sp_offset: np.ndarray, max_rows: int = DEFAULT_BLOCK_ROWS
                 ) -> Iterator[tuple[int, int]]:
    """Image ranges [a, b) holding at most `max_rows` superpixels each (at least one image)."""
    sp_offset = np.asarray(sp_offset)
    n_images = len(sp_offset) - 1
    a = 0
    while a < n_images:
        b = int(np.searchsorted(sp_offset, sp_offset[a] + max_rows, side="right")) - 1
        b = min(max(b, a + 1), n_images)
        yield a, b
        a = b
