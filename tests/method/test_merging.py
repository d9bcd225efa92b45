"""Unit tests of asal.method.merging: the JS distance, seed order, greedy growth and its variants."""

import math

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import jensenshannon

from asal.method.merging import (
    MAX_JS_DISTANCE,
    MergeSpec,
    js_distance,
    merge_components,
    merge_greedy,
    merge_image,
    seed_order,
)

EPS = 0.1


def spec(**kw):
    base = dict(mode="greedy", epsilon=EPS, seeds="all", seed_fraction=1.0)
    base.update(kw)
    return MergeSpec(**base)


def no_frozen(n):
    return np.zeros(n, dtype=bool)


# ---------------------------------------------------------------- js_distance

def test_js_distance_disjoint_supports_is_max():
    # p = [1,0], q = [0,1]: m = [.5,.5]; KL(p||m) = ln 2 = KL(q||m); JS = ln 2.
    d = js_distance(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    assert d == pytest.approx(math.sqrt(math.log(2)), abs=1e-12)
    assert MAX_JS_DISTANCE == pytest.approx(0.8325546111576977, abs=1e-12)


def test_js_distance_half_vs_certain():
    # p = [.5,.5], q = [1,0]: m = [.75,.25].
    # KL(p||m) = .5 ln(.5/.75) + .5 ln(.5/.25) = .5 ln(4/3)
    # KL(q||m) = ln(1/.75) = ln(4/3)
    # JS = (.5 ln(4/3) + ln(4/3)) / 2 = .75 ln(4/3) = 0.2157615...; sqrt = 0.4645014...
    d = js_distance(np.array([0.5, 0.5]), np.array([1.0, 0.0]))
    assert d == pytest.approx(math.sqrt(0.75 * math.log(4 / 3)), abs=1e-12)
    assert d == pytest.approx(0.464502, abs=1e-6)


def test_js_distance_symmetric_and_rowwise():
    p = np.array([[0.5, 0.5], [1.0, 0.0]])
    q = np.array([[1.0, 0.0], [0.0, 1.0]])
    d = js_distance(p, q)
    assert d.shape == (2,)
    np.testing.assert_allclose(d, [math.sqrt(0.75 * math.log(4 / 3)),
                                   math.sqrt(math.log(2))], atol=1e-12)
    np.testing.assert_allclose(js_distance(q, p), d, atol=1e-15)


def test_js_distance_matches_scipy_on_random_rows():
    rng = np.random.default_rng(1)
    for n_classes in (2, 3, 7, 19):
        p = rng.dirichlet(np.ones(n_classes), size=50)
        q = rng.dirichlet(np.ones(n_classes), size=50)
        # a few rows with exact zeros
        p[:5, 0] = 0.0
        p[:5] /= p[:5].sum(axis=1, keepdims=True)
        ours = js_distance(p, q)
        ref = np.array([jensenshannon(a, b) for a, b in zip(p, q)])  # natural log
        np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_js_distance_identical_rows_exactly_zero():
    rng = np.random.default_rng(2)
    p = rng.dirichlet(np.ones(5), size=20)
    p[0] = [1, 0, 0, 0, 0]
    d = js_distance(p, p.copy())
    assert not np.any(np.isnan(d))
    np.testing.assert_array_equal(d, np.zeros(20))


def test_js_distance_near_identical_is_not_nan():
    # The authors' float32 version gives NaN here; ours clips the divergence at 0.
    p = np.array([0.3, 0.3, 0.4], dtype=np.float32)
    q = np.nextafter(p, np.float32(1.0))
    q = q / q.sum()
    d = js_distance(p[None], q[None].astype(np.float32))
    assert np.isfinite(d).all()
    assert 0.0 <= float(d[0]) < 1e-3


def test_js_distance_broadcast_one_against_many():
    seed = np.array([[0.5, 0.5]])
    others = np.array([[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]])
    r = math.sqrt(0.75 * math.log(4 / 3))
    np.testing.assert_allclose(js_distance(seed, others), [0.0, r, r], atol=1e-12)


# ---------------------------------------------------------------- seed_order

def test_seed_order_decreasing_with_id_ties():
    u = np.array([0.2, 0.9, 0.5, 0.9, 0.2])
    # 0.9: ids 1, 3 (ascending); 0.5: id 2; 0.2: ids 0, 4
    np.testing.assert_array_equal(seed_order(u), [1, 3, 2, 0, 4])


def test_seed_order_all_equal_is_identity():
    np.testing.assert_array_equal(seed_order(np.full(6, 0.3)), np.arange(6))


# ---------------------------------------------------------------- greedy vs components on a chain

# Chain 0 - 1 - 2 with d(0,1) < eps, d(1,2) < eps, d(0,2) > eps.
CHAIN_P = np.array([[0.50, 0.50], [0.61, 0.39], [0.72, 0.28]])
CHAIN_E = np.array([[0, 1], [1, 2]])


def test_chain_preconditions():
    # checked with scipy, not the code under test
    assert jensenshannon(CHAIN_P[0], CHAIN_P[1]) < EPS
    assert jensenshannon(CHAIN_P[1], CHAIN_P[2]) < EPS
    assert jensenshannon(CHAIN_P[0], CHAIN_P[2]) > EPS


def test_greedy_chain_compares_with_seed_mean():
    # Seed 0 (most uncertain) absorbs 1 (close to 0); 2 is compared with the *seed's* mean,
    # d(0,2) > eps, so it is not absorbed although it is close to 1. Then 1 is taken,
    # 2 is a seed of its own.
    u = np.array([0.9, 0.5, 0.1])
    region = merge_greedy(CHAIN_P, u, CHAIN_E, no_frozen(3), spec())
    np.testing.assert_array_equal(region, [0, 0, 2])


def test_greedy_chain_middle_seed_takes_all():
    # If the middle one is the most uncertain, both ends are its direct neighbours and close.
    u = np.array([0.1, 0.9, 0.5])
    region = merge_greedy(CHAIN_P, u, CHAIN_E, no_frozen(3), spec())
    np.testing.assert_array_equal(region, [1, 1, 1])


def test_components_chain_merges_all_three():
    # Connected components of the short edges {0-1, 1-2}: one region, named after its most
    # uncertain member (0).
    u = np.array([0.9, 0.5, 0.1])
    region = merge_components(CHAIN_P, u, CHAIN_E, no_frozen(3), spec(mode="components"))
    np.testing.assert_array_equal(region, [0, 0, 0])
    # named after the most uncertain member even when that is not the lowest id
    u2 = np.array([0.1, 0.5, 0.9])
    region = merge_components(CHAIN_P, u2, CHAIN_E, no_frozen(3), spec(mode="components"))
    np.testing.assert_array_equal(region, [2, 2, 2])


def test_greedy_uses_seed_mean_not_running_mean_nor_chaining():
    # Star: seed 0 = [.5,.5] with neighbours 1, 3, 4, 5 = [.6,.4] (all close to 0);
    # 2 = [.7,.3] hangs off 1. d(1,2) < eps (chaining would take 2); the running mean of
    # {0,1,3,4,5} = [.58,.42] is within eps of 2 (a running mean would take it); the seed's
    # own mean is not (d(0,2) > eps). The authors compare with the seed's mean: 2 stays.
    P = np.array([[.5, .5], [.6, .4], [.7, .3], [.6, .4], [.6, .4], [.6, .4]])
    E = np.array([[0, 1], [0, 3], [0, 4], [0, 5], [1, 2]])
    assert jensenshannon(P[0], P[1]) < EPS
    assert jensenshannon(P[1], P[2]) < EPS
    assert jensenshannon(P[[0, 1, 3, 4, 5]].mean(axis=0), P[2]) < EPS
    assert jensenshannon(P[0], P[2]) > EPS
    u = np.array([0.9, 0.5, 0.1, 0.4, 0.3, 0.2])
    region = merge_greedy(P, u, E, no_frozen(6), spec())
    np.testing.assert_array_equal(region, [0, 0, 2, 0, 0, 0])


def test_greedy_grows_through_absorbed_members():
    # Chain 0-1-2 of identical distributions: seed 0 reaches 2 through 1 (no size cap,
    # not only direct neighbours).
    P = np.tile([0.3, 0.7], (3, 1))
    region = merge_greedy(P, np.array([0.9, 0.1, 0.2]), CHAIN_E, no_frozen(3), spec())
    np.testing.assert_array_equal(region, [0, 0, 0])


def test_greedy_not_adjacent_never_merge():
    # identical but no edge: each its own region
    P = np.tile([0.3, 0.7], (3, 1))
    region = merge_greedy(P, np.array([0.9, 0.1, 0.2]), np.zeros((0, 2), np.int64),
                          no_frozen(3), spec())
    np.testing.assert_array_equal(region, [0, 1, 2])


def test_epsilon_zero_merges_nothing():
    # strict "<": with epsilon 0 even identical neighbours stay apart
    P = np.tile([0.3, 0.7], (3, 1))
    u = np.array([0.9, 0.1, 0.2])
    np.testing.assert_array_equal(merge_greedy(P, u, CHAIN_E, no_frozen(3), spec(epsilon=0.0)),
                                  [0, 1, 2])
    np.testing.assert_array_equal(
        merge_components(P, u, CHAIN_E, no_frozen(3), spec(mode="components", epsilon=0.0)),
        [0, 1, 2])


# ---------------------------------------------------------------- frozen (labelled) superpixels

@pytest.mark.parametrize("merge", [merge_greedy, merge_components])
def test_frozen_is_never_a_bridge(merge):
    # Chain 0-1-2, 1 frozen, all identical: 0 and 2 only touch through 1, so no merge,
    # and 1 itself is neither absorbed nor a seed.
    P = np.tile([0.5, 0.5], (3, 1))
    frozen = np.array([False, True, False])
    for u in ([0.9, 0.5, 0.1], [0.1, 0.9, 0.5], [0.5, 0.1, 0.9]):
        region = merge(P, np.array(u), CHAIN_E, frozen, spec())
        np.testing.assert_array_equal(region, [0, 1, 2])


@pytest.mark.parametrize("merge", [merge_greedy, merge_components])
def test_frozen_is_never_absorbed_nor_seed(merge):
    # Triangle 0-1-2 of identical distributions with 1 frozen and most uncertain:
    # 0 and 2 merge with each other (seed: 2, next most uncertain), 1 stays alone.
    P = np.tile([0.5, 0.5], (3, 1))
    E = np.array([[0, 1], [0, 2], [1, 2]])
    frozen = np.array([False, True, False])
    region = merge(P, np.array([0.1, 0.9, 0.5]), E, frozen, spec())
    np.testing.assert_array_equal(region, [2, 1, 2])


# ---------------------------------------------------------------- edge order independence

def _grid_graph(rows, cols):
    edges = []
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            if c + 1 < cols:
                edges.append((i, i + 1))
            if r + 1 < rows:
                edges.append((i, i + cols))
    return np.array(sorted(edges))


@pytest.mark.parametrize("merge,mode", [(merge_greedy, "greedy"),
                                        (merge_components, "components")])
def test_result_independent_of_edge_order(merge, mode):
    rng = np.random.default_rng(3)
    E = _grid_graph(6, 6)
    n = 36
    # two families of close distributions so that some, not all, merge
    base = np.where(rng.random(n)[:, None] < 0.5, [0.6, 0.3, 0.1], [0.2, 0.3, 0.5])
    P = rng.dirichlet(np.ones(3), size=n) * 0.05 + base * 0.95
    P /= P.sum(axis=1, keepdims=True)
    u = rng.random(n)
    frozen = rng.random(n) < 0.15
    s = spec(mode=mode)
    ref = merge(P, u, E, frozen, s)
    n_regions = len(np.unique(ref))
    assert 1 < n_regions < n  # the case is not trivial
    for k in range(5):
        perm = rng.permutation(len(E))
        shuffled = E[perm]
        flip = rng.random(len(E)) < 0.5  # also swap endpoints of some edges
        shuffled[flip] = shuffled[flip][:, ::-1]
        np.testing.assert_array_equal(merge(P, u, shuffled, frozen, s), ref)


def test_greedy_regions_are_connected_and_named_by_a_member():
    rng = np.random.default_rng(4)
    E = _grid_graph(5, 7)
    n = 35
    P = rng.dirichlet(np.full(3, 30.0), size=n)  # concentrated: many close pairs
    u = rng.random(n)
    region = merge_greedy(P, u, E, no_frozen(n), spec(epsilon=0.08))
    assert len(np.unique(region)) < n
    for r in np.unique(region):
        members = np.flatnonzero(region == r)
        assert region[r] == r  # the seed keeps its own id
        # every member is within epsilon of the seed (scipy as reference)
        for m in members:
            assert jensenshannon(P[r], P[m]) < 0.08 + 1e-12
        # the seed is the most uncertain member
        assert u[r] == u[members].max()
        # the members form one connected piece of the grid graph
        inside = np.isin(E, members).all(axis=1)
        sub = E[inside]
        graph = coo_matrix((np.ones(len(sub)), (sub[:, 0], sub[:, 1])), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
        assert len(np.unique(comp[members])) == 1


# ---------------------------------------------------------------- partial merging

# Two separate pairs 0-1 and 2-3 of identical distributions.
PAIR_P = np.tile([0.4, 0.6], (4, 1))
PAIR_E = np.array([[0, 1], [2, 3]])
PAIR_U = np.array([0.9, 0.1, 0.2, 0.3])  # seed order: 0, 3, 2, 1


@pytest.mark.parametrize("seeds,fraction,expected", [
    ("all", 1.0, [0, 0, 3, 3]),
    ("top", 1.0, [0, 0, 3, 3]),
    ("top", 0.25, [0, 0, 2, 3]),     # ceil(.25*4) = 1 seed: 0; pair 2-3 unmerged
    ("top", 0.3, [0, 0, 3, 3]),      # ceil(1.2) = 2 seeds: 0, 3
    ("bottom", 0.25, [1, 1, 2, 3]),  # 1 seed: the least uncertain, 1, absorbs 0
    ("bottom", 0.5, [1, 1, 2, 2]),   # seeds 2, 1 (in decreasing-uncertainty order)
])
def test_partial_merging_seeds(seeds, fraction, expected):
    region = merge_greedy(PAIR_P, PAIR_U, PAIR_E, no_frozen(4),
                          spec(seeds=seeds, seed_fraction=fraction))
    np.testing.assert_array_equal(region, expected)


def test_partial_merging_counts_only_unfrozen_seeds():
    # 0 frozen and most uncertain; eligible seed order: 1 (.8), 3 (.5), 2 (.1).
    # top 25% of the 3 eligible -> ceil(.75) = 1 seed: 1, which absorbs 2.
    # (Counting the frozen one would make 0 the only seed and merge nothing.)
    P = np.tile([0.4, 0.6], (4, 1))
    E = np.array([[0, 1], [1, 2]])
    frozen = np.array([True, False, False, False])
    region = merge_greedy(P, np.array([0.9, 0.8, 0.1, 0.5]), E, frozen,
                          spec(seeds="top", seed_fraction=0.25))
    np.testing.assert_array_equal(region, [0, 1, 1, 3])


# ---------------------------------------------------------------- merge_image / MergeSpec

def test_mode_none_is_identity():
    P = np.tile([0.4, 0.6], (4, 1))
    region = merge_image(P, PAIR_U, PAIR_E, no_frozen(4), MergeSpec(mode="none"))
    np.testing.assert_array_equal(region, [0, 1, 2, 3])


def test_merge_image_dispatches_on_mode():
    u = np.array([0.9, 0.5, 0.1])
    np.testing.assert_array_equal(
        merge_image(CHAIN_P, u, CHAIN_E, no_frozen(3), spec(mode="greedy")), [0, 0, 2])
    np.testing.assert_array_equal(
        merge_image(CHAIN_P, u, CHAIN_E, no_frozen(3), spec(mode="components")), [0, 0, 0])


@pytest.mark.parametrize("kw", [
    dict(epsilon=0.84),            # > sqrt(ln 2) = 0.8326
    dict(epsilon=-0.01),
    dict(mode="kmeans"),
    dict(seeds="middle"),
    dict(seed_fraction=0.0),
    dict(seed_fraction=1.5),
])
def test_merge_spec_rejects(kw):
    with pytest.raises(ValueError):
        MergeSpec(**kw)


def test_merge_spec_accepts_bounds():
    assert MergeSpec(epsilon=MAX_JS_DISTANCE).epsilon == MAX_JS_DISTANCE
    assert MergeSpec(epsilon=0.0).epsilon == 0.0
    assert MergeSpec().as_dict() == {"mode": "greedy", "epsilon": 0.1, "seeds": "all",
                                     "seed_fraction": 1.0, "max_uncertainty": 1.0,
                                     "criterion": "js"}


# ---------------------------------------------------------------- against a plain reference

def _reference_greedy(P, u, edges, frozen, eps):
    """The authors' procedure written plainly: seeds by decreasing u (ties: lower id),
    breadth-first growth over unassigned, unfrozen neighbours within eps of the seed
    (scipy's JS distance)."""
    n = len(u)
    nbrs = [set() for _ in range(n)]
    for a, b in edges:
        nbrs[a].add(b)
        nbrs[b].add(a)
    region = list(range(n))
    assigned = [bool(f) for f in frozen]
    for seed in sorted(range(n), key=lambda i: (-u[i], i)):
        if assigned[seed]:
            continue
        assigned[seed] = True
        queue = [seed]
        while queue:
            v = queue.pop(0)
            for w_ in sorted(nbrs[v]):
                if not assigned[w_] and jensenshannon(P[seed], P[w_]) < eps:
                    assigned[w_] = True
                    region[w_] = seed
                    queue.append(w_)
    return np.array(region)


@pytest.mark.parametrize("seed", range(6))
def test_greedy_matches_plain_reference(seed):
    rng = np.random.default_rng(100 + seed)
    rows, cols = rng.integers(3, 7, size=2)
    n = rows * cols
    E = _grid_graph(rows, cols)
    P = rng.dirichlet(np.full(4, 20.0), size=n)
    u = rng.random(n)
    frozen = rng.random(n) < 0.1
    eps = 0.09
    got = merge_greedy(P, u, E, frozen, spec(epsilon=eps))
    assert len(np.unique(got)) < n  # some merging happens
    np.testing.assert_array_equal(got, _reference_greedy(P, u, E, frozen, eps))


def test_only_superpixels_the_model_is_sure_of_merge_under_max_uncertainty():
    """A chain 0-1-2-3 of identical predictions merges into one region; with superpixel 2
    unsure (u = 0.8 > 0.5) it stays alone and no longer bridges 1 and 3: regions {0, 1}, {2},
    {3}."""
    import numpy as np

    from asal.method.merging import MergeSpec, merge_image

    probs = np.tile([[0.9, 0.1]], (4, 1))
    edges = np.array([[0, 1], [1, 2], [2, 3]])
    frozen = np.zeros(4, bool)
    u = np.array([0.2, 0.1, 0.8, 0.3])  # seeds by decreasing u: 2, 3, 0, 1
    everyone = merge_image(probs, u, edges, frozen, MergeSpec())
    assert everyone.tolist() == [2, 2, 2, 2]
    sure = merge_image(probs, u, edges, frozen, MergeSpec(max_uncertainty=0.5))
    assert sure.tolist() == [0, 0, 2, 3]
    with pytest.raises(ValueError, match="max_uncertainty"):
        MergeSpec(max_uncertainty=1.5)
