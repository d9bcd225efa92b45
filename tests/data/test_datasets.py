"""Dataset adapters on tiny hand-made layouts, plus the real CamVid where present."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from asal.data.datasets import VOID, DatasetError, open_dataset

CAMVID = Path(__file__).resolve().parents[3] / "shared" / "data" / "camvid"


def _png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), array)


def make_folder(root: Path, label: np.ndarray, image_ext: str = ".png") -> Path:
    h, w = label.shape
    _png(root / "images" / f"a{image_ext}", np.full((h, w, 3), 100, np.uint8))
    _png(root / "labels" / "a.png", label.astype(np.uint8))
    (root / "pool.txt").write_text("a\n")
    (root / "val.txt").write_text("a\n")
    (root / "classes.json").write_text(json.dumps({"classes": ["x", "y", "z"]}))
    return root


def test_folder_dataset_reads_and_resizes(tmp_path):
    label = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, VOID, VOID], [2, 2, VOID, VOID]])
    make_folder(tmp_path, label, ".jpg")
    ds = open_dataset("folder", tmp_path, resize=0.5)
    assert ds.classes == ("x", "y", "z")
    assert ds.read_image("a").shape == (2, 2, 3)
    # Nearest-neighbour halving of 2x2 blocks keeps one value per block.
    np.testing.assert_array_equal(ds.read_label("a"), [[0, 1], [2, VOID]])


def test_label_value_outside_class_list_names_the_file(tmp_path):
    make_folder(tmp_path, np.array([[0, 7], [1, 2]]))
    ds = open_dataset("folder", tmp_path)
    with pytest.raises(DatasetError, match=r"labels/a.png: raw mask values \[7\] are neither "
                                           r"a class nor void.*\"values\""):
        ds.read_label("a")


def test_size_mismatch_names_the_file(tmp_path):
    make_folder(tmp_path, np.zeros((4, 4)))
    _png(tmp_path / "labels" / "a.png", np.zeros((4, 5), np.uint8))
    with pytest.raises(DatasetError, match=r"labels/a.png: label is 5x4 but its image is 4x4"):
        open_dataset("folder", tmp_path).read_label("a")


def test_missing_and_corrupt_images(tmp_path):
    make_folder(tmp_path, np.zeros((4, 4)))
    ds = open_dataset("folder", tmp_path)
    (tmp_path / "images" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(DatasetError, match=r"images/a.png: cannot be decoded"):
        ds.read_image("a")
    (tmp_path / "images" / "a.png").unlink()
    with pytest.raises(DatasetError, match=r"images/a.png: image missing"):
        ds.read_image("a")


def test_grayscale_and_rgba_images_become_rgb(tmp_path):
    make_folder(tmp_path, np.zeros((4, 4)))
    ds = open_dataset("folder", tmp_path)
    _png(tmp_path / "images" / "a.png", np.full((4, 4), 30, np.uint8))
    assert ds.read_image("a").shape == (4, 4, 3)
    _png(tmp_path / "images" / "a.png", np.full((4, 4, 4), 30, np.uint8))
    assert ds.read_image("a").shape == (4, 4, 3)


def test_empty_pool_is_an_error(tmp_path):
    make_folder(tmp_path, np.zeros((4, 4)))
    (tmp_path / "pool.txt").write_text("\n")
    with pytest.raises(DatasetError, match=r"pool.txt: split list is empty"):
        open_dataset("folder", tmp_path)


def test_cityscapes_maps_label_ids_to_train_ids(tmp_path):
    for split in ("train", "val"):
        _png(tmp_path / "leftImg8bit" / split / "aachen" / "aachen_000000_000019_leftImg8bit.png",
             np.zeros((2, 3, 3), np.uint8))
        # labelIds: 7 road -> 0, 26 car -> 13, 33 bicycle -> 18, 0 unlabeled -> void,
        # 4 static -> void, 23 sky -> 10.
        _png(tmp_path / "gtFine" / split / "aachen" / "aachen_000000_000019_gtFine_labelIds.png",
             np.array([[7, 26, 33], [0, 4, 23]], np.uint8))
    ds = open_dataset("cityscapes", tmp_path)
    assert ds.n_classes == 19
    assert ds.pool == ["train/aachen/aachen_000000_000019"]
    np.testing.assert_array_equal(ds.read_label(ds.pool[0]), [[0, 13, 18], [VOID, VOID, 10]])


def test_cityscapes_undefined_label_id_is_an_error(tmp_path):
    for split in ("train", "val"):
        _png(tmp_path / "leftImg8bit" / split / "c" / "c_1_leftImg8bit.png",
             np.zeros((1, 2, 3), np.uint8))
        _png(tmp_path / "gtFine" / split / "c" / "c_1_gtFine_labelIds.png",
             np.array([[7, 40]], np.uint8))
    ds = open_dataset("cityscapes", tmp_path)
    with pytest.raises(DatasetError, match=r"c_1_gtFine_labelIds.png: raw mask values \[40\]"):
        ds.read_label(ds.pool[0])


def test_voc_reads_palette_indices(tmp_path):
    (tmp_path / "ImageSets" / "Segmentation").mkdir(parents=True)
    (tmp_path / "ImageSets" / "Segmentation" / "train.txt").write_text("2007_000032\n")
    (tmp_path / "ImageSets" / "Segmentation" / "val.txt").write_text("2007_000032\n")
    (tmp_path / "JPEGImages").mkdir()
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(tmp_path / "JPEGImages" / "2007_000032.jpg")
    (tmp_path / "SegmentationClass").mkdir()
    label = Image.fromarray(np.array([[0, 15], [20, 255]], np.uint8), mode="P")
    label.putpalette([v for k in range(256) for v in (k, 255 - k, k // 2)])
    label.save(tmp_path / "SegmentationClass" / "2007_000032.png")
    ds = open_dataset("voc", tmp_path)
    assert ds.n_classes == 21
    np.testing.assert_array_equal(ds.read_label("2007_000032"), [[0, 15], [20, VOID]])
    assert tuple(ds.palette[1]) == (128, 0, 0)  # aeroplane in the VOC colour map


def test_unknown_dataset_and_bad_root(tmp_path):
    with pytest.raises(DatasetError, match="unknown dataset 'kitti'"):
        open_dataset("kitti", tmp_path)
    with pytest.raises(DatasetError, match="is not a folder"):
        open_dataset("camvid", tmp_path / "nowhere")


@pytest.mark.skipif(not CAMVID.is_dir(), reason=f"CamVid not found at {CAMVID}")
def test_real_camvid_at_half_resolution():
    ds = open_dataset("camvid", CAMVID, resize=0.5)
    assert (len(ds.pool), len(ds.evaluation), ds.n_classes) == (367, 101, 11)
    image, label = ds.read_image(ds.pool[0]), ds.read_label(ds.pool[0])
    assert image.shape == (180, 240, 3) and label.shape == (180, 240)
    values = set(np.unique(label).tolist())
    assert values <= set(range(11)) | {VOID}
