"""How a run is made reproducible and split: one derived seed per use (trial, round, stage), and
the contiguous blocks of images that the shards of an image-wise stage take."""

from __future__ import annotations

import numpy as np


def derive_seed(*parts: int) -> int:
    """Independent, reproducible seed for one use (trial, round, stage). The count of parts
    is mixed in because SeedSequence pads with zeros: (5,) and (5, 0) must differ."""
    return int(np.random.SeedSequence([len(parts), *(int(p) for p in parts)]).generate_state(1)[0])


def acquire_tie_seed(seed: int, trial: int, round: int) -> int:
    """The seed of acquisition's tie-breaks in a round: what acquire uses and what the
    class-balance picture must use to pick the same regions."""
    return derive_seed(seed, trial, round, 2)


def shard_range(n_images: int, shard: int, n_shards: int) -> tuple[int, int]:
    """Contiguous block of pool images [lo, hi) handled by one shard of an image-wise stage."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} is not in 0..{n_shards - 1}")
    return n_images * shard // n_shards, n_images * (shard + 1) // n_shards
