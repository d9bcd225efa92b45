"""Paired differences to the baseline and their Student-t interval, by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from asal.measure.paired import paired_differences, t_interval, trials_for_half_width


def test_t_interval_by_hand():
    # diffs 1, 2, 3: mean 2, sd 1, n 3; t(0.975, 2) = 4.302653 -> half width 4.302653 / sqrt(3)
    mean, lo, hi = t_interval(np.array([1.0, 2.0, 3.0]))
    half = 4.302652729749464 / math.sqrt(3)
    assert mean == 2.0
    assert lo == pytest.approx(2 - half, abs=1e-9) and hi == pytest.approx(2 + half, abs=1e-9)


def test_one_pair_has_a_mean_and_no_interval():
    mean, lo, hi = t_interval(np.array([0.5]))
    assert mean == 0.5 and math.isnan(lo) and math.isnan(hi)


def test_paired_differences_pair_trials_and_skip_unmatched_ones():
    table = pd.DataFrame({
        "method": ["SP"] * 4 + ["A"] * 5,
        "trial": [0, 1, 0, 1, 0, 1, 0, 1, 2],
        "round": [0, 0, 1, 1, 0, 0, 1, 1, 1],
        "clicks": [10, 10, 20, 20, 10, 10, 20, 20, 20],
        "miou": [0.30, 0.40, 0.50, 0.52, 0.30, 0.40, 0.55, 0.56, 0.9]})
    out = paired_differences(table, "SP")
    r0 = out[out["round"] == 0].iloc[0]
    assert r0["pairs"] == 2 and r0["diff_mean"] == 0.0
    r1 = out[out["round"] == 1].iloc[0]
    # trial 2 has no SP run: left out; diffs 0.05 and 0.04
    assert r1["pairs"] == 2
    assert r1["trial_0"] == pytest.approx(0.05) and r1["trial_1"] == pytest.approx(0.04)
    assert r1["diff_mean"] == pytest.approx(0.045)
    half = 12.706204736174698 * np.std([0.05, 0.04], ddof=1) / math.sqrt(2)
    assert r1["ci_low"] == pytest.approx(0.045 - half) and r1["ci_high"] == pytest.approx(0.045 + half)
    assert set(out["method"]) == {"A"}
    # sd 0.00707: t(0.975, 3) 0.707 / 2 = 1.125 points > 1, t(0.975, 4) 0.707 / sqrt(5) = 0.878
    assert r1["diff_sd"] == pytest.approx(np.std([0.05, 0.04], ddof=1))
    assert r1["trials_for_1pt"] == 5
    assert r0["diff_sd"] == 0.0 and r0["trials_for_1pt"] == 2
    assert out["clicks"].dtype.kind == "i" and out["trials_for_1pt"].dtype.name == "Int64"


def test_trials_for_a_half_width_of_one_point_by_hand():
    # sd 1 point: t(0.975, 5) / sqrt(6) = 2.571 / 2.449 = 1.050 > 1;
    # t(0.975, 6) / sqrt(7) = 2.447 / 2.646 = 0.925 <= 1
    assert trials_for_half_width(0.01) == 7
    # sd 3 points: at n = 37 the half-width is 1.00025 (> 1), at n = 38 it is 0.986
    assert trials_for_half_width(0.03) == 38
    assert trials_for_half_width(0.0) == 2
    assert trials_for_half_width(float("nan")) is None
    assert trials_for_half_width(1.0, most=50) == 51  # more than `most`
