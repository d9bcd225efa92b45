"""Where each dataset adapter keeps its files: the split lists, classes.json, and each image's
and label map's path; and a fingerprint of the files that define what the data means.

Only pathlib and json here: the Snakefile fingerprints the dataset while it parses (every
SLURM job parses it again), so that editing classes.json, a split list or a label file reruns
the dataset check, and with it exactly the jobs that read labels.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
LABEL_FOLDERS = ("labels", "masks")


class DatasetError(RuntimeError):
    """A dataset file is missing, unreadable or inconsistent; the message names it."""


@dataclass
class DatasetFiles:
    """The files of one dataset: split names and each name's image and label path."""

    name: str
    root: Path
    pool: list[str]
    evaluation: list[str]
    image_path: Callable[[str], Path]
    label_path: Callable[[str], Path]
    meta_files: tuple[Path, ...]  # split lists and classes.json: what says what the data is


def read_list(path: Path) -> list[str]:
    if not path.exists():
        raise DatasetError(f"{path}: split list missing")
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not names:
        raise DatasetError(f"{path}: split list is empty; the pool needs at least one image")
    return names


def first_existing(candidates: list[Path]) -> Path:
    for path in candidates:
        if path.exists():
            return path
    return candidates[0]


def folder_files(root: Path, evaluation_split: str | None) -> DatasetFiles:
    """A user's own data: images/NAME.(png|jpg), labels/NAME.png (or masks/), pool.txt,
    <evaluation_split>.txt, classes.json."""
    lists = [root / "pool.txt"] + ([] if evaluation_split is None
                                   else [root / f"{evaluation_split}.txt"])
    return DatasetFiles(
        name="folder", root=root,
        pool=[Path(n).stem for n in read_list(root / "pool.txt")],
        # evaluation_split None: no evaluation split (a human oracle on unlabelled images).
        evaluation=[] if evaluation_split is None else
        [Path(n).stem for n in read_list(root / f"{evaluation_split}.txt")],
        image_path=lambda n: first_existing([root / "images" / f"{n}{ext}"
                                             for ext in IMAGE_EXTENSIONS]),
        label_path=lambda n: first_existing([root / sub / f"{n}.png" for sub in LABEL_FOLDERS]),
        meta_files=(root / "classes.json", *lists))


def camvid_files(root: Path, evaluation_split: str) -> DatasetFiles:
    """SegNet's CamVid: train/, trainannot/, <split>/, <split>annot/, train.txt, <split>.txt."""
    pool = [Path(n).stem for n in read_list(root / "train.txt")]
    pool_set = set(pool)

    def split_dir(name: str) -> str:
        return "train" if name in pool_set else evaluation_split

    return DatasetFiles(
        name="camvid", root=root, pool=pool,
        evaluation=[Path(n).stem for n in read_list(root / f"{evaluation_split}.txt")],
        image_path=lambda n: root / split_dir(n) / f"{n}.png",
        label_path=lambda n: root / f"{split_dir(n)}annot" / f"{n}.png",
        meta_files=(root / "train.txt", root / f"{evaluation_split}.txt"))


def cityscapes_files(root: Path, evaluation_split: str) -> DatasetFiles:
    """leftImg8bit/<split>/<city>/*_leftImg8bit.png and gtFine/<split>/<city>/*_labelIds.png;
    image names are "<split>/<city>/<stem>"."""

    def names(split: str) -> list[str]:
        folder = root / "leftImg8bit" / split
        files = sorted(folder.glob("*/*_leftImg8bit.png"))
        if not files:
            raise DatasetError(f"{folder}: no */*_leftImg8bit.png images; is dataset.root the "
                               "folder holding leftImg8bit/ and gtFine/?")
        return [f"{split}/{f.parent.name}/{f.name[:-len('_leftImg8bit.png')]}" for f in files]

    return DatasetFiles(
        name="cityscapes", root=root, pool=names("train"), evaluation=names(evaluation_split),
        image_path=lambda n: root / "leftImg8bit" / f"{n}_leftImg8bit.png",
        label_path=lambda n: root / "gtFine" / f"{n}_gtFine_labelIds.png", meta_files=())


def voc_files(root: Path, evaluation_split: str) -> DatasetFiles:
    """PASCAL VOC 2012: JPEGImages/, SegmentationClass/, ImageSets/Segmentation/*.txt."""
    lists = root / "ImageSets" / "Segmentation"
    return DatasetFiles(
        name="voc", root=root, pool=read_list(lists / "train.txt"),
        evaluation=read_list(lists / f"{evaluation_split}.txt"),
        image_path=lambda n: root / "JPEGImages" / f"{n}.jpg",
        label_path=lambda n: root / "SegmentationClass" / f"{n}.png",
        meta_files=(lists / "train.txt", lists / f"{evaluation_split}.txt"))


FILES = {"synthetic": folder_files, "folder": folder_files, "camvid": camvid_files,
         "cityscapes": cityscapes_files, "voc": voc_files}


def dataset_files(settings: dict) -> DatasetFiles:
    """The files of the dataset that a config's `dataset` settings name."""
    name, root = settings["name"], Path(settings["root"])
    if name not in FILES:
        raise DatasetError(f"unknown dataset {name!r}; use one of {sorted(FILES)}")
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset root is not a folder")
    if settings.get("evaluation_split") is None and FILES[name] is not folder_files:
        raise DatasetError(f"dataset.evaluation_split: null (no evaluation split) is for your "
                           f"own images (name: folder), not {name!r}; name a split")
    return FILES[name](root, settings.get("evaluation_split"))


def _stat(path: Path) -> list:
    """[path, bytes, modification time in ns], or [path, None, None] for a missing file."""
    try:
        st = os.stat(path)
    except OSError:
        return [str(path), None, None]
    return [str(path), st.st_size, st.st_mtime_ns]


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def fingerprint(settings: dict) -> dict:
    """Two short digests of what defines the data: `images` (the settings that size the
    images, the split lists' names, each image file's name and size) and `labels` (those,
    plus classes.json and the split lists' contents and each label file's name, size and
    modification time). A change of either reruns the dataset check; only a change of what
    it read reruns the jobs after it."""
    files = dataset_files(settings)
    names = sorted(set(files.pool) | set(files.evaluation))
    sizing = {k: settings.get(k) for k in ("name", "root", "resize", "size",
                                           "evaluation_split")}
    images = {"settings": sizing, "pool": files.pool, "evaluation": files.evaluation,
              "images": [_stat(files.image_path(n))[:2] for n in names]}
    meta = [[str(p), p.read_text() if p.exists() else None] for p in files.meta_files]
    labels = {"images": images, "meta": meta,
              "labels": [_stat(files.label_path(n)) for n in names]}
    return {"images": _digest(images), "labels": _digest(labels)}


def parse_time_fingerprint(settings: dict) -> tuple[str, str]:
    """(the whole fingerprint as JSON, the images' digest) for the Snakefile. Empty for the
    synthetic dataset, which the workflow makes (its check follows the synthesize rule); a
    dataset that cannot be read yet gives the reason instead, so a dry run still plans and the
    check job says what is wrong."""
    if settings["name"] == "synthetic":
        return "", ""
    try:
        digests = fingerprint(settings)
    except DatasetError as err:
        digests = {"images": f"unreadable: {err}", "labels": f"unreadable: {err}"}
    return json.dumps(digests, sort_keys=True), digests["images"]
