"""Unit tests of asal.sieving: the Kneedle threshold, per-region rules and the keep mask."""

import numpy as np
import pytest

from asal import sieving
from asal.sieving import SieveSpec, kneedle_threshold, region_threshold, sieve_regions


def knee_curve():
    """100 sorted confidences: 20 low values rising steeply (0 .. 0.855), then a long flat
    plateau of 80 high values 0.9 .. 0.99875."""
    k = np.arange(100)
    return np.where(k < 20, 0.9 * k / 20, 0.9 + 0.1 * (k - 20) / 80)


def test_kneedle_finds_the_bend_of_a_steep_rise_then_plateau():
    # N = 100, n_points = 20 -> stride 5, y = curve[::5] (20 points):
    #   y[0..4] = 0, .225, .45, .675, .9 (k = 0..20); y[5] = .90625, ..., y[19] = .99375.
    # Kneedle (concave, increasing): y_n = y / .99375, x_n = i / 19, D = y_n - x_n:
    #   D[3] = .67925 - .15789 = .5214, D[4] = .90566 - .21053 = .6951 (the only local
    #   max), D[5] = .91195 - .26316 = .6488, D[6] = .91824 - .31579 = .6025.
    # Threshold T = D[4] - S * mean(diff x_n) = .6951 - .0526 = .6425; D[5] >= T,
    # D[6] < T -> knee at i = 4 -> phi = y[4] = curve[20] = 0.9.
    curve = knee_curve()
    conf = np.random.default_rng(0).permutation(curve)  # order of input must not matter
    phi = kneedle_threshold(conf, n_points=20, sensitivity=1.0)
    assert phi == pytest.approx(0.9, abs=1e-12)
    assert phi in set(curve[::5].tolist())  # a value of the sampled curve
    # pixels kept are exactly the plateau
    np.testing.assert_array_equal(np.sort(conf[conf >= phi]), curve[20:])


def test_kneedle_flat_curve_keeps_everything():
    assert kneedle_threshold(np.full(50, 0.7)) == 0.7


def test_kneedle_too_short_curve_returns_min():
    # two points: stride 1, fewer than 3 sampled points -> keep all (phi = min)
    assert kneedle_threshold(np.array([0.9, 0.2])) == 0.2


def test_kneedle_convex_curve_keeps_everything():
    # slow then steep (convex): D = y_n - x_n = x^2 - x <= 0, first local max at i = 0
    # (D = 0), T = 0 - 1/19; D[1] = .0028 - .0526 = -.0499 >= T, D[2] = .0111 - .1053
    # = -.0942 < T -> knee at i = 0 -> phi = min -> every pixel kept.
    x = np.linspace(0, 1, 20)
    conf = 0.3 + 0.6 * x ** 2
    assert kneedle_threshold(conf) == pytest.approx(0.3, abs=1e-12)


class RecordingKnee:
    """Stands in for kneed.KneeLocator and records what it was given."""

    calls = []
    knee_to_return = None

    def __init__(self, x, y, **kw):
        RecordingKnee.calls.append((np.asarray(x), np.asarray(y), kw))
        self.knee = RecordingKnee.knee_to_return


@pytest.fixture
def recorder(monkeypatch):
    RecordingKnee.calls = []
    RecordingKnee.knee_to_return = None
    monkeypatch.setattr(sieving, "KneeLocator", RecordingKnee)
    return RecordingKnee


@pytest.mark.parametrize("n,n_points,stride", [
    (45, 20, 2),     # 45 // 20 = 2 -> 23 points
    (19, 20, 1),     # fewer values than points: stride 1, every value
    (100, 7, 14),    # 100 // 7 = 14 -> indices 0, 14, ..., 98
    (1000, 20, 50),  # 20 points
    (62, 20, 3),     # 0, 3, ..., 60: the last value (61) is not sampled
])
def test_kneedle_samples_like_the_authors(recorder, n, n_points, stride):
    rng = np.random.default_rng(n)
    conf = rng.random(n)
    s = np.sort(conf)
    recorder.knee_to_return = 3
    phi = kneedle_threshold(conf, n_points=n_points, sensitivity=1.5)
    (x, y, kw), = recorder.calls
    expected_y = s[[i * stride for i in range((n + stride - 1) // stride)]]
    np.testing.assert_array_equal(y, expected_y)
    np.testing.assert_array_equal(x, np.arange(len(expected_y)))
    assert kw == {"S": 1.5, "curve": "concave", "direction": "increasing"}
    # the knee is an index into the sampled curve
    assert phi == s[3 * stride]


def test_kneedle_no_knee_keeps_all(recorder):
    conf = np.random.default_rng(5).random(40)
    recorder.knee_to_return = None
    assert kneedle_threshold(conf) == conf.min()


def test_kneedle_random_curves_return_sampled_values():
    # Real kneed: the threshold is always one of the sampled values curve[::stride]
    # (stride 10 here, so a full-curve knee would almost surely be off-sample).
    for seed in range(5):
        conf = np.random.default_rng(seed).beta(5, 1, size=200)
        s = np.sort(conf)
        phi = kneedle_threshold(conf, n_points=20)
        assert phi in set(s[::10].tolist())


# ---------------------------------------------------------------- region_threshold

def test_region_threshold_none_keeps_all():
    conf = np.linspace(0, 1, 1000)
    assert region_threshold(conf, SieveSpec(threshold="none", min_size=1)) == float("-inf")


def test_region_threshold_fixed_phi_and_min_size():
    s = SieveSpec(threshold=0.4, min_size=3)
    assert region_threshold(np.array([0.1, 0.5, 0.9, 0.3, 0.2]), s) == 0.4
    assert region_threshold(np.array([0.1, 0.5, 0.9]), s) == 0.4  # exactly min_size: sieved
    assert region_threshold(np.array([0.1, 0.5]), s) == float("-inf")  # too small: kept


def test_region_threshold_kneedle_respects_min_size():
    curve = knee_curve()  # 100 px, knee 0.9 (see above)
    assert region_threshold(curve, SieveSpec(threshold="kneedle", min_size=100)) == \
        pytest.approx(0.9)
    assert region_threshold(curve, SieveSpec(threshold="kneedle", min_size=101)) == \
        float("-inf")


# ---------------------------------------------------------------- sieve_regions

def test_sieve_regions_fixed_phi():
    # region 0: pixels 0, 2, 5 with conf .9, .5, .6 -> phi .5 -> all kept (>=)
    # region 1: pixels 1, 3, 4 with conf .3, .2, .8 -> phi .5 -> only pixel 4 kept
    # region 2: no pixel -> threshold stays -inf
    conf = np.array([0.9, 0.3, 0.5, 0.2, 0.8, 0.6])
    region = np.array([0, 1, 0, 1, 1, 0])
    keep, thr = sieve_regions(conf, region, 3, SieveSpec(threshold=0.5, min_size=3))
    np.testing.assert_array_equal(keep, [True, False, True, False, True, True])
    np.testing.assert_array_equal(thr, [0.5, 0.5, -np.inf])


def test_sieve_regions_small_regions_kept_whole():
    conf = np.array([0.9, 0.3, 0.5, 0.2, 0.8, 0.6])
    region = np.array([0, 1, 0, 1, 1, 0])
    keep, thr = sieve_regions(conf, region, 2, SieveSpec(threshold=0.5, min_size=4))
    assert keep.all()
    np.testing.assert_array_equal(thr, [-np.inf, -np.inf])


def test_sieve_regions_mixed_sizes_and_kneedle():
    # region 0: the 100-px knee curve (shuffled) -> phi 0.9, keeps the 80 plateau pixels;
    # region 1: 5 px, below min_size 50 -> kept whole even at low confidence.
    curve = knee_curve()
    rng = np.random.default_rng(1)
    conf = np.concatenate([curve, [0.01, 0.02, 0.03, 0.04, 0.05]])
    region = np.concatenate([np.zeros(100, int), np.ones(5, int)])
    perm = rng.permutation(len(conf))
    conf, region = conf[perm], region[perm]
    keep, thr = sieve_regions(conf, region, 2, SieveSpec(threshold="kneedle", min_size=50))
    assert thr[0] == pytest.approx(0.9) and thr[1] == -np.inf
    assert keep[region == 1].all()
    assert keep[region == 0].sum() == 80
    np.testing.assert_array_equal(keep[region == 0], conf[region == 0] >= 0.9)


@pytest.mark.parametrize("kw", [dict(threshold=1.5), dict(threshold=-0.1),
                                dict(threshold="otsu"), dict(scope="old"), dict(n_points=2)])
def test_sieve_spec_rejects(kw):
    with pytest.raises(ValueError):
        SieveSpec(**kw)
