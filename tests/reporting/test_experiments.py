"""The figure-side summaries of asal.reporting.experiments, on hand-made tables."""

import numpy as np
import pandas as pd
import pytest

from asal.reporting import experiments


def test_verdict_reads_where_the_interval_lies():
    assert experiments.verdict(0.02, 0.01, 0.03) == "above 0"
    assert experiments.verdict(-0.02, -0.03, -0.01) == "below 0"
    assert experiments.verdict(0.01, -0.01, 0.03) == "around 0"
    assert experiments.verdict(0.01, float("nan"), float("nan")) == "one trial: no interval"


def test_baselines_pair_each_method_with_the_baseline_at_its_size():
    info = {"SP@16px": {"base": "SP", "size": 16}, "SP@64px": {"base": "SP", "size": 64},
            "AMSP+S@16px": {"base": "AMSP+S", "size": 16},
            "AMSP+S@64px": {"base": "AMSP+S", "size": 64}}
    assert experiments.baselines(list(info), "SP", info) == {
        "AMSP+S@16px": "SP@16px", "AMSP+S@64px": "SP@64px"}
    # without a sweep every method has the experiment's size: all pair with SP
    plain = {m: {"base": m, "size": 64} for m in ("SP", "SP+S", "AMSP+S")}
    assert experiments.baselines(list(plain), "SP", plain) == {"SP+S": "SP", "AMSP+S": "SP"}
    assert experiments.baselines(list(plain), None, plain) == {}


def _table():
    # two trials, rounds 0 and 1, methods SP and A; A beats SP by 2 and 4 points in round 1
    rows = []
    for trial, (sp, a) in enumerate([(0.50, 0.52), (0.40, 0.44)]):
        for method, miou in (("SP", sp), ("A", a)):
            rows.append({"method": method, "trial": trial, "round": 0, "clicks": 10,
                         "miou": 0.3, "mean_query_size": 50.0, "labelled_pixels": 500,
                         "queries_road": 6, "queries_sky": 4, "queries_void": 0,
                         "iou_road": 0.3, "iou_sky": 0.3})
            rows.append({"method": method, "trial": trial, "round": 1, "clicks": 20,
                         "miou": miou, "mean_query_size": 60.0 if method == "SP" else 120.0,
                         "labelled_pixels": 1200 if method == "SP" else 2000,
                         "queries_road": 3 + trial, "queries_sky": 7 - trial,
                         "queries_void": 0, "iou_road": miou, "iou_sky": miou - 0.1})
    return pd.DataFrame(rows)


def test_method_rows_at_the_last_round_with_the_paired_interval():
    from asal.measure.paired import paired_differences

    table = _table()
    paired = paired_differences(table, "SP")
    info = {"A": {"label": "merged", "paper": 66.5}, "SP": {"paper": 63.8}}
    rows = experiments.method_rows(table, paired, info).set_index("method")
    a = rows.loc["A"]
    assert a["label"] == "merged" and a["round"] == 1 and a["clicks"] == 20
    assert a["miou"] == pytest.approx(48.0)  # mean of 52 and 44
    assert (a["miou_min"], a["miou_max"]) == pytest.approx((44.0, 52.0))
    assert a["diff"] == pytest.approx(3.0)  # +2 and +4 points
    # t interval of (2, 4): mean 3, sd sqrt(2), n 2, t(0.975, 1) = 12.706
    half = 12.7062047 * np.sqrt(2) / np.sqrt(2)
    assert (a["ci_low"], a["ci_high"]) == pytest.approx((3 - half, 3 + half), abs=1e-4)
    assert a["verdict"] == "around 0"
    assert a["pixels_per_click"] == pytest.approx(100.0)  # 2000 px over 20 clicks
    assert a["paper"] == 66.5
    assert rows.loc["SP", "verdict"] == "baseline"
    lines = experiments.verdict_lines(rows.reset_index())
    # sd of the differences sqrt(2) points: t(0.975, 9) sqrt(2) / sqrt(10) = 1.012 > 1,
    # t(0.975, 10) sqrt(2) / sqrt(11) = 0.950 <= 1, so 11 trials
    assert a["trials_for_1pt"] == 11
    assert lines == ["merged: +3.0 points against SP after 20 clicks "
                     "(95% CI -9.7 to +15.7), around 0 with 2 trials; about 11 trials would "
                     "narrow this to ±1 point (±12.7 now)."]


def test_queries_by_class_sum_rounds_mean_trials_sorted_by_pool_share():
    counts = experiments.queries_by_class(_table(), {"road": 0.7, "sky": 0.2})
    # round 1 only: road 3 and 4 (mean 3.5), sky 7 and 6 (mean 6.5), for both methods
    assert list(counts.index) == ["road", "sky", "void"]
    assert counts.loc["road", "SP"] == pytest.approx(3.5)
    assert counts.loc["sky", "A"] == pytest.approx(6.5)
    assert counts.loc["road", "pool share %"] == pytest.approx(70.0)
    counts = experiments.queries_by_class(_table(), {"road": 0.1, "sky": 0.2})
    assert list(counts.index) == ["sky", "road", "void"]


def test_per_class_iou_at_the_last_round_in_percent():
    iou = experiments.per_class_iou(_table(), ["sky", "road"])
    assert list(iou.index) == ["sky", "road"]
    assert iou.loc["road", "A"] == pytest.approx(48.0)
    assert iou.loc["sky", "SP"] == pytest.approx(35.0)


def test_majority_class_everywhere_scored_like_a_model():
    # pool pixels per class (void last): class 1 is the majority; evaluation: 30, 60, 0, 10
    # labelled pixels (class 2 absent there, left out of the mean). Predicting class 1
    # everywhere: IoU_1 = 60 / (30 + 60 + 10) = 0.6, IoU_0 = IoU_3 = 0: mIoU 0.6 / 3 = 0.2.
    k, miou = experiments.trivial_miou([10, 50, 5, 3, 99], [30, 60, 0, 10, 7])
    assert k == 1 and miou == pytest.approx(0.2)


def test_warnings_for_a_ceiling_near_the_trivial_predictor_and_a_falling_class():
    table = _table()
    full = pd.DataFrame([{"method": "Full", "trial": t, "round": None, "clicks": None,
                          "miou": 0.22} for t in (0, 1)])
    warned = experiments.warnings(pd.concat([table, full]), 0.20, "road")
    assert len(warned) == 1 and "only 2.0 points above predicting the pool's majority " \
                                "class (road) everywhere (20.0%)" in warned[0]
    assert experiments.warnings(pd.concat([table, full]), 0.10, "road") == []
    # sky falls in rounds 1 and 2 (0.5, 0.4, 0.3 in trial means) for method A
    rows = []
    for rnd, sky in enumerate([0.5, 0.4, 0.3]):
        rows.append({"method": "A", "trial": 0, "round": rnd, "clicks": 10 * (rnd + 1),
                     "miou": 0.4, "iou_sky": sky, "iou_road": 0.2 + 0.1 * rnd})
    warned = experiments.warnings(pd.DataFrame(rows), None, None)
    assert warned == ["A: the IoU of sky falls in every round (mean over trials, rounds 0 to "
                      "2): look at its queries and sieved labels in the pictures (a class "
                      "drowned by merged regions of another, or labels sieved away)."]


def test_a_method_of_another_size_pairs_with_the_baseline_at_equal_clicks():
    info = {"SP": {"base": "SP", "size": 16}, "AMSP+S": {"base": "AMSP+S", "size": 16},
            "SP+S-64px": {"base": "SP+S-64px", "size": 64}}
    assert experiments.baselines(["SP", "AMSP+S", "SP+S-64px"], "SP", info) == \
        {"AMSP+S": "SP", "SP+S-64px": "SP"}
    # a size sweep keeps each size's own baseline
    sweep = {"SP": {"base": "SP", "size": 16}, "SP@64px": {"base": "SP", "size": 64},
             "AMSP+S@64px": {"base": "AMSP+S", "size": 64}}
    assert experiments.baselines(list(sweep), "SP", sweep) == {"AMSP+S@64px": "SP@64px"}
