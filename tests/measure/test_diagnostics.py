"""The evaluation side's diagnostics, on hand-made tables (classes first, void last)."""

import numpy as np
import pytest

from asal.measure import diagnostics as dg


def test_agreement_counts_leave_void_dominant_superpixels_out():
    gt = np.array([[5, 1, 0], [0, 4, 1], [1, 0, 9], [2, 2, 0]])  # D = 0, 1, void, 0 (tie)
    pred = np.array([[3, 1], [4, 0], [0, 5], [1, 1]])  # argmax 0, 0, 1, 0
    assert dg.agreement_counts(pred, gt) == (2, 3)


def test_region_purity_is_pixel_weighted_and_ignores_void():
    gt = np.array([[4, 0, 0], [1, 3, 2], [0, 0, 5]])
    region = np.array([7, 7, 9])  # superpixels 0 and 1 merged into region 7
    ids, hist = dg.region_histograms(region, gt)
    assert ids.tolist() == [7, 9]
    assert hist.tolist() == [[5, 3, 2], [0, 0, 5]]
    # region 7: 5 of its 8 class pixels carry class 0; region 9 is all void
    assert dg.purity_counts(hist) == (5, 8)
    purity = dg.region_purity(hist)
    assert purity[0] == pytest.approx(5 / 8) and np.isnan(purity[1])
    # base superpixels: 4 of 4 and 3 of 4
    assert dg.purity_counts(gt) == (7, 8)


def test_sieve_quality_by_hand():
    right = np.array([1, 1, 1, 0, 0, 0], bool)
    kept = np.array([1, 1, 0, 0, 1, 0], bool)
    conf = np.array([0.9, 0.7, np.nan, 0.2, 0.4, np.nan])
    q = dg.sieve_quality(right, kept, conf)
    assert q["sieve_removed_wrong"] == pytest.approx(2 / 3)
    assert q["sieve_kept_right"] == pytest.approx(2 / 3)
    assert q["confidence_right"] == pytest.approx(0.8)
    assert q["confidence_wrong"] == pytest.approx(0.3)


def test_sieve_quality_without_wrong_pixels_says_none():
    q = dg.sieve_quality(np.ones(3, bool), np.ones(3, bool), np.full(3, np.nan))
    assert q["sieve_removed_wrong"] is None and q["confidence_wrong"] is None
    assert q["sieve_kept_right"] == 1.0
