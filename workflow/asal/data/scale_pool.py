"""A synthetic pool at any scale, without pixels: superpixel graphs shaped like SEEDS output
and random but spatially coherent statistics, written as the real artifacts of one round
(superpixels, predict statistics, oracle table, labelled set).

Merge, acquire and query never read pixels, so this is all they need; it lets their time and
memory be measured at Cityscapes size (2975 images x 8192 superpixels) on a laptop, and lets
tests compare block-wise runs with whole-pool references on small pools.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..method.statistics import STAT_KEYS
from ..store import artifacts, blocks
from ..store.artifacts import provenance


@dataclass(frozen=True)
class PoolShape:
    n_images: int = 2975
    grid: tuple[int, int] = (64, 128)  # superpixels per image as rows x columns (8192)
    image: tuple[int, int] = (1024, 2048)  # pixels, recorded as each image's shape
    n_classes: int = 19
    labelled_share: float = 0.008  # base superpixels labelled in earlier rounds
    seed: int = 0

    @property
    def per_image(self) -> int:
        return self.grid[0] * self.grid[1]


def grid_edges(grid: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Edges of a superpixel grid as SEEDS draws it: 4-neighbours plus one diagonal per
    2x2 cell, its direction at random (irregular boundaries touch diagonally), about 6
    neighbours each. Sorted, a < b."""
    gh, gw = grid
    ids = np.arange(gh * gw).reshape(gh, gw)
    right = np.stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()], 1)
    down = np.stack([ids[:-1, :].ravel(), ids[1:, :].ravel()], 1)
    flip = rng.random((gh - 1, gw - 1)) < 0.5
    diag = np.where(flip.ravel()[:, None],
                    np.stack([ids[:-1, 1:].ravel(), ids[1:, :-1].ravel()], 1),
                    np.stack([ids[:-1, :-1].ravel(), ids[1:, 1:].ravel()], 1))
    edges = np.concatenate([right, down, diag])
    edges = np.sort(edges, axis=1)
    return edges[np.lexsort((edges[:, 1], edges[:, 0]))]


def image_rows(shape: PoolShape, rng: np.random.Generator) -> dict:
    """Statistics of one image's superpixels: a coarse class layout (a few large classes,
    many rare ones), predictions that agree with it up to noise, so neighbours inside one
    object are close in JS distance and merge."""
    gh, gw = shape.grid
    c = shape.n_classes
    n = gh * gw
    freq = 1.0 / np.arange(1, c + 1) ** 1.5
    coarse = rng.choice(c, size=(gh // 8 + 1, gw // 8 + 1), p=freq / freq.sum())
    truth = np.kron(coarse, np.ones((8, 8), np.int64))[:gh, :gw].ravel()
    confidence = rng.uniform(1.0, 4.0, size=coarse.shape)
    strength = np.kron(confidence, np.ones((8, 8)))[:gh, :gw].ravel()
    logits = rng.normal(0.0, 0.35, size=(n, c))
    logits[np.arange(n), truth] += strength
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    count = rng.integers(192, 321, size=n)
    top2 = -np.partition(-probs, 1, axis=1)[:, :2]
    u = top2[:, 1] / top2[:, 0]
    entropy = -(probs * np.log(probs)).sum(1)
    best = probs.argmax(1)
    second = np.argsort(-probs, axis=1)[:, 1]
    pred_hist = np.zeros((n, c), np.int64)
    agree = np.rint(count * (1.0 - 0.5 * u)).astype(np.int64)
    pred_hist[np.arange(n), best] = agree
    pred_hist[np.arange(n), second] += count - agree
    gt_hist = np.zeros((n, c + 1), np.int64)
    pure = np.rint(count * rng.uniform(0.6, 1.0, size=n)).astype(np.int64)
    other = rng.integers(0, c + 1, size=n)  # void (index c) included
    gt_hist[np.arange(n), truth] = pure
    gt_hist[np.arange(n), other] += count - pure
    return {"count": count, "prob_sum": probs * count[:, None], "u_sum": u * count,
            "entropy_sum": entropy * count, "pred_hist": pred_hist, "gt_hist": gt_hist}


def write_pool(shape: PoolShape, paths: dict[str, str]) -> None:
    """Write superpixels, predict, oracle_table and labelled artifacts for `shape` at the
    given paths (keys: superpixels, stats, oracle, labelled), image block by image block."""
    rng = np.random.default_rng(shape.seed)
    m = shape.n_images * shape.per_image
    c = shape.n_classes
    spec = {"source": "synthetic", "grid": list(shape.grid), "seed": shape.seed}
    classes = [f"class{k}" for k in range(c)]
    sp_attrs = provenance("superpixelize", spec, superpixel_spec=spec, classes=classes,
                          synthetic_without_pixels=1)
    stat_attrs = provenance("predict", superpixel_spec=spec, classes=classes, shard=0,
                            n_shards=1, model="synthetic")
    gt_attrs = provenance("oracle_table", superpixel_spec=spec, classes=classes)
    lab_attrs = provenance("query", superpixel_spec=spec, classes=classes, round=1,
                           void_label=c, clicks_total=0)
    with artifacts.superpixel_writer(paths["superpixels"], sp_attrs) as sp, \
            artifacts.table_writer(paths["stats"], "predict", stat_attrs, m, c) as stats, \
            artifacts.table_writer(paths["oracle"], "oracle_table", gt_attrs, m, c) as gt, \
            artifacts.table_writer(paths["labelled"], "query", lab_attrs, m) as lab:
        clicks = 0
        offsets = np.arange(shape.n_images + 1) * shape.per_image
        # a void output's sums (void-aware acquisition), from a generator of their own so the
        # other columns are those of a pool made without them
        stats.create("void_sum", (m,), np.float64)
        void_rng = np.random.default_rng(shape.seed + 1)
        for a, b in blocks.image_blocks(offsets):
            for i in range(a, b):
                rows = image_rows(shape, rng)
                lo = int(offsets[i])
                sp.add(f"synthetic_{i:06d}", None, shape.per_image, rows["count"],
                       grid_edges(shape.grid, rng), shape=shape.image)
                for key in STAT_KEYS:
                    stats.put(key, lo, rows[key])
                stats.put("void_sum", lo, rows["count"] * void_rng.random(shape.per_image))
                gt.put("gt_hist", lo, rows["gt_hist"])
                taken = np.flatnonzero(rng.random(shape.per_image) < shape.labelled_share)
                label = np.full(shape.per_image, -1, np.int16)
                label[taken] = rows["gt_hist"][taken].argmax(1)
                query = np.full(shape.per_image, -1, np.int32)
                query[taken] = clicks + np.arange(len(taken))
                clicks += len(taken)
                lab.put("label", lo, label)
                lab.put("query", lo, query)
                lab.put("round", lo, np.where(label >= 0, 0, -1))
        lab.attrs["clicks_total"] = clicks
