"""Dataset adapters: where a dataset keeps its images, labels, splits and classes.

Every adapter yields RGB uint8 images and uint8 label maps with classes 0..C-1 and VOID (255)
for pixels that are no class, resized by one factor (area for images, nearest for labels).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

VOID = 255

CAMVID_CLASSES = ("Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence",
                  "Car", "Pedestrian", "Bicyclist")
CAMVID_PALETTE = ((128, 128, 128), (128, 0, 0), (192, 192, 128), (128, 64, 128),
                  (60, 40, 222), (128, 128, 0), (192, 128, 128), (64, 64, 128), (64, 0, 128),
                  (64, 64, 0), (0, 128, 192))


class DatasetError(RuntimeError):
    """A dataset file is missing or malformed; the message names the file."""


@dataclass
class Dataset:
    name: str
    root: Path
    classes: tuple[str, ...]
    palette: np.ndarray
    pool: list[str]
    evaluation: list[str]
    resize: float = 1.0
    image_path: callable = field(repr=False, default=None)
    label_path: callable = field(repr=False, default=None)
    label_lut: np.ndarray | None = field(repr=False, default=None)  # raw value -> class/VOID

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def _size(self, h: int, w: int) -> tuple[int, int]:
        return max(1, round(h * self.resize)), max(1, round(w * self.resize))

    def read_image(self, name: str) -> np.ndarray:
        path = self.image_path(name)
        if not path.exists():
            raise DatasetError(f"{path}: image missing (listed in the {self.name} split)")
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if raw is None:
            raise DatasetError(f"{path}: cannot be decoded; the file is corrupt or not an image")
        if raw.ndim == 2:  # grayscale: replicate so the model always sees 3 channels
            raw = np.repeat(raw[:, :, None], 3, axis=2)
        elif raw.shape[2] == 4:  # RGBA/BGRA: alpha carries no class information
            raw = raw[:, :, :3]
        if raw.dtype != np.uint8:
            raise DatasetError(f"{path}: {raw.dtype} pixels; asal expects 8-bit images")
        image = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
        if self.resize != 1.0:
            h, w = self._size(*image.shape[:2])
            image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        return image

    def read_label(self, name: str) -> np.ndarray:
        path = self.label_path(name)
        if not path.exists():
            raise DatasetError(f"{path}: label map missing for image {name!r}")
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if raw is None:
            raise DatasetError(f"{path}: cannot be decoded; the file is corrupt or not an image")
        if raw.ndim != 2:
            raise DatasetError(f"{path}: label maps must be single-channel, got shape "
                               f"{raw.shape}")
        label = self.label_lut[raw] if self.label_lut is not None else raw
        bad = (label >= self.n_classes) & (label != VOID)
        if bad.any():
            values = np.unique(raw[bad])[:10].tolist()
            raise DatasetError(f"{path}: label values {values} are outside the class list "
                               f"(0..{self.n_classes - 1}, void {VOID}) of {self.name}")
        image_shape = self._raw_shape(self.image_path(name))
        if image_shape is not None and image_shape != raw.shape:
            raise DatasetError(f"{path}: label is {raw.shape[1]}x{raw.shape[0]} but its image "
                               f"is {image_shape[1]}x{image_shape[0]}")
        label = label.astype(np.uint8)
        if self.resize != 1.0:
            h, w = self._size(*label.shape)
            label = cv2.resize(label, (w, h), interpolation=cv2.INTER_NEAREST)
        return label

    @staticmethod
    def _raw_shape(path: Path) -> tuple[int, int] | None:
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        return None if img is None else img.shape[:2]

    def identity(self) -> dict:
        """What artifacts built from this dataset must agree on."""
        return {"dataset": self.name, "classes": list(self.classes), "resize": self.resize}


def _read_list(path: Path) -> list[str]:
    if not path.exists():
        raise DatasetError(f"{path}: split list missing")
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not names:
        raise DatasetError(f"{path}: split list is empty; the pool needs at least one image")
    return names


def folder_dataset(root: Path, resize: float, evaluation_split: str = "val") -> Dataset:
    """images/NAME.png, labels/NAME.png, pool.txt, val.txt, classes.json (void 255)."""
    meta_path = root / "classes.json"
    if not meta_path.exists():
        raise DatasetError(f"{meta_path}: missing; a folder dataset needs classes.json with "
                           "a 'classes' list")
    meta = json.loads(meta_path.read_text())
    classes = tuple(meta["classes"])
    palette = np.array(meta.get("palette") or _default_palette(len(classes)), dtype=np.uint8)
    return Dataset(
        name="folder", root=root, classes=classes, palette=palette,
        pool=[Path(n).stem for n in _read_list(root / "pool.txt")],
        evaluation=[Path(n).stem for n in _read_list(root / f"{evaluation_split}.txt")],
        resize=resize,
        image_path=lambda n: root / "images" / f"{n}.png",
        label_path=lambda n: root / "labels" / f"{n}.png")


def camvid_dataset(root: Path, resize: float, evaluation_split: str = "val") -> Dataset:
    """SegNet's CamVid: train/, trainannot/, val/, valannot/, train.txt, val.txt; 11 is void."""
    lut = np.full(256, 254, dtype=np.uint8)  # anything not 0..11 is reported as out of range
    lut[:11] = np.arange(11)
    lut[11] = VOID

    def split_dir(name: str) -> str:
        return "train" if name in pool_set else evaluation_split

    pool = [Path(n).stem for n in _read_list(root / "train.txt")]
    pool_set = set(pool)
    evaluation = [Path(n).stem for n in _read_list(root / f"{evaluation_split}.txt")]
    return Dataset(
        name="camvid", root=root, classes=CAMVID_CLASSES,
        palette=np.array(CAMVID_PALETTE, dtype=np.uint8), pool=pool, evaluation=evaluation,
        resize=resize, label_lut=lut,
        image_path=lambda n: root / split_dir(n) / f"{n}.png",
        label_path=lambda n: root / f"{split_dir(n)}annot" / f"{n}.png")


def _default_palette(n: int) -> list:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(n, 3)).tolist()


ADAPTERS = {"synthetic": folder_dataset, "folder": folder_dataset, "camvid": camvid_dataset}


def open_dataset(name: str, root: str | Path, resize: float = 1.0,
                 evaluation_split: str = "val") -> Dataset:
    if name not in ADAPTERS:
        raise DatasetError(f"unknown dataset {name!r}; use one of {sorted(ADAPTERS)}")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset root is not a folder")
    if not 0.0 < resize <= 1.0:
        raise DatasetError(f"dataset.resize {resize}: must be in (0, 1]")
    return ADAPTERS[name](root, resize, evaluation_split)
