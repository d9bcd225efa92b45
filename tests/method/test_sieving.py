"""Unit tests of asal.method.sieving: the Kneedle threshold, per-region rules and the keep mask."""

import numpy as np
import pytest

from asal.method import sieving
from asal.method.sieving import SieveSpec, kneedle_threshold, region_threshold, sieve_regions


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
    """Stands in for sieving.knee_index and records what it was given."""

    calls = []
    knee_to_return = None

    @staticmethod
    def knee_index(y, sensitivity=1.0):
        RecordingKnee.calls.append((np.asarray(y), sensitivity))
        return RecordingKnee.knee_to_return


@pytest.fixture
def recorder(monkeypatch):
    RecordingKnee.calls = []
    RecordingKnee.knee_to_return = None
    monkeypatch.setattr(sieving, "knee_index", RecordingKnee.knee_index)
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
    (y, sensitivity), = recorder.calls
    expected_y = s[[i * stride for i in range((n + stride - 1) // stride)]]
    np.testing.assert_array_equal(y, expected_y)
    assert sensitivity == 1.5
    # the knee is an index into the sampled curve
    assert phi == s[3 * stride]


def test_kneedle_no_knee_keeps_all(recorder):
    conf = np.random.default_rng(5).random(40)
    recorder.knee_to_return = None
    assert kneedle_threshold(conf) == conf.min()


# Sampled confidence curves (every N // 20-th sorted value of a synthetic region of 512 to
# 4000 px, rounded to 3 decimals) on which kneed 0.8.5 and kneed 0.9.0 disagree, with the
# knee index each gives (KneeLocator(range(n), y, S=1, curve="concave",
# direction="increasing")). Of 600 such curves, 34 disagree; 3000 unrounded ones were all
# found at 0.8.5's knee by knee_index. 0.8.6 and later stop looking for a knee after a local
# minimum of the difference curve until the next maximum, so where 0.8.5 stops at an early
# dip they go on to a later bend.
DISAGREEING_CURVES = [  # (y, kneed 0.8.5 knee, kneed 0.9.0 knee)
    ([0, 0.022, 0.07, 0.126, 0.224, 0.385, 0.669, 0.77, 0.82, 0.858, 0.882, 0.903, 0.922,
      0.939, 0.95, 0.962, 0.971, 0.981, 0.989, 0.996, 1], 0, 7),
    ([0, 0.044, 0.078, 0.114, 0.162, 0.213, 0.273, 0.369, 0.826, 0.934, 0.96, 0.974, 0.982,
      0.988, 0.993, 0.995, 0.998, 0.999, 1, 1, 1], 0, 9),
    ([0, 0.027, 0.061, 0.103, 0.153, 0.202, 0.263, 0.363, 0.518, 0.641, 0.709, 0.75, 0.785,
      0.816, 0.841, 0.863, 0.885, 0.905, 0.927, 0.95, 0.985], 0, 10),
    ([0.001, 0.071, 0.126, 0.166, 0.214, 0.254, 0.295, 0.345, 0.384, 0.432, 0.487, 0.548,
      0.622, 0.684, 0.751, 0.81, 0.872, 0.921, 0.956, 0.981, 1], 2, 16),
    ([0.007, 0.077, 0.112, 0.15, 0.201, 0.242, 0.278, 0.324, 0.386, 0.495, 0.659, 0.843,
      0.876, 0.902, 0.918, 0.934, 0.947, 0.957, 0.968, 0.979, 0.991], 1, 11),
    ([0.002, 0.053, 0.095, 0.132, 0.17, 0.216, 0.262, 0.326, 0.421, 0.689, 0.831, 0.864,
      0.889, 0.908, 0.926, 0.939, 0.952, 0.962, 0.973, 0.984, 0.996], 1, 10),
]


@pytest.mark.parametrize("y,knee_085,knee_090", DISAGREEING_CURVES)
def test_knee_is_kneed_085s_where_versions_disagree(y, knee_085, knee_090):
    y = np.asarray(y, dtype=np.float64)
    assert knee_085 != knee_090
    assert sieving.knee_index(y, 1.0) == knee_085
    # The sieve's threshold on a region whose sorted confidences are exactly these values
    # (N = 21 < 20 * 2: stride 1, every value sampled) is 0.8.5's.
    conf = np.random.default_rng(0).permutation(y)
    assert kneedle_threshold(conf, n_points=20, sensitivity=1.0) == y[knee_085]


def test_knee_index_hand_worked():
    # y = 0, .6, .8, .9, 1 on x = 0..4: x_n = 0, .25, .5, .75, 1; D = 0, .35, .3, .15, 0.
    # Maxima of D: i = 1 (and i = 0? D[0] = 0 < D[1]: no). T = .35 - 1 * .25 = .1.
    # i = 1: D[2] = .3 >= .1; i = 2: D[3] = .15 >= .1; i = 3 (D[3] is no minimum:
    # D[4] = 0 < .15): D[4] = 0 < .1 -> knee at the last maximum, i = 1.
    assert sieving.knee_index(np.array([0, .6, .8, .9, 1.0])) == 1
    # With S = 0.2, T = .35 - .05 = .3: i = 1: D[2] = .3 >= .3; i = 2: D[3] = .15 < .3 -> 1.
    assert sieving.knee_index(np.array([0, .6, .8, .9, 1.0]), 0.2) == 1
    # A straight line: D = 0 everywhere, every point a maximum and a minimum, threshold 0,
    # nothing drops below it -> no knee.
    assert sieving.knee_index(np.linspace(0.2, 0.9, 8)) is None
    # A minimum resets the threshold to 0 (kneed <= 0.8.5): y = 0, .5, .5, .9, 1 gives
    # D = 0, .25, 0, .15, 0; the maximum at 1 (T = .25 - .25 = 0) and the minimum at 2
    # (T = 0): D[3] = .15 >= 0, then the maximum at 3 (T = .15 - .25 = -.1): D[4] = 0
    # >= -.1, end of the curve -> no knee.
    assert sieving.knee_index(np.array([0, .5, .5, .9, 1.0])) is None


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


def test_min_size_null_is_twice_the_superpixels_target_size():
    """The schema's default (null) means twice the target size of the superpixels sieved,
    read from their file: 512 at 256, the authors' setting; without a target (the ground
    truth's components) twice their mean size. A number given is kept."""
    spec = SieveSpec()
    assert spec.min_size is None
    assert spec.for_superpixels({"target_size": 256, "achieved_mean_size": 262.4}).min_size == 512
    assert spec.for_superpixels({"achieved_mean_size": 40.6}).min_size == 82
    assert SieveSpec(min_size=300).for_superpixels({"target_size": 256}).min_size == 300
