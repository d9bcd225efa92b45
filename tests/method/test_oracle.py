"""Unit tests of asal.method.oracle: ground-truth histograms with void, dominant label, purity."""

import numpy as np
import pytest

from asal.method.oracle import dominant_label, label_histograms, purity


def test_label_histograms_void_in_last_column():
    # 2 classes, void 255 -> column 2. Map: row 0 is sp 0, row 1 is sp 1; sp 2 has no pixel.
    # sp0 labels 0, 1, 255 -> [1, 1, 1]; sp1 labels 255, 255, 1 -> [0, 1, 2]
    label = np.array([[0, 1, 255],
                      [255, 255, 1]], dtype=np.uint8)
    local_map = np.array([[0, 0, 0],
                          [1, 1, 1]])
    hist = label_histograms(label, local_map, 3, 2)
    np.testing.assert_array_equal(hist, [[1, 1, 1], [0, 1, 2], [0, 0, 0]])


def test_label_histograms_custom_void_and_columns():
    # 3 classes with void = 9 -> column 3; one superpixel per column of a 2x2 image
    label = np.array([[2, 9], [2, 0]])
    local_map = np.array([[0, 1], [0, 1]])
    hist = label_histograms(label, local_map, 2, 3, void=9)
    np.testing.assert_array_equal(hist, [[0, 0, 2, 0], [1, 0, 0, 1]])


@pytest.mark.parametrize("row,expected", [
    ([3, 0, 1], 0),   # clear class 0
    ([0, 1, 2], 2),   # void (value C = 2) dominates
    ([0, 2, 2], 1),   # tie class 1 vs void -> the class (lower index)
    ([1, 1, 1], 0),   # three-way tie -> lowest
    ([0, 4, 1], 1),
])
def test_dominant_label(row, expected):
    assert dominant_label(np.array([row]))[0] == expected


def test_purity():
    hist = np.array([[1, 1, 1], [0, 1, 2], [0, 0, 0], [5, 0, 0]])
    # 1/3, 2/3, empty -> 0 (no division by zero), 1
    np.testing.assert_allclose(purity(hist), [1 / 3, 2 / 3, 0.0, 1.0])
