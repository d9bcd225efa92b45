"""Unit tests of the pure helpers in asal.stages: confusion/IoU, sparse targets, seeds."""

import numpy as np
import pytest

from asal.store.artifacts import Superpixels
from asal.stages import confusion, derive_seed, iou_from_confusion, mean_iou, sparse_targets


def test_confusion_ignores_void_and_absent_class_is_nan():
    # 4 classes, class 3 never labelled nor predicted; pixel (1,1) is void (label 255,
    # prediction 0) and must not count.
    # (label, pred) pairs: (0,0) (1,1) (2,1) (2,2) (0,1) [void skipped]
    pred = np.array([[0, 1, 1], [2, 0, 1]])
    label = np.array([[0, 1, 2], [2, 255, 0]], dtype=np.uint8)
    conf = confusion(pred, label, 4)
    np.testing.assert_array_equal(conf, [[1, 1, 0, 0],    # rows: ground truth
                                         [0, 1, 0, 0],    # cols: prediction
                                         [0, 1, 1, 0],
                                         [0, 0, 0, 0]])
    iou = iou_from_confusion(conf)
    # class 0: tp 1, gt 2, pred 1 -> 1 / (2 + 1 - 1) = 1/2
    # class 1: tp 1, gt 1, pred 3 -> 1 / 3
    # class 2: tp 1, gt 2, pred 1 -> 1 / 2
    # class 3: absent from both -> NaN
    np.testing.assert_allclose(iou[:3], [0.5, 1 / 3, 0.5])
    assert np.isnan(iou[3])


def test_iou_predicted_but_absent_class_is_undefined_and_out_of_the_mean():
    # class 2 is predicted once but has no ground-truth pixel: its IoU is undefined (NaN),
    # not 0, and the mean is over classes 0 and 1 only: (1/2 + 1) / 2 = 3/4, not 1/2.
    pred = np.array([0, 2, 1])
    label = np.array([0, 0, 1], dtype=np.uint8)
    conf = confusion(pred, label, 3)
    np.testing.assert_array_equal(conf, [[1, 0, 1], [0, 1, 0], [0, 0, 0]])
    iou = iou_from_confusion(conf)
    np.testing.assert_allclose(iou[:2], [0.5, 1.0])
    assert np.isnan(iou[2])
    assert mean_iou(iou) == 0.75


def test_iou_present_but_never_predicted_class_is_zero_and_counts():
    # class 1 has a ground-truth pixel, never predicted: IoU 0, in the mean: (2/3 + 0) / 2
    conf = confusion(np.array([0, 0, 0]), np.array([0, 0, 1], np.uint8), 2)
    iou = iou_from_confusion(conf)
    np.testing.assert_allclose(iou, [2 / 3, 0.0])
    assert mean_iou(iou) == pytest.approx(1 / 3)


def test_mean_iou_of_nothing_defined_is_none():
    assert mean_iou(np.array([np.nan, np.nan])) is None


def test_confusion_all_void_is_zero():
    conf = confusion(np.zeros(4, np.int64), np.full(4, 255, np.uint8), 2)
    np.testing.assert_array_equal(conf, np.zeros((2, 2)))
    assert np.isnan(iou_from_confusion(conf)).all()


def _two_images():
    # image 0 is 2x2 (global pixels 0..3), image 1 is 1x3 (global pixels 4..6)
    return Superpixels(names=np.array(["a", "b"]), shapes=np.array([[2, 2], [1, 3]]),
                       pixel_offset=np.array([0, 4, 7]), sp_offset=np.array([0, 1, 2]),
                       maps=np.zeros(7, np.int32), area=np.array([4, 3]),
                       edges=np.zeros((0, 2), np.int64), attrs={})


def test_sparse_targets_places_kept_labels():
    sp = _two_images()
    sieved = {"pixel": np.array([1, 3, 4, 6, 5]),
              "label": np.array([2, 0, 1, 1, 3]),
              "kept": np.array([True, True, False, True, True])}
    t = sparse_targets(sp, sieved)
    assert sorted(t) == [0, 1]
    # image 0: local pixel 1 <- 2, local 3 <- 0, rest void
    np.testing.assert_array_equal(t[0], [[255, 2], [255, 0]])
    # image 1: global 4 dropped; 5 -> local 1 <- 3, 6 -> local 2 <- 1
    np.testing.assert_array_equal(t[1], [[255, 3, 1]])
    assert t[0].dtype == np.uint8


def test_sparse_targets_image_without_kept_pixels_absent():
    sp = _two_images()
    sieved = {"pixel": np.array([0, 4]), "label": np.array([1, 2]),
              "kept": np.array([False, True])}
    t = sparse_targets(sp, sieved)
    assert list(t) == [1]
    np.testing.assert_array_equal(t[1], [[2, 255, 255]])


def test_derive_seed_reproducible_and_distinct():
    assert derive_seed(1, 2, 3) == derive_seed(1, 2, 3)
    seeds = {derive_seed(0, t, r, s) for t in range(3) for r in range(3) for s in range(3)}
    assert len(seeds) == 27
    assert derive_seed(1, 2) != derive_seed(2, 1)  # order matters
    assert all(0 <= s < 2 ** 32 for s in seeds)
    assert isinstance(derive_seed(3), int)


def test_derive_seed_call_sites_do_not_collide():
    # The stages use (seed, trial) for initial weights, (seed, trial, 0, 1) for the warm-up
    # draw, (seed, trial, round, 2) for acquisition tie-breaks and (seed, trial, round, 3)
    # for training.
    seen = {}
    for seed in range(3):
        for trial in range(3):
            keys = [(seed, trial), (seed, trial, 0, 1)]
            keys += [(seed, trial, r, k) for r in range(1, 5) for k in (2, 3)]
            for key in keys:
                value = derive_seed(*key)
                assert value not in seen, f"{key} collides with {seen.get(value)}"
                seen[value] = key


def test_derive_seed_sees_trailing_zeros():
    # numpy's SeedSequence pads its entropy with zeros; derive_seed mixes in the length.
    assert derive_seed(5) != derive_seed(5, 0)
    assert derive_seed(5, 0) != derive_seed(5, 0, 0)


def test_label_quality_by_hand():
    from asal.store.artifacts import Superpixels
    from asal.stages import label_quality

    # Two 2x2 images, concatenated pixels 0..7. Ground truth:
    #   image 0: [[0, 0], [1, 1]]   image 1: [[2, 2], [2, 255]]
    truth = [np.array([[0, 0], [1, 1]]), np.array([[2, 2], [2, 255]])]
    sp = Superpixels(names=np.array(["a", "b"]), shapes=np.array([[2, 2], [2, 2]]),
                     pixel_offset=np.array([0, 4, 8]), sp_offset=np.array([0, 1, 2]),
                     maps=np.zeros(8, np.int32), area=np.array([4, 4]),
                     edges=np.zeros((0, 2), np.int64), attrs={})
    # Labelled: image 0 all four pixels as class 0 (two right), image 1 pixels 4, 5, 7 as 2
    # (4, 5 right; 7 is void in truth: wrong).
    sieved = {"pixel": np.array([0, 1, 2, 3, 4, 5, 7]),
              "label": np.array([0, 0, 0, 0, 2, 2, 2]),
              "kept": np.array([1, 1, 0, 1, 1, 0, 0], bool)}
    q = label_quality(sp, sieved, lambda i: truth[i])
    assert q["labelled_pixels"] == 7 and q["kept_pixels"] == 4
    assert q["label_purity"] == pytest.approx(4 / 7)  # right: 0, 1, 4, 5
    assert q["sieved_purity"] == pytest.approx(3 / 4)  # kept 0, 1, 3, 4; right 0, 1, 4
    assert q["sieve_recall"] == pytest.approx(3 / 4)  # right 0, 1, 4, 5; kept 0, 1, 4


def test_round_table_means_over_trials():
    import pandas as pd

    from asal.reporting.report import round_table

    table = pd.DataFrame({
        "method": ["A", "A", "A", "A"], "trial": [0, 1, 0, 1], "round": [0, 0, 1, 1],
        "clicks": [10, 10, 20, 20], "miou": [0.2, 0.4, 0.5, 0.7],
        "label_purity": [0.9, 0.8, 0.7, 0.6], "queries_sky": [3, 5, 1, 2]})
    rounds = round_table(table)
    assert list(rounds["round"]) == [0, 1]
    assert rounds["miou"].tolist() == pytest.approx([0.3, 0.6])
    assert rounds["miou_min"].tolist() == pytest.approx([0.2, 0.5])
    assert rounds["miou_max"].tolist() == pytest.approx([0.4, 0.7])
    assert rounds["label_purity"].tolist() == pytest.approx([0.85, 0.65])
    assert rounds["queries_sky"].tolist() == pytest.approx([4.0, 1.5])


def test_report_says_which_classes_were_left_out_of_miou(tmp_path):
    import json

    import pandas as pd

    from asal.reporting.report import report

    paths = []
    for method, trial, rnd, miou in [("warmup", 0, 0, 0.5), ("SP", 0, 1, 0.75)]:
        m = {"method": method, "trial": trial, "round": rnd, "clicks": 10 * (rnd + 1),
             "miou": miou, "pixel_accuracy": 0.9,
             "iou": {"road": miou, "sky": miou, "rider": None}, "classes_absent": ["rider"]}
        path = tmp_path / f"{method}.json"
        path.write_text(json.dumps(m))
        paths.append(str(path))
    out = tmp_path / "out"
    out.mkdir()
    report(paths, str(out / "metrics.csv"), str(out / "plot.png"),
           out_rounds=str(out / "rounds.html"), out_rounds_csv=str(out / "rounds.csv"))
    table = pd.read_csv(out / "metrics.csv")
    assert table["classes_absent"].tolist() == ["rider", "rider"]
    assert table["iou_rider"].isna().all()
    html = (out / "rounds.html").read_text()
    assert "Left out of mIoU (no ground-truth pixel in the evaluation split, IoU undefined): " \
           "rider." in html


def test_report_note_when_no_class_is_absent():
    from asal.reporting.report import absent_classes, absent_note

    import pandas as pd

    assert absent_classes(pd.DataFrame({"classes_absent": ["", "a;b", "b", None]})) == ["a", "b"]
    assert absent_classes(pd.DataFrame({"miou": [0.1]})) == []  # metrics from before the key
    assert absent_note([]).startswith("Every class has ground truth")
