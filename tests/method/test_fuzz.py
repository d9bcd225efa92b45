"""Fuzzing the pure stage functions on random small label maps and probabilities."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from asal.method import acquisition, merging, oracle, sieving, statistics, superpixels

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def scenes(draw):
    """A random superpixel map (connected, dense) with class probabilities and labels."""
    h = draw(st.integers(2, 9))
    w = draw(st.integers(2, 9))
    n_classes = draw(st.integers(2, 4))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, draw(st.integers(1, 6)), size=(h, w))
    local = superpixels.connected_relabel(raw)
    logits = rng.normal(size=(n_classes, h, w)) * draw(st.floats(0.1, 5.0))
    probs = np.exp(logits) / np.exp(logits).sum(0, keepdims=True)
    truth = rng.integers(0, n_classes + 1, size=(h, w))
    truth[truth == n_classes] = 255
    frozen_share = draw(st.floats(0.0, 0.6))
    return local, probs, truth, n_classes, rng, frozen_share


def _connected(members: np.ndarray, edges: np.ndarray) -> bool:
    if len(members) == 1:
        return True
    inside = np.isin(edges[:, 0], members) & np.isin(edges[:, 1], members)
    index = {m: k for k, m in enumerate(members)}
    e = edges[inside]
    graph = coo_matrix((np.ones(len(e)), ([index[a] for a in e[:, 0]],
                                          [index[b] for b in e[:, 1]])),
                       shape=(len(members), len(members)))
    return connected_components(graph, directed=False)[0] == 1


@FUZZ
@given(scenes(), st.sampled_from(["greedy", "components"]), st.floats(0.0, 0.83),
       st.sampled_from(["all", "top", "bottom"]), st.floats(0.05, 1.0))
def test_merging_invariants(scene, mode, epsilon, seeds, fraction):
    local, probs, _, n_classes, rng, frozen_share = scene
    n = int(local.max()) + 1
    stats = statistics.superpixel_statistics(probs, local, n)
    mean = stats["prob_sum"] / stats["count"][:, None]
    u = stats["u_sum"] / stats["count"]
    edges = superpixels.adjacency(local)
    frozen = rng.random(n) < frozen_share
    spec = merging.MergeSpec(mode=mode, epsilon=epsilon, seeds=seeds, seed_fraction=fraction)
    region = merging.merge_image(mean, u, edges, frozen, spec)
    # Every base superpixel is in exactly one region, named by one of its members.
    assert region.shape == (n,)
    assert (region[region] == region).all()
    for r in np.unique(region):
        members = np.flatnonzero(region == r)
        # Regions are connected unions of base superpixels...
        assert _connected(members, edges)
        # ...and a frozen (labelled) superpixel is always alone.
        if frozen[members].any():
            assert len(members) == 1


@FUZZ
@given(scenes(), st.integers(0, 40), st.sampled_from(tuple(acquisition.FUNCTIONS)))
def test_acquisition_spends_the_budget_on_candidates_only(scene, budget, function):
    local, probs, _, n_classes, rng, frozen_share = scene
    n = int(local.max()) + 1
    stats = statistics.superpixel_statistics(probs, local, n)
    # a void output's sums: each pixel's void probability in [0, 1]
    stats["void_sum"] = stats["count"] * rng.random(n)
    score, u, dominant = acquisition.scores(stats, acquisition.AcquireSpec(function=function))
    assert np.isfinite(score).all() and (dominant < n_classes).all()
    candidate = rng.random(n) >= frozen_share
    pick = acquisition.select_top(score, candidate, budget,
                                  acquisition.tiebreak_keys(np.arange(n), int(rng.integers(1 << 30))))
    assert len(pick) == min(budget, int(candidate.sum()))  # clicks equal the budget, or all left
    assert len(set(pick.tolist())) == len(pick)
    assert candidate[pick].all()
    # Best first.
    assert (np.diff(score[pick]) <= 0).all()


@FUZZ
@given(scenes(), st.sampled_from(["kneedle", 0.0, 0.3, 0.8]), st.integers(0, 20))
def test_sieved_pixels_lie_in_queried_regions_and_carry_their_label(scene, threshold, min_size):
    local, probs, truth, n_classes, rng, _ = scene
    n = int(local.max()) + 1
    hist = oracle.label_histograms(truth, local, n, n_classes)
    answer = oracle.dominant_label(hist)
    assert (hist.sum(1) == np.bincount(local.ravel(), minlength=n)).all()
    queried = rng.random(n) < 0.5
    useful = queried & (answer < n_classes)  # void answers teach nothing
    pixel_sp = local.ravel()
    labelled = np.flatnonzero(useful[pixel_sp])
    label = answer[pixel_sp[labelled]]
    conf = probs.reshape(n_classes, -1)[label, labelled]
    spec = sieving.SieveSpec(threshold=threshold, n_points=5, min_size=min_size)
    kept, thresholds = sieving.sieve_regions(conf, pixel_sp[labelled], n, spec)
    assert kept.shape == labelled.shape
    kept_pixels = labelled[kept]
    assert useful[pixel_sp[kept_pixels]].all()
    assert (label[kept] == answer[pixel_sp[kept_pixels]]).all()
    # The region's most confident pixel always survives a threshold taken from its own curve.
    for s in np.unique(pixel_sp[labelled]):
        inside = pixel_sp[labelled] == s
        if threshold == "kneedle":
            assert kept[inside][np.argmax(conf[inside])]
