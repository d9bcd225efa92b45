"""Unit tests of asal.method.acquisition: class prior, acquisition scores (eq. 4-7), top-B choice."""

import math

import numpy as np
import pytest

from asal.method.acquisition import (
    AcquireSpec,
    class_prior,
    dominant_prediction,
    scores,
    select_top,
    tiebreak_keys,
)

# ---------------------------------------------------------------- class_prior

def test_class_prior_pixel_weights():
    # dominant [0, 2, 0, 1], pixels [10, 20, 30, 40]: class 0 -> 40, 1 -> 40, 2 -> 20, 3 -> 0
    p = class_prior(np.array([0, 2, 0, 1]), np.array([10.0, 20.0, 30.0, 40.0]), 4)
    np.testing.assert_allclose(p, [0.4, 0.4, 0.2, 0.0])


def test_class_prior_region_weights():
    # one per region: class 0 -> 2/4, 1 -> 1/4, 2 -> 1/4, 3 -> 0
    p = class_prior(np.array([0, 2, 0, 1]), np.ones(4), 4)
    np.testing.assert_allclose(p, [0.5, 0.25, 0.25, 0.0])


def test_class_prior_zero_total_is_zero_not_nan():
    p = class_prior(np.array([0, 1]), np.zeros(2), 3)
    np.testing.assert_array_equal(p, [0.0, 0.0, 0.0])


def test_dominant_prediction_ties_go_to_lowest_class():
    np.testing.assert_array_equal(
        dominant_prediction(np.array([[7, 3, 0], [0, 10, 10], [5, 5, 5], [0, 0, 1]])),
        [0, 1, 0, 2])


# ---------------------------------------------------------------- scores

# Four regions, three classes.
#   count  u_sum  u = u_sum/count   pred_hist     D     entropy_sum
#   10     5      0.5               [7, 3, 0]     0     1   -> 0.1
#   20     4      0.2               [0, 10, 10]   1     2   -> 0.1  (tie 1/2 -> 1)
#   30     24     0.8               [20, 10, 0]   0     3   -> 0.1
#   40     16     0.4               [10, 10, 20]  2     8   -> 0.2
# pixel prior:  p(0) = (10+30)/100 = .4, p(1) = 20/100 = .2, p(2) = 40/100 = .4
# region prior: p(0) = 2/4 = .5,        p(1) = 1/4,          p(2) = 1/4
STATS = {
    "count": np.array([10, 20, 30, 40], dtype=np.int64),
    "u_sum": np.array([5.0, 4.0, 24.0, 16.0]),
    "entropy_sum": np.array([1.0, 2.0, 3.0, 8.0]),
    "pred_hist": np.array([[7, 3, 0], [0, 10, 10], [20, 10, 0], [10, 10, 20]],
                          dtype=np.int64),
    "prob_sum": np.zeros((4, 3)),
}
U = [0.5, 0.2, 0.8, 0.4]
e = math.exp


def test_scores_classbal_pixel():
    score, u, dom = scores(STATS, AcquireSpec("classbal_pixel", "none"))
    np.testing.assert_allclose(u, U)
    np.testing.assert_array_equal(dom, [0, 1, 0, 2])
    np.testing.assert_allclose(score, [0.5 * e(-.4), 0.2 * e(-.2), 0.8 * e(-.4), 0.4 * e(-.4)],
                               rtol=1e-12)
    # numerically: [0.335160, 0.163746, 0.536256, 0.268128]
    np.testing.assert_allclose(score, [0.335160, 0.163746, 0.536256, 0.268128], atol=1e-6)


def test_scores_classbal_superpixel():
    score, _, _ = scores(STATS, AcquireSpec("classbal_superpixel", "none"))
    np.testing.assert_allclose(score, [0.5 * e(-.5), 0.2 * e(-.25), 0.8 * e(-.5),
                                       0.4 * e(-.25)], rtol=1e-12)


def test_scores_bvsb_is_mean_uncertainty():
    score, u, _ = scores(STATS, AcquireSpec("bvsb", "none"))
    np.testing.assert_allclose(score, U)


def test_scores_entropy_is_mean_entropy():
    score, _, _ = scores(STATS, AcquireSpec("entropy", "none"))
    np.testing.assert_allclose(score, [0.1, 0.1, 0.1, 0.2])


def test_scores_random_is_all_ties():
    score, _, _ = scores(STATS, AcquireSpec("random", "none"))
    np.testing.assert_array_equal(score, np.zeros(4))


def test_scores_minmax_normalises_u_before_weighting():
    # u = [.5, .2, .8, .4] -> (u - .2) / .6 = [.5, 0, 1, 1/3]; returned u stays raw.
    score, u, _ = scores(STATS, AcquireSpec("classbal_pixel", "minmax"))
    np.testing.assert_allclose(u, U)
    np.testing.assert_allclose(score, [0.5 * e(-.4), 0.0, 1.0 * e(-.4), (1 / 3) * e(-.4)],
                               rtol=1e-12, atol=1e-15)
    score_b, _, _ = scores(STATS, AcquireSpec("bvsb", "minmax"))
    np.testing.assert_allclose(score_b, [0.5, 0.0, 1.0, 1 / 3], atol=1e-12)


def test_scores_minmax_constant_u_gives_zeros():
    stats = dict(STATS, u_sum=np.array([2.0, 4.0, 6.0, 8.0]))  # u = 0.2 everywhere
    score, u, _ = scores(stats, AcquireSpec("bvsb", "minmax"))
    np.testing.assert_allclose(u, [0.2] * 4)
    np.testing.assert_array_equal(score, np.zeros(4))


def test_scores_authors_is_u_over_max_with_float32_class_weights():
    # u = [.5, .2, .8, .4], max .8 -> u / max = [.625, .25, 1, .5]; p = [.4, .2, .4] as in
    # classbal_pixel; weights exp(-p) computed in float32 as the authors do.
    score, u, _ = scores(STATS, AcquireSpec("classbal_pixel", "authors"))
    np.testing.assert_allclose(u, U)
    w = [float(np.exp(-np.float32(p))) for p in (.4, .2, .4, .4)]
    np.testing.assert_array_equal(score, np.array([.625, .25, 1.0, .5]) * w)
    np.testing.assert_allclose(score, [.625 * e(-.4), .25 * e(-.2), e(-.4), .5 * e(-.4)],
                               rtol=1e-6)
    score_b, _, _ = scores(STATS, AcquireSpec("bvsb", "authors"))
    np.testing.assert_allclose(score_b, [.625, .25, 1.0, .5], rtol=1e-12)
    zero = dict(STATS, u_sum=np.zeros(4))  # max 0: every score 0, no division by zero
    np.testing.assert_array_equal(scores(zero, AcquireSpec("bvsb", "authors"))[0], np.zeros(4))


def test_normalisations_rank_differently_where_the_minimum_matters():
    # A: 10 px, u .5, class 1; B: 80 px, u .8, class 0; C: 10 px, u .4, class 0 (the minimum).
    # p(0) = .9, p(1) = .1.
    #   none:    A = .5 e^-.1 = .452419, B = .8 e^-.9 = .325256, C = .4 e^-.9 = .162628
    #   authors: A = .625 e^-.1 = .565523, B = e^-.9 = .406570, C = .5 e^-.9 = .203285
    #   minmax:  A = .25 e^-.1 = .226209, B = e^-.9 = .406570, C = 0
    stats = {"count": np.array([10, 80, 10]), "u_sum": np.array([5.0, 64.0, 4.0]),
             "entropy_sum": np.zeros(3), "pred_hist": np.array([[0, 10], [80, 0], [10, 0]]),
             "prob_sum": np.zeros((3, 2))}
    expected = {"none": [.452419, .325256, .162628], "authors": [.565523, .406570, .203285],
                "minmax": [.226209, .406570, 0.0]}
    for normalize, want in expected.items():
        score, _, _ = scores(stats, AcquireSpec("classbal_pixel", normalize))
        np.testing.assert_allclose(score, want, atol=1e-6)
    # authors ranks as raw u(s) does (A first); a true min-max puts B first.


def test_scores_rare_class_outranks_frequent_class_at_equal_u():
    # Two regions with the same u = .5: region 0 predicted class 0 (90 px), region 1 class 1
    # (10 px). p(0) = .9, p(1) = .1: a = [.5 e^-.9, .5 e^-.1] -> the rare class wins.
    stats = {"count": np.array([90, 10]), "u_sum": np.array([45.0, 5.0]),
             "entropy_sum": np.zeros(2), "pred_hist": np.array([[90, 0], [0, 10]]),
             "prob_sum": np.zeros((2, 2))}
    score, _, _ = scores(stats, AcquireSpec("classbal_pixel"))
    np.testing.assert_allclose(score, [0.5 * e(-0.9), 0.5 * e(-0.1)])
    assert score[1] > score[0]


@pytest.mark.parametrize("kw", [dict(function="coreset"), dict(normalize="zscore")])
def test_acquire_spec_rejects(kw):
    with pytest.raises(ValueError):
        AcquireSpec(**kw)


# ---------------------------------------------------------------- select_top

SCORE = np.array([0.3, 0.9, 0.1, 0.7, 0.5])


def keys(n: int, seed: int) -> np.ndarray:
    return tiebreak_keys(np.arange(n), seed)
CAND = np.array([True, True, True, False, True])


def test_select_top_best_first_skips_non_candidates():
    # candidates 0, 1, 2, 4 by score: 1 (.9), 4 (.5), 0 (.3), 2 (.1); 3 (.7) is not a candidate
    got = select_top(SCORE, CAND, 3, keys(5, 0))
    np.testing.assert_array_equal(got, [1, 4, 0])


def test_select_top_budget_above_candidates_returns_all_candidates():
    got = select_top(SCORE, CAND, 10, keys(5, 0))
    np.testing.assert_array_equal(got, [1, 4, 0, 2])


def test_select_top_zero_budget_and_no_candidates():
    assert len(select_top(SCORE, CAND, 0, keys(5, 0))) == 0
    assert len(select_top(SCORE, np.zeros(5, bool), 3, keys(5, 0))) == 0


def test_select_top_negative_budget_rejected():
    with pytest.raises(ValueError):
        select_top(SCORE, CAND, -1, keys(5, 0))


def test_select_top_ties_seeded():
    score = np.zeros(20)
    cand = np.ones(20, bool)
    a = select_top(score, cand, 20, keys(20, 11))
    b = select_top(score, cand, 20, keys(20, 11))
    c = select_top(score, cand, 20, keys(20, 12))
    np.testing.assert_array_equal(a, b)
    assert sorted(a.tolist()) == list(range(20))
    assert not np.array_equal(a, c)  # two seeds, two orders (20! possible)
    assert not np.array_equal(a, np.arange(20))  # ties are not broken by id


def test_select_top_ties_only_reorder_tied_items():
    # 0 is best, 4 worst; 1, 2, 3 tie in the middle: whatever the seed, 0 first and 4 last
    score = np.array([1.0, 0.5, 0.5, 0.5, 0.0])
    orders = set()
    for seed in range(30):
        got = select_top(score, np.ones(5, bool), 5, keys(5, seed))
        assert got[0] == 0 and got[-1] == 4
        assert sorted(got[1:4].tolist()) == [1, 2, 3]
        orders.add(tuple(got[1:4].tolist()))
    assert len(orders) > 1  # the tie is actually broken at random


# ------------------------------------------------ PoolSummary and TopB (streamed top B)


@pytest.mark.parametrize("function", ["classbal_pixel", "classbal_superpixel", "bvsb",
                                      "entropy", "random"])
@pytest.mark.parametrize("normalize", ["none", "minmax", "authors"])
@pytest.mark.parametrize("budget", [1, 3, 40])
def test_streamed_top_b_in_blocks_equals_whole_pool(function, normalize, budget):
    # 600 regions in 30 blocks of 20, 3 classes; u and entropy on a coarse grid so that many
    # regions tie (only the seeded keys order them) and the buffer is cut back often.
    rng = np.random.default_rng(7)
    n, n_classes = 600, 3
    count = rng.integers(1, 50, n)
    u = rng.integers(0, 5, n) / 4
    entropy = rng.integers(0, 3, n) / 2
    dominant = rng.choice(n_classes, n, p=[0.7, 0.2, 0.1])
    pred_hist = np.zeros((n, n_classes), np.int64)
    pred_hist[np.arange(n), dominant] = count
    candidate = rng.random(n) < 0.8
    keys = tiebreak_keys(np.arange(n), 5)
    spec = AcquireSpec(function=function, normalize=normalize)
    score, _, _ = scores({"count": count, "u_sum": u * count, "entropy_sum": entropy * count,
                          "pred_hist": pred_hist}, spec)
    expected = select_top(score, candidate, budget, keys)

    from asal.method.acquisition import PoolSummary, Regions, TopB, checked_scores

    def block(sl):
        return Regions(count=count[sl].astype(float), u=u[sl], entropy=entropy[sl],
                       dominant=dominant[sl], n_base=np.ones(20, np.int64))

    summary, top = PoolSummary(n_classes), TopB(budget)
    for lo in range(0, n, 20):
        summary.add(block(slice(lo, lo + 20)), candidate[lo:lo + 20])
    pool = summary.pool(spec)
    for lo in range(0, n, 20):
        sl = slice(lo, lo + 20)
        top.add({"rep": np.arange(n)[sl], "key": keys[sl]},
                checked_scores(spec, block(sl), pool), candidate[sl])
    kept, got_score = top.finish()
    np.testing.assert_array_equal(kept["rep"], expected)
    np.testing.assert_allclose(got_score, score[expected])
    assert summary.n_candidates == candidate.sum()


# ---------------------------------------------------------------- void-aware acquisition


def test_void_aware_score_discounts_eq7_by_the_predicted_void_chance_by_hand():
    # two regions: 10 px predicted class 0 with u 0.5 and no void; 30 px predicted class 1
    # with u 0.8 and a mean void probability of 0.75. p(0) = 10/40, p(1) = 30/40.
    stats = {"count": np.array([10, 30]), "u_sum": np.array([5.0, 24.0]),
             "entropy_sum": np.array([1.0, 1.0]),
             "pred_hist": np.array([[10, 0], [0, 30]]), "void_sum": np.array([0.0, 22.5])}
    eq7, _, _ = scores(stats, AcquireSpec(function="classbal_pixel"))
    np.testing.assert_allclose(eq7, [0.5 * np.exp(-0.25), 0.8 * np.exp(-0.75)])
    aware, _, _ = scores(stats, AcquireSpec(function="void_aware"))
    np.testing.assert_allclose(aware, [0.5 * np.exp(-0.25), 0.8 * np.exp(-0.75) * 0.25])
    squared, _, _ = scores(stats, AcquireSpec(function="void_aware", void_power=2.0))
    np.testing.assert_allclose(squared, [0.5 * np.exp(-0.25), 0.8 * np.exp(-0.75) * 0.0625])
    # under eq. 7 the two score close (0.389 and 0.378); the discount cuts the void-looking
    # region's to a quarter
    assert aware[1] < eq7[1] / 3
    # no void output: refused, saying which model has one
    del stats["void_sum"]
    with pytest.raises(ValueError, match="feature_head"):
        scores(stats, AcquireSpec(function="void_aware"))


def test_a_score_function_of_ones_own_by_module_and_function(tmp_path, monkeypatch):
    (tmp_path / "myscores.py").write_text(
        "import numpy as np\n"
        "def smallest_first(regions, pool):\n"
        "    return -regions.count.astype(float)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    stats = {"count": np.array([10, 3, 7]), "u_sum": np.zeros(3), "entropy_sum": np.zeros(3),
             "pred_hist": np.array([[10, 0], [3, 0], [0, 7]])}
    score, _, _ = scores(stats, AcquireSpec(function="myscores:smallest_first"))
    assert score.tolist() == [-10.0, -3.0, -7.0]
    with pytest.raises(Exception, match="no 'nothere'"):
        AcquireSpec(function="myscores:nothere").score_function
    with pytest.raises(Exception, match="cannot import module 'nomodule'"):
        AcquireSpec(function="nomodule:f").score_function
