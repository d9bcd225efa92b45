"""Unit tests of asal.measure.miou: the confusion matrix, per-class IoU and mIoU by hand."""

import numpy as np
import pytest

from asal.measure.miou import confusion, iou_from_confusion, mean_iou


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
