"""Unit tests of asal.learning.training.sparse_targets: the sieved labels as training targets."""

import numpy as np

from asal.learning.training import sparse_targets
from asal.store.artifacts import Superpixels


def _two_images():
    # image 0 is 2x2 (global pixels 0..3), image 1 is 1x3 (global pixels 4..6)
    return Superpixels(names=np.array(["a", "b"]), shapes=np.array([[2, 2], [1, 3]]),
                       pixel_offset=np.array([0, 4, 7]), sp_offset=np.array([0, 1, 2]),
                       maps=np.zeros(7, np.int32), area=np.array([4, 3]),
                       edges=np.zeros((0, 2), np.int64),
                       edge_offset=np.zeros(3, np.int64), attrs={})


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


def test_coded_targets_mark_sets_and_void_answers():
    from asal.learning.targets import coded_targets

    class SP:  # image 0 is 2x2 (pixels 0..3), two superpixels: left column, right column
        pixel_offset = np.array([0, 4])
        sp_offset = np.array([0, 2])
        shapes = np.array([[2, 2]])

        @staticmethod
        def local_map(i):
            return np.array([[0, 1], [0, 1]])

    # pixel 0: class 1 alone; pixel 2: the set {0, 2} (0b101); pixel 1 sieved out
    sieved = {"pixel": np.array([0, 2, 1]), "label": np.array([1, 0, 2]),
              "label_set": np.array([0b10, 0b101, 0b100]),
              "kept": np.array([True, True, False])}
    void = np.array([False, True])  # superpixel 1 (the right column) was answered void
    t = coded_targets(SP, sieved, 3, void)
    assert t.ignore == 255 and t.void_code == 254
    # codes: class 1 at pixel 0; C + 0 = 3 for the set at pixel 2; void in the right column
    np.testing.assert_array_equal(t.maps[0], [[1, 254], [3, 254]])
    assert t.sets.tolist() == [[True, False, True]]
    # without sets and void answers: asal's earlier sparse targets, byte for byte
    del sieved["label_set"]
    plain = coded_targets(SP, sieved, 3)
    np.testing.assert_array_equal(plain.maps[0], sparse_targets(SP, sieved)[0])
    assert plain.sets is None and plain.maps[0].dtype == np.uint8
