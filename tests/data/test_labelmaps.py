"""Raw mask values to classes (classes.json `values`, `colors`, `void`) and the dataset check,
on tiny folder datasets made here."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from PIL import Image

from asal.cli import main
from asal.data.dataset_check import SWITCH, check_dataset, check_pool_classes, class_counts
from asal.data.datasets import VOID, DatasetError, open_dataset
from asal.data.labelmaps import colors_mapping, read_raw_mask, values_mapping
from asal.method.superpixels import SeedsSpec
from asal.stages.oracle_table import oracle_table
from asal.stages.superpixelize import superpixelize

REPO = Path(__file__).resolve().parents[2]
CAMVID = REPO.parent / "shared" / "data" / "camvid"


def make_folder(root: Path, masks: dict, meta: dict, gray: bool = True) -> Path:
    """images/NAME.png (grayscale or RGB, as the masks' height and width), labels/NAME.png
    written by Pillow exactly as given (a PIL image or an array), every name in the pool and
    a copy of it, val_NAME, in the evaluation split."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for name, mask in masks.items():
        img = mask if isinstance(mask, Image.Image) else Image.fromarray(mask)
        w, h = img.size
        image = np.full((h, w) if gray else (h, w, 3), 90, np.uint8)
        for copy in (name, f"val_{name}"):
            assert cv2.imwrite(str(root / "images" / f"{copy}.png"), image)
            img.save(root / "labels" / f"{copy}.png")
    (root / "pool.txt").write_text("".join(f"{n}\n" for n in masks))
    (root / "val.txt").write_text("".join(f"val_{n}\n" for n in masks))
    (root / "classes.json").write_text(json.dumps(meta))
    return root


BINARY = np.array([[0, 0, 255, 255], [0, 0, 255, 255], [0, 0, 0, 255], [0, 0, 0, 0]], np.uint8)


# ------------------------------------------------------------------ single-channel values


def test_binary_0_255_masks_with_values(tmp_path):
    make_folder(tmp_path, {"a": BINARY}, {"classes": ["background", "object"],
                                          "values": [0, 255]})
    ds = open_dataset("folder", tmp_path)
    # 255 is a class value, so there is no void value unless "void" names one.
    assert ds.mapping.void_raw == ()
    np.testing.assert_array_equal(ds.read_label("a"), (BINARY == 255).astype(np.uint8))
    # Grayscale images become three channels.
    assert ds.read_image("a").shape == (4, 4, 3)


def test_binary_0_255_masks_without_values_are_refused_by_the_check(tmp_path):
    """The silent-void case of the issue: 255 read as void, class 'object' nowhere."""
    make_folder(tmp_path, {"a": BINARY, "b": BINARY}, {"classes": ["background", "object"]})
    ds = open_dataset("folder", tmp_path)
    label = ds.read_label("a")
    np.testing.assert_array_equal(label, np.where(BINARY == 255, VOID, 0))
    counts = class_counts(label, 2) * 2  # both images are the same: 11 background, 5 void
    np.testing.assert_array_equal(counts, [22, 0, 10])
    with pytest.raises(DatasetError) as err:
        check_pool_classes(ds, counts, 2)
    text = str(err.value)
    assert "'object' (class 1, raw value 1) occurs in none of the 2 pool label maps" in text
    assert "31.2% of the pool's pixels are void (raw value 255)" in text  # 10 / 32
    assert '"values": [0, 255]' in text
    assert f"{SWITCH}: true" in text
    # Allowed: the same message comes back, to be logged.
    assert check_pool_classes(ds, counts, 2, allow_absent=True) == text
    assert check_pool_classes(ds, np.array([22, 1, 9]), 2) is None


def test_absent_class_without_void_names_class_and_switch(tmp_path):
    make_folder(tmp_path, {"a": np.zeros((2, 2), np.uint8)}, {"classes": ["x", "y"]})
    ds = open_dataset("folder", tmp_path)
    with pytest.raises(DatasetError, match=r"'y' \(class 1, raw value 1\) occurs in none "
                                           r".*now values \[0, 1\], void \[255\].*"
                                           r"allow_absent_classes: true"):
        check_pool_classes(ds, class_counts(ds.read_label("a"), 2), 1)


def test_class_ids_with_void_0(tmp_path):
    raw = np.array([[0, 1], [2, 3]], np.uint8)
    make_folder(tmp_path, {"a": raw}, {"classes": ["x", "y", "z"], "values": [1, 2, 3],
                                       "void": 0})
    ds = open_dataset("folder", tmp_path)
    np.testing.assert_array_equal(ds.read_label("a"), [[VOID, 0], [1, 2]])
    # 255 is no longer void: it is a value outside the mapping.
    Image.fromarray(np.array([[0, 255], [2, 3]], np.uint8)).save(tmp_path / "labels" / "a.png")
    with pytest.raises(DatasetError, match=r"labels/a.png: raw mask values \[255\] are neither "
                                           r"a class nor void \(values \[1, 2, 3\], void \[0\]\)"):
        ds.read_label("a")


def test_void_0_clashing_with_default_values_asks_for_values(tmp_path):
    make_folder(tmp_path, {"a": np.zeros((2, 2), np.uint8)}, {"classes": ["x", "y"], "void": 0})
    with pytest.raises(DatasetError, match=r"classes.json: void \[0\] is also a class's default "
                                           r"raw value .*give \"values\""):
        open_dataset("folder", tmp_path)


def test_values_outside_the_mapping_name_the_file_and_values(tmp_path):
    raw = np.array([[0, 1], [7, 9]], np.uint8)
    make_folder(tmp_path, {"a": raw}, {"classes": ["x", "y"], "values": [0, 1], "void": [2]})
    with pytest.raises(DatasetError, match=r"labels/a.png: raw mask values \[7, 9\] .*"
                                           r"\"values\" \(or \"colors\"\)"):
        open_dataset("folder", tmp_path).read_label("a")


def test_sixteen_bit_masks(tmp_path):
    raw = np.array([[0, 1000], [1000, 65535]], np.uint16)
    make_folder(tmp_path, {"a": Image.fromarray(raw)},
                {"classes": ["x", "y"], "values": [0, 1000], "void": 65535})
    np.testing.assert_array_equal(open_dataset("folder", tmp_path).read_label("a"),
                                  [[0, 1], [1, VOID]])


def test_one_bit_png_reads_as_0_and_255(tmp_path):
    bits = Image.fromarray(BINARY == 255).convert("1")
    make_folder(tmp_path, {"a": bits}, {"classes": ["bg", "fg"], "values": [0, 255]})
    assert bits.mode == "1"
    np.testing.assert_array_equal(open_dataset("folder", tmp_path).read_label("a"),
                                  (BINARY == 255).astype(np.uint8))


def test_grayscale_mask_saved_as_rgb_reads_as_values(tmp_path):
    rgb = np.repeat(BINARY[:, :, None], 3, axis=2)
    make_folder(tmp_path, {"a": rgb}, {"classes": ["bg", "fg"], "values": [0, 255]})
    np.testing.assert_array_equal(open_dataset("folder", tmp_path).read_label("a"),
                                  (BINARY == 255).astype(np.uint8))


def test_colour_mask_with_values_asks_for_colors(tmp_path):
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (128, 0, 0)
    make_folder(tmp_path, {"a": rgb}, {"classes": ["x", "y"]})
    with pytest.raises(DatasetError, match=r"labels/a.png: an RGB-coded mask .*give \"colors\""):
        open_dataset("folder", tmp_path).read_label("a")


# ------------------------------------------------------------------ RGB colours and palettes


def test_rgb_coded_masks_with_colors_and_void_colour(tmp_path):
    colors = [[128, 128, 128], [128, 0, 0], [64, 0, 128]]
    rgb = np.array([[[128, 128, 128], [128, 0, 0]], [[64, 0, 128], [0, 0, 0]]], np.uint8)
    make_folder(tmp_path, {"a": rgb}, {"classes": ["sky", "building", "car"], "colors": colors,
                                       "void": [0, 0, 0]}, gray=False)
    ds = open_dataset("folder", tmp_path)
    np.testing.assert_array_equal(ds.read_label("a"), [[0, 1], [2, VOID]])
    # The palette for pictures defaults to the class colours.
    np.testing.assert_array_equal(ds.palette, colors)
    rgb[1, 1] = (1, 2, 3)
    Image.fromarray(rgb).save(tmp_path / "labels" / "a.png")
    with pytest.raises(DatasetError, match=r"labels/a.png: raw mask colours \[\[1, 2, 3\]\] are "
                                           r"neither a class nor void .*\"colors\""):
        ds.read_label("a")


def test_colors_without_void_refuse_an_unlisted_colour(tmp_path):
    rgb = np.array([[[255, 0, 0], [0, 0, 0]]], np.uint8)
    make_folder(tmp_path, {"a": rgb}, {"classes": ["red"], "colors": [[255, 0, 0]]}, gray=False)
    with pytest.raises(DatasetError, match=r"raw mask colours \[\[0, 0, 0\]\].*void none"):
        open_dataset("folder", tmp_path).read_label("a")


def test_palette_png_reads_indices_with_values_and_colours_with_colors(tmp_path):
    index = np.array([[0, 1], [2, 1]], np.uint8)
    img = Image.fromarray(index, mode="P")
    img.putpalette([10, 20, 30, 200, 0, 0, 0, 0, 0] + [0] * (253 * 3))
    make_folder(tmp_path / "v", {"a": img}, {"classes": ["x", "y"], "void": 2})
    np.testing.assert_array_equal(open_dataset("folder", tmp_path / "v").read_label("a"),
                                  [[0, 1], [VOID, 1]])
    make_folder(tmp_path / "c", {"a": img}, {"classes": ["x", "y"],
                                             "colors": [[10, 20, 30], [200, 0, 0]],
                                             "void": [[0, 0, 0]]})
    np.testing.assert_array_equal(open_dataset("folder", tmp_path / "c").read_label("a"),
                                  [[0, 1], [VOID, 1]])


def test_mapping_tables_by_hand():
    m = values_mapping(2, [3, 7], [0, 9])
    np.testing.assert_array_equal(m.apply(np.array([[3, 7, 0, 9]]), "f"), [[0, 1, VOID, VOID]])
    c = colors_mapping(2, [[0, 0, 255], [255, 0, 0]], [[255, 255, 255]])
    # Codes sorted: blue 255, red 16711680, white 16777215.
    np.testing.assert_array_equal(c.codes, [255, 16711680, 16777215])
    np.testing.assert_array_equal(c.code_labels, [0, 1, VOID])
    rgb = np.array([[[255, 0, 0], [0, 0, 255], [255, 255, 255]]], np.uint8)
    np.testing.assert_array_equal(c.apply(rgb, "f"), [[1, 0, VOID]])


@pytest.mark.parametrize("meta, match", [
    ({"classes": ["x"], "value": [0]}, r"unknown keys \['value'\]"),
    ({"classes": ["x", "y"], "values": [0]}, r"\"values\" must list one raw value .*2 classes"),
    ({"classes": ["x", "y"], "values": [0, 0]}, r"raw value 0 is given twice"),
    ({"classes": ["x", "y"], "values": [0, 3], "void": 3}, r"raw value 3 is given twice"),
    ({"classes": ["x"], "colors": [[0, 0]]}, r"\"colors\" must list one \[r, g, b\]"),
    ({"classes": ["x"], "values": [0], "colors": [[0, 0, 0]]}, r"not both"),
    ({"classes": ["x"], "colors": [[0, 0, 0]], "void": 5}, r"\"void\" is one \[r, g, b\]"),
])
def test_bad_classes_json_names_the_key(tmp_path, meta, match):
    make_folder(tmp_path, {"a": np.zeros((2, 2), np.uint8)}, meta)
    with pytest.raises(DatasetError, match=r"classes.json: .*" + match):
        open_dataset("folder", tmp_path)


def test_read_raw_mask_palette_gives_indices(tmp_path):
    img = Image.fromarray(np.array([[5, 6]], np.uint8), mode="P")
    img.putpalette([0, 0, 0] * 256)
    img.save(tmp_path / "p.png")
    np.testing.assert_array_equal(read_raw_mask(tmp_path / "p.png"), [[5, 6]])
    np.testing.assert_array_equal(read_raw_mask(tmp_path / "p.png", rgb=True),
                                  np.zeros((1, 2, 3)))


# ------------------------------------------------------------------ the check in the pipeline


def _superpixels(tmp_path, root) -> str:
    cfg = {"name": "folder", "root": str(root)}
    out = str(tmp_path / "seeds.h5")
    superpixelize(dataset=cfg, spec=SeedsSpec(size=16), out=out)
    return out


def test_oracle_table_refuses_the_silent_void_pool_and_writes_nothing(tmp_path):
    mask = np.zeros((16, 16), np.uint8)
    mask[4:12, 4:12] = 255
    root = make_folder(tmp_path / "ds", {"a": mask, "b": mask}, {"classes": ["bg", "fg"]})
    sp = _superpixels(tmp_path, root)
    out = tmp_path / "oracle.h5"
    cfg = {"name": "folder", "root": str(root)}
    with pytest.raises(DatasetError, match=r"'fg' .* 25.0% of the pool's pixels are void "
                                           r"\(raw value 255\).*\"values\": \[0, 255\]"):
        oracle_table(dataset=cfg, superpixels=sp, out=str(out))
    assert not out.exists() and list(tmp_path.glob("oracle*")) == []
    oracle_table(dataset=cfg, superpixels=sp, out=str(out), allow_absent_classes=True)
    assert out.exists()


def _config(tmp_path, root, **dataset) -> str:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"dataset": {"name": "folder", "root": str(root),
                                                **dataset}}))
    return str(path)


def test_check_dataset_command_reports_and_refuses(tmp_path, capsys):
    root = make_folder(tmp_path / "ds", {"a": BINARY}, {"classes": ["background", "object"]})
    with pytest.raises(SystemExit) as done:
        main(["check-dataset", "--config", str(REPO / "config.yaml"), _config(tmp_path, root)])
    assert done.value.code == 1
    out = capsys.readouterr().out
    assert "pool             1  4x4 (1)" in out
    assert "background" in out and "11 (68.8%)" in out  # 11 of 16 pixels
    assert "void" in out and "5 (31.2%)" in out
    assert "error: " in out and '"values": [0, 255]' in out and SWITCH in out
    # With the switch the same pool passes, with a note.
    main(["check-dataset", "--config", str(REPO / "config.yaml"),
          _config(tmp_path, root, allow_absent_classes=True)])
    out = capsys.readouterr().out
    assert "problems: none" in out and f"note: allowed by {SWITCH}" in out


def test_check_dataset_lists_every_bad_file(tmp_path):
    root = make_folder(tmp_path, {"a": np.array([[0, 7]], np.uint8),
                                  "b": np.array([[1, 9]], np.uint8)}, {"classes": ["x", "y"]})
    text, ok, _ = check_dataset(open_dataset("folder", root))
    assert not ok
    assert "labels/a.png: raw mask values [7]" in text
    assert "labels/b.png: raw mask values [9]" in text


@pytest.mark.skipif(not CAMVID.is_dir(), reason=f"real CamVid not present at {CAMVID}")
def test_real_camvid_passes_the_check():
    text, ok, summary = check_dataset(open_dataset("camvid", CAMVID, resize=0.5))
    assert ok, text
    assert "pool           367  480x360 (367)        240x180 (367)" in text
    assert "evaluation     101  480x360 (101)        240x180 (101)" in text
    assert summary["read_sizes"] == [[240, 180]]
    assert len(summary["pixels"]["pool"]) == 12 and min(summary["pixels"]["pool"]) > 0
