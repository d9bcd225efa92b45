"""The synthetic dataset must be reproducible and have the class imbalance the method is meant to handle."""

import json

import cv2
import numpy as np
import pytest

from asal.data import synthetic as S

H, W = 96, 128


def scene(*key, h=H, w=W):
    return S.make_scene(np.random.default_rng(list(key)), h, w)


def test_deterministic_and_varied():
    a_img, a_lab = scene(7, 0, 3)
    b_img, b_lab = scene(7, 0, 3)
    np.testing.assert_array_equal(a_img, b_img)
    np.testing.assert_array_equal(a_lab, b_lab)
    c_img, c_lab = scene(7, 0, 4)
    assert not np.array_equal(a_img, c_img)
    assert not np.array_equal(a_lab, c_lab)


@pytest.mark.parametrize("hw", [(96, 128), (32, 32), (40, 300), (300, 40), (512, 1024)])
def test_shapes_and_dtypes(hw):
    img, lab = scene(0, 0, 0, h=hw[0], w=hw[1])
    assert img.shape == (*hw, 3) and img.dtype == np.uint8
    assert lab.shape == hw and lab.dtype == np.uint8
    values = set(np.unique(lab).tolist())
    assert values <= set(range(len(S.CLASSES))) | {S.VOID}


def test_palette_matches_classes():
    assert S.PALETTE.shape == (len(S.CLASSES), 3) and S.PALETTE.dtype == np.uint8


def test_class_frequencies_are_unequal():
    counts = np.zeros(256, dtype=np.int64)
    for k in range(24):
        _, lab = scene(0, 0, k)
        counts += np.bincount(lab.ravel(), minlength=256)
    freq = counts / counts.sum()
    idx = {c: i for i, c in enumerate(S.CLASSES)}
    assert all(freq[i] > 0 for i in range(len(S.CLASSES)))
    assert freq[idx["pole"]] < 0.05 and freq[idx["sign"]] < 0.05
    assert freq[idx["road"]] > 0.15 and freq[idx["building"]] > 0.15
    assert 0 < freq[S.VOID] < 0.05
    assert freq[: len(S.CLASSES)].max() / freq[: len(S.CLASSES)].min() > 10


def test_generate_writes_readable_files(tmp_path):
    S.generate(tmp_path, n_pool=3, n_val=2, height=H, width=W, seed=5)
    pool = (tmp_path / "pool.txt").read_text().split()
    val = (tmp_path / "val.txt").read_text().split()
    assert pool == ["pool_0000", "pool_0001", "pool_0002"]
    assert val == ["val_0000", "val_0001"]
    for split_index, names in enumerate([pool, val]):
        for k, name in enumerate(names):
            img = cv2.imread(str(tmp_path / "images" / f"{name}.png"), cv2.IMREAD_COLOR)
            lab = cv2.imread(str(tmp_path / "labels" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
            exp_img, exp_lab = scene(5, split_index, k)
            np.testing.assert_array_equal(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), exp_img)
            np.testing.assert_array_equal(lab, exp_lab)
    info = json.loads((tmp_path / "classes.json").read_text())
    assert info["classes"] == list(S.CLASSES)
    assert info["palette"] == S.PALETTE.tolist()
    assert info["void"] == 255
    assert info["generator"]["seed"] == 5 and info["generator"]["n_pool"] == 3
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]  # no temporary files left behind
