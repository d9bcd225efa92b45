"""`asal check-dataset` finds what the workflow would refuse, on folder datasets laid out the
way users lay theirs out: images of several sizes, JPEG masks, masks full of compression noise,
splits that overlap, misspelt keys, and a label-free folder for a person to label."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from asal.data.dataset_check import check_dataset
from asal.data.datasets import DatasetError, open_dataset
from asal.experiment.settings import ConfigError, checked_config

REPO = Path(__file__).resolve().parents[2]
HEAD = "train.model feature_head (its encoder's features are cached at one size)"


def binary_folder(root: Path, sizes: list[tuple[int, int]], val: int = 1,
                  meta: dict | None = None, labels: bool = True) -> Path:
    """Pool images of the given (width, height), `val` more for evaluation; masks 0/255 with a
    disc of 255."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    names = []
    for k, (w, h) in enumerate(sizes + sizes[:1] * val):
        name = f"img{k}"
        names.append(name)
        mask = np.zeros((h, w), np.uint8)
        cv2.circle(mask, (w // 2, h // 2), min(w, h) // 4, 255, -1)
        cv2.imwrite(str(root / "images" / f"{name}.png"), np.dstack([mask] * 3) // 2 + 40)
        if labels:
            cv2.imwrite(str(root / "labels" / f"{name}.png"), mask)
    (root / "pool.txt").write_text("\n".join(names[:len(sizes)]) + "\n")
    (root / "val.txt").write_text("\n".join(names[len(sizes):]) + "\n")
    (root / "classes.json").write_text(json.dumps(
        meta or {"classes": ["background", "disc"], "values": [0, 255]}))
    return root


def test_images_of_several_sizes_are_refused_where_the_model_needs_one_and_size_fixes_it(
        tmp_path):
    root = binary_folder(tmp_path, [(64, 48), (64, 48), (80, 60)])
    text, ok, _ = check_dataset(open_dataset("folder", root), one_size=HEAD)
    assert not ok
    assert ("the images are read at 2 different sizes (64x48 (3), 80x60 (1)), but "
            f"{HEAD} needs one size") in text
    assert "dataset.size: [64, 48] (the commonest, 3 images)" in text
    # a network trained on crops takes any size
    assert check_dataset(open_dataset("folder", root), one_size=None)[1]
    # dataset.size reads every image (and label) at one size: the check passes, and so it reads
    ds = open_dataset("folder", root, size=[64, 48])
    text, ok, summary = check_dataset(ds, one_size=HEAD)
    assert ok, text
    assert summary["read_sizes"] == [[64, 48]]
    assert ds.read_image("img2").shape == (48, 64, 3)
    assert set(np.unique(ds.read_label("img2"))) == {0, 1}  # nearest: no blended value
    with pytest.raises(DatasetError, match="set one"):
        open_dataset("folder", root, resize=0.5, size=[64, 48])


def test_a_jpeg_mask_beside_the_missing_png_is_named_with_what_is_wrong(tmp_path):
    root = binary_folder(tmp_path, [(64, 48), (64, 48)])
    png = root / "labels" / "img1.png"
    cv2.imwrite(str(png.with_suffix(".jpg")), cv2.imread(str(png), cv2.IMREAD_UNCHANGED))
    png.unlink()
    text, ok, _ = check_dataset(open_dataset("folder", root))
    assert not ok
    assert "labels/img1.png: label map missing for image 'img1'; found labels/img1.jpg" in text
    assert "A JPEG mask is lossy" in text


def test_jpeg_masks_in_masks_folder_are_named_and_said_once_with_their_count(tmp_path):
    """Masks as masks/NAME.jpg: the check names the JPEG (not only the missing
    labels/NAME.png) and, every image sharing the problem, says it once with the count."""
    root = binary_folder(tmp_path, [(64, 48)] * 6)
    (root / "masks").mkdir()
    for png in sorted((root / "labels").glob("*.png")):
        cv2.imwrite(str(root / "masks" / (png.stem + ".jpg")),
                    cv2.imread(str(png), cv2.IMREAD_UNCHANGED))
        png.unlink()
    (root / "labels").rmdir()
    text, ok, _ = check_dataset(open_dataset("folder", root))
    assert not ok
    problems = [line for line in text.splitlines() if line.startswith("error:")
                and "pool split" in line]
    assert len(problems) == 1, text
    assert "6 of the 6 images of the pool split" in problems[0]
    assert "found masks/" in problems[0] and ".jpg" in problems[0]
    assert "A JPEG mask is lossy" in problems[0] and "(and the same for 5 more)" in problems[0]


def test_compression_noise_in_a_mask_is_named_with_the_fix(tmp_path):
    root = binary_folder(tmp_path, [(64, 48), (64, 48)])
    png = root / "labels" / "img0.png"
    mask = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
    ok, jpeg = cv2.imencode(".jpg", mask, [cv2.IMWRITE_JPEG_QUALITY, 60])
    noisy = cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED)  # what converting a JPEG mask gives
    assert len(np.unique(noisy)) > 12
    cv2.imwrite(str(png), noisy)
    text, ok, _ = check_dataset(open_dataset("folder", root))
    assert not ok
    assert "are neither a class nor void" in text
    assert f"the mask holds {len(np.unique(noisy))} distinct raw values for 2 declared" in text
    assert "typical of lossy (JPEG) compression" in text and "threshold the masks" in text
    # a single stray value is not called compression noise
    mask[0, 0] = 7
    cv2.imwrite(str(png), mask)
    text, ok, _ = check_dataset(open_dataset("folder", root))
    assert "raw mask values [7]" in text and "lossy" not in text


def test_an_image_in_both_splits_is_refused(tmp_path):
    root = binary_folder(tmp_path, [(64, 48), (64, 48)])
    (root / "val.txt").write_text("img2\nimg0\n")
    text, ok, _ = check_dataset(open_dataset("folder", root))
    assert not ok
    assert "1 image(s) are in both the pool and the evaluation split (val), e.g. ['img0']" in text


def test_the_table_stays_aligned_with_many_sizes(tmp_path):
    sizes = [(64 + 8 * k, 48 + 4 * k) for k in range(6)]
    root = binary_folder(tmp_path, sizes)
    text, _, _ = check_dataset(open_dataset("folder", root))
    head, pool, evaluation = [line for line in text.splitlines()[3:6]]
    column = head.index("as read")
    assert pool[column - 2:column] == "  " and evaluation[column - 2:column] == "  "
    assert "3 more sizes  " in pool  # the last cell before the next column, then the gap
    assert pool[column:].startswith("64x48 (1)")


def test_a_misspelt_key_gets_did_you_mean(tmp_path):
    root = binary_folder(tmp_path, [(64, 48)], meta={"classes": ["a", "b"], "value": [0, 255]})
    with pytest.raises(DatasetError, match=r"unknown keys \['value'\] \(did you mean "
                                           r"'value' -> 'values'\?\)"):
        open_dataset("folder", root)
    import yaml

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["dataset"]["evaluation_splt"] = "val"
    with pytest.raises(ConfigError, match="did you mean 'evaluation_splt' -> 'evaluation_split'"):
        checked_config(config)


def test_a_label_free_folder_passes_for_a_person_and_says_what_cannot_be_measured(tmp_path):
    root = binary_folder(tmp_path, [(64, 48), (64, 48)], labels=False)
    text, ok, _ = check_dataset(open_dataset("folder", root))
    assert not ok and "label map missing" in text
    text, ok, summary = check_dataset(open_dataset("folder", root), labels_optional=True)
    assert ok, text
    assert "2 of 2 pool images have no label map: a person answers the queries" in text
    assert "no image of the evaluation split has a label map: no evaluation is possible" in text
    assert summary["unlabelled"] == {"pool": 2, "evaluation": 1}
    text, ok, _ = check_dataset(open_dataset("folder", root, evaluation_split=None),
                                labels_optional=True)
    assert ok and "no evaluation split (dataset.evaluation_split: null)" in text
