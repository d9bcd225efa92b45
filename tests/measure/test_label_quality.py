"""Unit tests of asal.measure.diagnostics.label_quality: how right the labels given to training are."""

import numpy as np
import pytest


def test_label_quality_by_hand():
    from asal.measure.diagnostics import label_quality
    from asal.store.artifacts import Superpixels

    # Two 2x2 images, concatenated pixels 0..7. Ground truth:
    #   image 0: [[0, 0], [1, 1]]   image 1: [[2, 2], [2, 255]]
    truth = [np.array([[0, 0], [1, 1]]), np.array([[2, 2], [2, 255]])]
    sp = Superpixels(names=np.array(["a", "b"]), shapes=np.array([[2, 2], [2, 2]]),
                     pixel_offset=np.array([0, 4, 8]), sp_offset=np.array([0, 1, 2]),
                     maps=np.zeros(8, np.int32), area=np.array([4, 4]),
                     edges=np.zeros((0, 2), np.int64),
                     edge_offset=np.zeros(3, np.int64), attrs={})
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
