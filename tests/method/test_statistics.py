"""Unit tests of asal.method.statistics: per-pixel uncertainty/entropy and per-superpixel sums."""

import math

import numpy as np
import pytest

from asal.method.statistics import (
    STAT_KEYS,
    pixel_entropy,
    pixel_uncertainty,
    sum_rows,
    superpixel_statistics,
)


def H(*p):
    """Hand entropy (natural log), 0 log 0 = 0."""
    return -sum(x * math.log(x) for x in p if x > 0)


# ---------------------------------------------------------------- pixel_uncertainty

@pytest.mark.parametrize("probs,expected", [
    ([0.5, 0.3, 0.2], 0.6),       # 0.3 / 0.5
    ([0.2, 0.5, 0.3], 0.6),       # same values, other class order
    ([0.1, 0.1, 0.8], 0.125),     # 0.1 / 0.8
    ([0.4, 0.4, 0.2], 1.0),       # tie at the top: maximal uncertainty
    ([1.0, 0.0, 0.0], 0.0),       # certain
    ([0.25, 0.75], 1.0 / 3.0),    # two classes: min / max
])
def test_pixel_uncertainty_single_pixel(probs, expected):
    assert pixel_uncertainty(np.array(probs)) == pytest.approx(expected, abs=1e-12)


def test_pixel_uncertainty_image_shape():
    # probs is (C, H, W) = (3, 1, 2): pixel a = [0.5, 0.3, 0.2] -> 0.6,
    # pixel b = [0.1, 0.1, 0.8] -> 0.125.
    probs = np.array([[[0.5, 0.1]], [[0.3, 0.1]], [[0.2, 0.8]]])
    u = pixel_uncertainty(probs)
    assert u.shape == (1, 2)
    np.testing.assert_allclose(u, [[0.6, 0.125]], atol=1e-12)


def test_pixel_uncertainty_all_zero_is_finite():
    # A degenerate all-zero pixel must not produce NaN/inf (0 / tiny = 0).
    u = pixel_uncertainty(np.zeros((3, 2)))
    assert np.all(np.isfinite(u))


# ---------------------------------------------------------------- pixel_entropy

def test_pixel_entropy_hand_values():
    # columns: [0.5, 0.5] -> ln 2; [1, 0] -> 0 (no NaN from 0 log 0); [0.9, 0.1] -> H(0.9, 0.1)
    probs = np.array([[0.5, 1.0, 0.9],
                      [0.5, 0.0, 0.1]])
    np.testing.assert_allclose(pixel_entropy(probs), [math.log(2), 0.0, H(0.9, 0.1)],
                               atol=1e-12)


def test_pixel_entropy_uniform_four_classes():
    assert pixel_entropy(np.full(4, 0.25)) == pytest.approx(math.log(4), abs=1e-12)


# ---------------------------------------------------------------- superpixel_statistics

# 4x4 image, 3 superpixels, 2 classes.
LOCAL_MAP = np.array([[0, 0, 1, 1],
                      [0, 0, 1, 1],
                      [2, 2, 2, 2],
                      [2, 2, 2, 2]])
# probability of class 0 per pixel; class 1 is 1 - p0
P0 = np.array([[0.9, 0.8, 0.2, 0.3],
               [0.6, 0.5, 0.4, 0.1],
               [0.7, 0.7, 0.7, 0.7],
               [0.2, 0.2, 0.2, 0.2]])


@pytest.fixture(scope="module")
def stats():
    probs = np.stack([P0, 1.0 - P0]).astype(np.float32)  # float32 in, float64 sums out
    return superpixel_statistics(probs, LOCAL_MAP, 3)


def test_statistics_keys_and_dtypes(stats):
    assert set(stats) == set(STAT_KEYS)
    assert stats["count"].dtype == np.int64
    assert stats["pred_hist"].dtype == np.int64
    assert stats["prob_sum"].dtype == np.float64
    assert stats["prob_sum"].shape == (3, 2)
    assert stats["pred_hist"].shape == (3, 2)


def test_statistics_count(stats):
    np.testing.assert_array_equal(stats["count"], [4, 4, 8])


def test_statistics_prob_sum(stats):
    # sp0: p0 = .9+.8+.6+.5 = 2.8, p1 = 1.2
    # sp1: p0 = .2+.3+.4+.1 = 1.0, p1 = 3.0
    # sp2: p0 = 4*.7 + 4*.2 = 3.6, p1 = 4.4
    np.testing.assert_allclose(stats["prob_sum"], [[2.8, 1.2], [1.0, 3.0], [3.6, 4.4]],
                               atol=1e-6)


def test_statistics_u_sum(stats):
    # two classes: u = min / max
    # sp0: .1/.9 + .2/.8 + .4/.6 + .5/.5 = 1/9 + 1/4 + 2/3 + 1
    # sp1: .2/.8 + .3/.7 + .4/.6 + .1/.9 = 1/4 + 3/7 + 2/3 + 1/9
    # sp2: 4 * (.3/.7) + 4 * (.2/.8) = 12/7 + 1
    expected = [1 / 9 + 1 / 4 + 2 / 3 + 1, 1 / 4 + 3 / 7 + 2 / 3 + 1 / 9, 12 / 7 + 1]
    np.testing.assert_allclose(stats["u_sum"], expected, atol=1e-5)


def test_statistics_entropy_sum(stats):
    expected = [H(.9, .1) + H(.8, .2) + H(.6, .4) + H(.5, .5),
                H(.2, .8) + H(.3, .7) + H(.4, .6) + H(.1, .9),
                4 * H(.7, .3) + 4 * H(.2, .8)]
    np.testing.assert_allclose(stats["entropy_sum"], expected, atol=1e-5)


def test_statistics_pred_hist(stats):
    # sp0: argmax 0,0,0 and a 0.5/0.5 tie -> lowest class 0: [4, 0]
    # sp1: all class 1: [0, 4]; sp2: row 2 class 0, row 3 class 1: [4, 4]
    np.testing.assert_array_equal(stats["pred_hist"], [[4, 0], [0, 4], [4, 4]])


def test_statistics_three_classes_and_empty_superpixel():
    # 1x3 image, map [0, 1, 1], 3 classes, n_superpixels = 3 (id 2 has no pixel).
    # pixels: a = [.2, .3, .5] (sp0), b = [.6, .3, .1] (sp1), c = [.1, .1, .8] (sp1)
    probs = np.array([[[0.2, 0.6, 0.1]],
                      [[0.3, 0.3, 0.1]],
                      [[0.5, 0.1, 0.8]]])
    s = superpixel_statistics(probs, np.array([[0, 1, 1]]), 3)
    np.testing.assert_array_equal(s["count"], [1, 2, 0])
    # sp1 prob sum: [.6+.1, .3+.1, .1+.8] = [.7, .4, .9]
    np.testing.assert_allclose(s["prob_sum"], [[.2, .3, .5], [.7, .4, .9], [0, 0, 0]],
                               atol=1e-12)
    # u: a = .3/.5 = .6; b = .3/.6 = .5; c = .1/.8 = .125 -> sp1 .625
    np.testing.assert_allclose(s["u_sum"], [.6, .625, 0.0], atol=1e-12)
    # predicted classes: a -> 2, b -> 0, c -> 2
    np.testing.assert_array_equal(s["pred_hist"], [[0, 0, 1], [1, 0, 1], [0, 0, 0]])


# ---------------------------------------------------------------- sum_rows

def test_sum_rows_hand():
    stats = {
        "count": np.array([4, 4, 8], dtype=np.int64),
        "prob_sum": np.array([[2.8, 1.2], [1.0, 3.0], [3.6, 4.4]]),
        "u_sum": np.array([0.5, 0.25, 2.0]),
        "pred_hist": np.array([[4, 0], [0, 4], [4, 4]], dtype=np.int64),
    }
    # groups: rows 0 and 1 -> group 1, row 2 -> group 0, group 2 empty
    out = sum_rows(stats, np.array([1, 1, 0]), 3)
    np.testing.assert_array_equal(out["count"], [8, 8, 0])
    assert out["count"].dtype == np.int64
    np.testing.assert_allclose(out["prob_sum"], [[3.6, 4.4], [3.8, 4.2], [0.0, 0.0]])
    np.testing.assert_allclose(out["u_sum"], [2.0, 0.75, 0.0])
    np.testing.assert_array_equal(out["pred_hist"], [[4, 4], [4, 4], [0, 0]])
    assert out["pred_hist"].dtype == np.int64
    assert out["u_sum"].dtype == np.float64


def test_sum_rows_identity_groups_returns_same_values():
    stats = {"count": np.array([3, 1, 2], dtype=np.int64),
             "prob_sum": np.array([[1.0, 2.0], [0.5, 0.5], [1.5, 0.5]])}
    out = sum_rows(stats, np.array([0, 1, 2]), 3)
    np.testing.assert_array_equal(out["count"], [3, 1, 2])
    np.testing.assert_allclose(out["prob_sum"], stats["prob_sum"])
