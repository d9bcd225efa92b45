"""The blocked, run-summed superpixel_statistics against a plain pixel-by-pixel reference (the
implementation it replaced): same keys, dtypes, shapes and integer results; float sums equal up
to summation order (and float32 rounding of the per-pixel entropy for float32 input)."""

import numpy as np
import pytest

from asal.method import statistics
from asal.method.statistics import STAT_KEYS, superpixel_statistics


def reference(probs, local_map, n):
    """superpixel_statistics before it was blocked: everything in float64, one bincount per
    class, np.partition for the top two, np.argmax."""
    c = probs.shape[0]
    ids = local_map.ravel()
    flat = probs.reshape(c, -1).astype(np.float64)
    top2 = -np.partition(-flat, 1, axis=0)[:2]
    u = top2[1] / np.maximum(top2[0], np.finfo(np.float64).tiny)
    ent = -(flat * np.log(np.clip(flat, 1e-12, 1.0))).sum(axis=0)
    pred = flat.argmax(axis=0)
    return {
        "count": np.bincount(ids, minlength=n).astype(np.int64),
        "prob_sum": np.stack([np.bincount(ids, weights=flat[k], minlength=n)
                              for k in range(c)], axis=1),
        "u_sum": np.bincount(ids, weights=u, minlength=n),
        "entropy_sum": np.bincount(ids, weights=ent, minlength=n),
        "pred_hist": np.bincount(ids * c + pred, minlength=n * c).reshape(n, c).astype(np.int64),
    }


def random_probs(rng, c, h, w, dtype, ties=False):
    logits = rng.standard_normal((c, h, w)) * 3
    if ties:  # coarse logits: many pixels with two or more classes sharing the top value
        logits = np.round(logits / 2)
    p = np.exp(logits - logits.max(axis=0))
    p /= p.sum(axis=0)
    return p.astype(dtype)


def blocky_map(rng, h, w, size):
    """Jittered blocks of about size x size pixels, densely numbered, like SEEDS output."""
    yy, xx = np.mgrid[0:h, 0:w]
    shift = rng.integers(0, size, size=h)[:, None]
    raw = (yy // size) * (w // size + 2) + (xx + shift) // size
    return np.unique(raw, return_inverse=True)[1].reshape(h, w).astype(np.int32)


def check(new, ref, dtype):
    assert set(new) == set(STAT_KEYS)
    for k in STAT_KEYS:
        assert new[k].dtype == ref[k].dtype, k
        assert new[k].shape == ref[k].shape, k
    np.testing.assert_array_equal(new["count"], ref["count"])
    np.testing.assert_array_equal(new["pred_hist"], ref["pred_hist"])
    np.testing.assert_allclose(new["prob_sum"], ref["prob_sum"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(new["u_sum"], ref["u_sum"], rtol=1e-12, atol=1e-12)
    # float32 input: the per-pixel entropy is computed in float32
    tol = 1e-12 if dtype == np.float64 else 2e-6
    np.testing.assert_allclose(new["entropy_sum"], ref["entropy_sum"], rtol=tol,
                               atol=tol * np.maximum(ref["count"], 1).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c", [2, 3, 11, 19])
@pytest.mark.parametrize("kind", ["blocky", "noise"])
def test_matches_reference(dtype, c, kind):
    rng = np.random.default_rng(c * 7 + (kind == "noise"))
    h, w = 37, 53
    if kind == "blocky":
        local = blocky_map(rng, h, w, 6)
    else:  # every pixel its own run: the worst case for run sums
        local = rng.integers(0, 40, size=(h, w)).astype(np.int32)
    n = int(local.max()) + 3  # two empty superpixels at the end
    probs = random_probs(rng, c, h, w, dtype)
    check(superpixel_statistics(probs, local, n), reference(probs, local, n), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ties_follow_argmax_and_partition(dtype):
    rng = np.random.default_rng(3)
    probs = random_probs(rng, 5, 30, 40, dtype, ties=True)
    flat = probs.reshape(5, -1)
    top = np.sort(flat, axis=0)
    assert (top[-1] == top[-2]).mean() > 0.2  # the test does exercise ties
    local = blocky_map(rng, 30, 40, 5)
    n = int(local.max()) + 1
    check(superpixel_statistics(probs, local, n), reference(probs, local, n), dtype)


def test_many_blocks_and_block_edges_inside_runs(monkeypatch):
    # tiny blocks: runs cut at block edges, the last block partial
    monkeypatch.setattr(statistics, "_BLOCK", 97)
    rng = np.random.default_rng(5)
    probs = random_probs(rng, 7, 41, 64, np.float32)
    local = blocky_map(rng, 41, 64, 9)
    n = int(local.max()) + 1
    check(superpixel_statistics(probs, local, n), reference(probs, local, n), np.float32)


def test_larger_than_one_block():
    rng = np.random.default_rng(6)
    h, w = 181, 367  # 66427 pixels: three blocks of the default size
    assert h * w > 2 * statistics._BLOCK
    probs = random_probs(rng, 11, h, w, np.float32)
    local = blocky_map(rng, h, w, 16)
    n = int(local.max()) + 1
    check(superpixel_statistics(probs, local, n), reference(probs, local, n), np.float32)


def test_more_than_255_classes():
    rng = np.random.default_rng(7)
    probs = random_probs(rng, 300, 6, 7, np.float64)
    local = blocky_map(rng, 6, 7, 2)
    n = int(local.max()) + 1
    check(superpixel_statistics(probs, local, n), reference(probs, local, n), np.float64)


def test_all_zero_pixels_and_one_pixel_image():
    probs = np.zeros((3, 2, 2), np.float32)
    probs[:, 0, 0] = [0.2, 0.5, 0.3]
    local = np.array([[0, 0], [1, 1]], np.int32)
    s = superpixel_statistics(probs, local, 2)
    check(s, reference(probs, local, 2), np.float32)
    assert np.isfinite(s["u_sum"]).all() and np.isfinite(s["entropy_sum"]).all()
    one = superpixel_statistics(np.array([[[0.25]], [[0.75]]]), np.zeros((1, 1), np.int32), 1)
    np.testing.assert_allclose(one["u_sum"], [1 / 3])
    np.testing.assert_array_equal(one["pred_hist"], [[0, 1]])


def test_other_input_types():
    # non-contiguous probabilities, a uint16 map, float16 probabilities (computed in float64)
    rng = np.random.default_rng(8)
    probs = random_probs(rng, 4, 20, 30, np.float64)
    local = blocky_map(rng, 20, 30, 4)
    n = int(local.max()) + 1
    view = np.asfortranarray(probs)
    check(superpixel_statistics(view, local.astype(np.uint16), n), reference(probs, local, n),
          np.float64)
    half = probs.astype(np.float16)
    check(superpixel_statistics(half, local, n), reference(half, local, n), np.float64)


def test_empty_image():
    s = superpixel_statistics(np.zeros((3, 0, 4), np.float32), np.zeros((0, 4), np.int32), 2)
    np.testing.assert_array_equal(s["count"], [0, 0])
    assert s["prob_sum"].shape == (2, 3) and s["pred_hist"].shape == (2, 3)
    assert not s["u_sum"].any() and not s["entropy_sum"].any()


def test_bad_maps_are_refused():
    probs = np.full((2, 2, 2), 0.5, np.float32)
    with pytest.raises(ValueError, match="outside"):
        superpixel_statistics(probs, np.array([[0, 1], [2, 3]]), 3)
    with pytest.raises(ValueError, match="different pixels"):
        superpixel_statistics(probs, np.zeros((2, 3), np.int32), 1)
