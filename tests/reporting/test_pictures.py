"""Picture helpers on hand-made arrays."""

from __future__ import annotations

import numpy as np

from asal.reporting import pictures


def test_boundaries_mark_the_pixel_before_a_change():
    region = np.array([[0, 0, 1],
                       [0, 0, 1],
                       [2, 2, 2]])
    # Right neighbour differs at (0,1), (1,1); lower neighbour differs at (1,0), (1,1), (1,2).
    expected = np.array([[0, 1, 0],
                         [1, 1, 1],
                         [0, 0, 0]], bool)
    np.testing.assert_array_equal(pictures.boundaries(region), expected)


def test_colourise_uses_palette_and_blacks_out_void():
    palette = np.array([[10, 20, 30], [40, 50, 60]], np.uint8)
    out = pictures.colourise(np.array([[0, 1, 255]]), palette)
    np.testing.assert_array_equal(out[0], [[10, 20, 30], [40, 50, 60], [0, 0, 0]])


def test_queries_picture_colours_by_answer_and_outlines():
    image = np.full((2, 3, 3), 100, np.uint8)
    palette = np.array([[200, 0, 0], [0, 200, 0]], np.uint8)
    qmap = np.array([[0, 0, -1], [1, 1, -1]])  # query 0 answered class 1, query 1 void (2)
    out = pictures.queries_picture(image, qmap, qmap, np.array([1, 2]), palette, n_classes=2)
    # Unqueried pixels keep the image; (0,2) and (1,2) are not queried.
    np.testing.assert_array_equal(out[1, 2], [100, 100, 100])
    # Query 0's boundary pixel (0,1) and its lower edge (0,0) are outlined in yellow.
    np.testing.assert_array_equal(out[0, 0], pictures.BOUNDARY)
    # Query 1 (void): 0.4 * 100 + 0.6 * 0 = 40 on every channel at (1,0).
    np.testing.assert_array_equal(out[1, 0], [40, 40, 40])


def test_sieve_picture_marks_removed_pixels():
    image = np.zeros((1, 3, 3), np.uint8)
    palette = np.array([[0, 0, 200]], np.uint8)
    out = pictures.sieve_picture(image, np.array([[0, 0, 255]]), np.array([[True, False, False]]),
                                 np.array([[True, True, False]]), palette)
    np.testing.assert_array_equal(out[0, 0], [0, 0, 150])  # 0.75 * 200
    np.testing.assert_array_equal(out[0, 1], [191, 0, 191])  # 0.75 * 255, magenta
    np.testing.assert_array_equal(out[0, 2], [0, 0, 0])


def test_legend_and_stacking_shapes():
    panel = pictures.legend(["a", "b", "c"], np.zeros((3, 3), np.uint8), width=300)
    assert panel.shape[1] == 300 and panel.shape[2] == 3
    a, b = np.zeros((4, 5, 3), np.uint8), np.zeros((6, 2, 3), np.uint8)
    assert pictures.hstack([a, b], gap=1).shape == (6, 8, 3)
    assert pictures.vstack([a, b]).shape == (10, 5, 3)
    assert pictures.upscale(np.zeros((10, 100, 3), np.uint8), 480).shape == (50, 500, 3)


def test_knee_figure_renders():
    conf = np.concatenate([np.linspace(0.05, 0.5, 20), np.full(80, 0.9)])
    rgb = pictures.figure_to_rgb(pictures.knee_figure(conf, 0.9, 20, "test"))
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.std() > 0
