"""Unit tests of asal.method.superpixels: connected relabelling, the 4-neighbour graph, SEEDS sizing."""

import numpy as np
import pytest
from scipy import ndimage

from asal.data import synthetic
from asal.method.superpixels import SeedsSpec, adjacency, connected_relabel, superpixelize_image

# ---------------------------------------------------------------- connected_relabel

def test_connected_relabel_splits_a_label_in_two_pieces():
    # Raw label 5 has two 4-disconnected pieces: A = (0,0),(0,1),(1,0) and
    # B = (2,2),(2,3),(3,2),(3,3). Label 9 is one piece ((1,1)-(2,1) touch vertically),
    # label 7 one piece. First pixels in raster order: 5A (0,0) -> 0, 7 (0,2) -> 1,
    # 9 (1,1) -> 2, 5B (2,2) -> 3.
    raw = np.array([[5, 5, 7, 7],
                    [5, 9, 9, 7],
                    [9, 9, 5, 5],
                    [9, 9, 5, 5]])
    expected = np.array([[0, 0, 1, 1],
                         [0, 2, 2, 1],
                         [2, 2, 3, 3],
                         [2, 2, 3, 3]])
    np.testing.assert_array_equal(connected_relabel(raw), expected)


def test_connected_relabel_diagonal_contact_does_not_connect():
    # A checkerboard 2x2: the two 1s and the two 2s touch only diagonally, so four regions,
    # numbered by raster order of their (single) pixel.
    raw = np.array([[1, 2],
                    [2, 1]])
    np.testing.assert_array_equal(connected_relabel(raw), [[0, 1], [2, 3]])


def test_connected_relabel_ignores_raw_label_values():
    # Same partition as the first test with different raw values (and a large, sparse one):
    # ids depend only on the raster order of first pixels.
    raw = np.array([[40, 40, 3, 3],
                    [40, 1000, 1000, 3],
                    [1000, 1000, 40, 40],
                    [1000, 1000, 40, 40]])
    expected = np.array([[0, 0, 1, 1],
                         [0, 2, 2, 1],
                         [2, 2, 3, 3],
                         [2, 2, 3, 3]])
    out = connected_relabel(raw)
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.int32


def test_connected_relabel_u_shape_first_pixel_order():
    # Label 0 is a U whose two arms are joined by the bottom row: one region (id 0).
    # Label 1 sits inside the U and has its first pixel at (0,1) -> id 1.
    # Label 2 is a separate block at the right, first pixel (0,3) -> id 2.
    raw = np.array([[0, 1, 0, 2],
                    [0, 1, 0, 2],
                    [0, 0, 0, 2]])
    np.testing.assert_array_equal(connected_relabel(raw),
                                  [[0, 1, 0, 2], [0, 1, 0, 2], [0, 0, 0, 2]])


# ---------------------------------------------------------------- adjacency

def test_adjacency_four_neighbourhood_only():
    # 0 1        edges: 0-1 (horizontal), 2-3 (horizontal), 0-2, 1-3 (vertical);
    # 2 3        0-3 and 1-2 touch only diagonally: not edges.
    m = np.array([[0, 1],
                  [2, 3]])
    np.testing.assert_array_equal(adjacency(m), [[0, 1], [0, 2], [1, 3], [2, 3]])


def test_adjacency_unique_sorted_pairs():
    # Horizontal pairs: row0 (0,1); row1 (0,2),(1,2); rows 2,3 (2,3) twice.
    # Vertical pairs:   col0 (0,2); col1 (0,2); col2 (1,2),(2,3); col3 (1,3).
    # Unique, a < b, lexicographically sorted: (0,1),(0,2),(1,2),(1,3),(2,3).
    m = np.array([[0, 0, 1, 1],
                  [0, 2, 2, 1],
                  [2, 2, 3, 3],
                  [2, 2, 3, 3]])
    edges = adjacency(m)
    np.testing.assert_array_equal(edges, [[0, 1], [0, 2], [1, 2], [1, 3], [2, 3]])


def test_adjacency_single_region_has_no_edges():
    edges = adjacency(np.zeros((3, 3), dtype=np.int32))
    assert edges.shape == (0, 2)


def test_adjacency_diagonal_staircase():
    # 0 0 1      horizontal: row0 (0,1); row1 (0,2),(1,2); row2 (1,3).
    # 0 2 1      vertical:   col0 (0,3); col1 (0,2),(2,3); col2 none (1,1,1).
    # 3 3 1
    m = np.array([[0, 0, 1],
                  [0, 2, 1],
                  [3, 3, 1]])
    np.testing.assert_array_equal(adjacency(m), [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3],
                                                 [2, 3]])


# ---------------------------------------------------------------- SeedsSpec

@pytest.mark.parametrize("size,h,w,expected", [
    (256, 360, 480, 675),   # 172800 / 256 = 675
    (64, 48, 64, 48),       # 3072 / 64 = 48
    (100, 10, 10, 1),       # exactly the image area: one superpixel
    (30, 10, 10, 3),        # 100 / 30 = 3.33 -> 3
    (1, 4, 5, 20),          # one pixel each
])
def test_requested_count(size, h, w, expected):
    assert SeedsSpec(size=size).requested_count(h, w) == expected


def test_requested_count_rejects_size_above_area():
    with pytest.raises(ValueError, match="larger than the image"):
        SeedsSpec(size=101).requested_count(10, 10)


def test_unknown_colour_space_is_rejected():
    img = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="color_space"):
        superpixelize_image(img, SeedsSpec(size=16, color_space="xyz"))


# ---------------------------------------------------------------- superpixelize_image

@pytest.fixture(scope="module")
def scene_superpixels():
    image, _ = synthetic.make_scene(np.random.default_rng(0), 48, 64)
    return image, superpixelize_image(image, SeedsSpec(size=64))


def test_superpixelize_ids_dense(scene_superpixels):
    image, sp = scene_superpixels
    assert sp.shape == image.shape[:2]
    ids = np.unique(sp)
    np.testing.assert_array_equal(ids, np.arange(len(ids)))
    # 48 superpixels requested; SEEDS rounds to its grid and the relabelling may split some,
    # but the count stays of that order.
    assert 10 <= len(ids) <= 200


def test_superpixelize_every_id_is_one_4_connected_region(scene_superpixels):
    _, sp = scene_superpixels
    cross = ndimage.generate_binary_structure(2, 1)  # 4-connectivity
    for i in range(int(sp.max()) + 1):
        _, n = ndimage.label(sp == i, structure=cross)
        assert n == 1, f"superpixel {i} has {n} 4-connected pieces"


def test_superpixelize_ids_in_raster_order_of_first_pixel(scene_superpixels):
    _, sp = scene_superpixels
    flat = sp.ravel()
    _, first = np.unique(flat, return_index=True)
    # id k's first pixel comes before id k+1's first pixel
    assert np.all(np.diff(first) > 0)


def test_superpixelize_deterministic(scene_superpixels):
    image, sp = scene_superpixels
    np.testing.assert_array_equal(superpixelize_image(image, SeedsSpec(size=64)), sp)


# ---------------------------------------------------------------- properties on random maps

def _brute_force_edges(m):
    """Every pair of different ids that touch horizontally or vertically (loops)."""
    h, w = m.shape
    pairs = set()
    for r in range(h):
        for c in range(w):
            for dr, dc in ((0, 1), (1, 0)):
                rr, cc = r + dr, c + dc
                if rr < h and cc < w and m[r, c] != m[rr, cc]:
                    a, b = sorted((int(m[r, c]), int(m[rr, cc])))
                    pairs.add((a, b))
    return sorted(pairs)


@pytest.mark.parametrize("seed", range(8))
def test_relabel_and_adjacency_on_random_maps(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 9, size=2)
    raw = rng.integers(0, 3, size=(h, w)) * 7  # few values: many split labels
    out = connected_relabel(raw)
    ids = np.unique(out)
    np.testing.assert_array_equal(ids, np.arange(len(ids)))  # dense
    cross = ndimage.generate_binary_structure(2, 1)
    n_pieces = 0
    for v in np.unique(raw):
        _, n = ndimage.label(raw == v, structure=cross)
        n_pieces += n
    assert len(ids) == n_pieces  # one id per 4-connected piece of each raw label
    for i in ids:
        mask = out == i
        assert len(np.unique(raw[mask])) == 1  # never joins different raw labels
        assert ndimage.label(mask, structure=cross)[1] == 1
    _, first = np.unique(out.ravel(), return_index=True)
    assert np.all(np.diff(first) > 0)  # raster order of first pixel
    edges = adjacency(out)
    assert [tuple(e) for e in edges.tolist()] == _brute_force_edges(out)


def test_seeds_request_hits_the_target_size_despite_grid_snapping():
    # At 180x240 SEEDS (5 levels) snaps every request to a grid count: asking for
    # 180*240/256 = 169 gives only 35 superpixels (1234 px each), while 201 gives 165
    # (262 px), the count closest to the 256 px asked for.
    request, grid = SeedsSpec(size=256).seeds_request(180, 240)
    assert grid == 165
    assert abs(180 * 240 / grid - 256) < 10
    # At Cityscapes size the plain request is already exact.
    assert SeedsSpec(size=256).seeds_request(1024, 2048) == (8192, 8192)


# ---------------------------------------------------------------- the authors' SEEDS input

# A 3x4 RGB image (36 values, 30..199) and what the authors' preprocessing makes of it:
# skimage.exposure.equalize_hist (scikit-image 0.26.0, which bins integer images one bin per
# value as 0.17.2, the authors' version, does), .astype(np.float32), then
# cv2.cvtColor(..., cv2.COLOR_RGB2HSV) (OpenCV 5.0.0), computed in a separate environment
# with scikit-image installed and recorded here.
AUTHORS_IMAGE = [[[30, 30, 30], [70, 60, 166], [177, 128, 36], [46, 86, 103]],
                 [[135, 111, 75], [57, 147, 154], [35, 49, 106], [96, 180, 117]],
                 [[101, 103, 143], [129, 59, 155], [158, 192, 163], [199, 199, 120]]]
# equalize_hist = (number of the 36 values <= v) / 36, over all channels together; as
# counts (x 36): the three 30s -> 3, 35 -> 4, 36 -> 5, ..., the two 199s -> 36.
AUTHORS_EQ36 = [[[3, 3, 3], [11, 10, 31], [32, 22, 5], [6, 13, 17]],
                [[24, 19, 12], [8, 26, 27], [4, 7, 18], [14, 33, 20]],
                [[15, 17, 25], [23, 9, 28], [29, 34, 30], [36, 36, 21]]]
AUTHORS_HSV = [  # float32 values, written as the float64 numbers they are
    [[0.0, 0.0, 0.0833333358168602], [242.85714721679688, 0.6774192452430725, 0.8611111044883728],
     [37.77777099609375, 0.8437498807907104, 0.8888888955116272],
     [201.8181915283203, 0.6470586061477661, 0.4722222089767456]],
    [[34.99998474121094, 0.49999991059303284, 0.6666666865348816],
     [183.1579132080078, 0.7037035822868347, 0.75],
     [227.1428680419922, 0.7777776122093201, 0.5],
     [138.94737243652344, 0.5757575035095215, 0.9166666865348816]],
    [[228.0, 0.3999999165534973, 0.6944444179534912],
     [284.21051025390625, 0.678571343421936, 0.7777777910232544],
     [131.99996948242188, 0.14705875515937805, 0.9444444179534912],
     [59.99998474121094, 0.4166666269302368, 1.0]]]


def test_equalize_hist_is_the_share_of_values_at_or_below():
    from asal.method.superpixels import equalize_hist

    image = np.array(AUTHORS_IMAGE, np.uint8)
    eq = equalize_hist(image)
    assert eq.dtype == np.float64
    np.testing.assert_array_equal(eq, np.array(AUTHORS_EQ36) / 36.0)
    # a constant image becomes all ones (one bin holding everything)
    np.testing.assert_array_equal(equalize_hist(np.full((2, 2, 3), 7, np.uint8)), 1.0)


def test_authors_colour_space_gives_seeds_what_their_preprocessing_gives():
    from asal.method.superpixels import superpixel_input

    got = superpixel_input(np.array(AUTHORS_IMAGE, np.uint8), "authors")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.array(AUTHORS_HSV, np.float32))
    # hue in degrees, s and v in 0..1: SEEDS bins float input as if each channel spanned
    # 0..1, so nearly every hue falls in its last histogram bin
    assert got[..., 0].max() > 1 and got[..., 1:].max() <= 1


def test_seeds_is_handed_the_authors_input(monkeypatch):
    import cv2

    from asal.method import superpixels

    seen = []

    class FakeSeeds:
        def getNumberOfSuperpixels(self):
            return 1

        def iterate(self, img, iterations):
            seen.append(np.array(img))

        def getLabels(self):
            return np.zeros((3, 4), np.int32)

    monkeypatch.setattr(cv2.ximgproc, "createSuperpixelSEEDS", lambda *a: FakeSeeds())
    superpixels._seeds_request.cache_clear()
    superpixels.seeds_labels(np.array(AUTHORS_IMAGE, np.uint8),
                             SeedsSpec(size=4, color_space="authors"))
    superpixels._seeds_request.cache_clear()
    (img,) = seen
    np.testing.assert_array_equal(img, np.array(AUTHORS_HSV, np.float32))


def test_authors_colour_space_runs_seeds_on_a_scene():
    image, _ = synthetic.make_scene(np.random.default_rng(0), 48, 64)
    sp = superpixelize_image(image, SeedsSpec(size=64, color_space="authors"))
    ids = np.unique(sp)
    np.testing.assert_array_equal(ids, np.arange(len(ids)))
    assert len(ids) >= 10


# ---------------------------------------------------------------- SLIC

def test_slic_region_size_is_the_side_of_the_target_area():
    assert SeedsSpec(size=256, algorithm="slic").slic_region_size() == 16
    assert SeedsSpec(size=64, algorithm="slic").slic_region_size() == 8
    assert SeedsSpec(size=50, algorithm="slic").slic_region_size() == 7  # sqrt 7.07


def test_slic_sets_out_with_its_grid():
    from asal.method.superpixels import requested_per_image

    # region size 8 on 60x80: int(0.5 + 80 / 8) = 10 columns, int(0.5 + 60 / 8) = 8 rows
    assert requested_per_image((60, 80), SeedsSpec(size=64, algorithm="slic")) == 80
    # SEEDS: its grid count for the request
    spec = SeedsSpec(size=64)
    assert requested_per_image((60, 80), spec) == spec.seeds_request(60, 80)[0]


def test_slic_superpixels_are_connected_dense_and_near_the_target_size():
    image, _ = synthetic.make_scene(np.random.default_rng(0), 96, 128)
    spec = SeedsSpec(size=64, algorithm="slic")
    sp = superpixelize_image(image, spec)
    ids = np.unique(sp)
    np.testing.assert_array_equal(ids, np.arange(len(ids)))
    cross = ndimage.generate_binary_structure(2, 1)
    for i in ids:
        assert ndimage.label(sp == i, structure=cross)[1] == 1
    assert 0.5 * 64 <= sp.size / len(ids) <= 2 * 64  # 192 cells of 64 px on the grid
    np.testing.assert_array_equal(superpixelize_image(image, spec), sp)  # deterministic
    # not SEEDS: another algorithm gives another map
    assert not np.array_equal(superpixelize_image(image, SeedsSpec(size=64)), sp)


def test_spec_records_only_the_chosen_algorithms_settings():
    seeds = SeedsSpec(size=64).as_dict()
    assert seeds["algorithm"] == "seeds" and "ruler" not in seeds and "slic_variant" not in seeds
    assert seeds["levels"] == 5
    slic = SeedsSpec(size=64, algorithm="slic").as_dict()
    assert slic == {"size": 64, "iterations": 10, "color_space": "lab", "algorithm": "slic",
                    "slic_variant": "slic", "ruler": 10.0}


@pytest.mark.parametrize("kw,key", [(dict(algorithm="watershed"), "superpixels.algorithm"),
                                    (dict(slic_variant="lsc"), "superpixels.slic_variant"),
                                    (dict(algorithm="slic", color_space="authors"),
                                     "superpixels.color_space")])
def test_superpixel_spec_rejects(kw, key):
    with pytest.raises(ValueError, match=key):
        SeedsSpec(size=64, **kw)
