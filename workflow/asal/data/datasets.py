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
from PIL import Image

from ..experiment.settings import defaults
from .files import DatasetFiles, dataset_files
from .labelmaps import (
    VOID,
    DatasetError,
    LabelMapping,
    mapping_from_meta,
    read_raw_mask,
    values_mapping,
)

__all__ = ["VOID", "Dataset", "DatasetError", "open_dataset"]

CAMVID_CLASSES = ("Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence",
                  "Car", "Pedestrian", "Bicyclist")
CAMVID_PALETTE = ((128, 128, 128), (128, 0, 0), (192, 192, 128), (128, 64, 128),
                  (60, 40, 222), (128, 128, 0), (192, 128, 128), (64, 64, 128), (64, 0, 128),
                  (64, 64, 0), (0, 128, 192))


CITYSCAPES_CLASSES = ("road", "sidewalk", "building", "wall", "fence", "pole", "traffic light",
                      "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car",
                      "truck", "bus", "train", "motorcycle", "bicycle")
CITYSCAPES_PALETTE = ((128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156),
                      (190, 153, 153), (153, 153, 153), (250, 170, 30), (220, 220, 0),
                      (107, 142, 35), (152, 251, 152), (70, 130, 180), (220, 20, 60),
                      (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100), (0, 80, 100),
                      (0, 0, 230), (119, 11, 32))
# gtFine labelIds of the 19 evaluated classes, in train-id order; every other id is void.
CITYSCAPES_LABEL_IDS = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)

VOC_CLASSES = ("background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car",
               "cat", "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person",
               "pottedplant", "sheep", "sofa", "train", "tvmonitor")

def _voc_palette(n: int) -> np.ndarray:
    """The PASCAL VOC colour map (bit-interleaved class index)."""
    palette = np.zeros((n, 3), np.uint8)
    for k in range(n):
        c, r, g, b = k, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette[k] = (r, g, b)
    return palette


@dataclass
class Dataset:
    name: str
    root: Path
    classes: tuple[str, ...]
    palette: np.ndarray
    pool: list[str]
    evaluation: list[str]
    resize: float = 1.0
    size: tuple[int, int] | None = None  # (width, height) every image is read at; wins over resize
    image_path: callable = field(repr=False, default=None)
    label_path: callable = field(repr=False, default=None)
    mapping: LabelMapping | None = field(repr=False, default=None)  # raw value -> class/VOID
    evaluation_split: str | None = None  # the split list `evaluation` was read from

    def __post_init__(self):
        if self.mapping is None:  # classes 0..C-1 stored as themselves, void 255
            self.mapping = values_mapping(self.n_classes, range(self.n_classes), [VOID],
                                          f"{self.name} labels are 0..{self.n_classes - 1}, "
                                          f"void {VOID}")

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def _size(self, h: int, w: int) -> tuple[int, int]:
        """(height, width) an image of h x w pixels is read at."""
        if self.size is not None:
            return int(self.size[1]), int(self.size[0])
        return max(1, round(h * self.resize)), max(1, round(w * self.resize))

    def _resizes(self, h: int, w: int) -> bool:
        return self._size(h, w) != (h, w)

    def read_image(self, name: str) -> np.ndarray:
        path = self.image_path(name)
        if not path.exists():
            raise DatasetError(f"{path}: image missing (listed in the {self.name} split)")
        image = read_rgb(path)
        if self._resizes(*image.shape[:2]):
            h, w = self._size(*image.shape[:2])
            shrink = h * w < image.shape[0] * image.shape[1]
            image = cv2.resize(image, (w, h),
                               interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        return image

    def read_label(self, name: str) -> np.ndarray:
        path = self.label_path(name)
        if not path.exists():
            raise DatasetError(f"{path}: label map missing for image {name!r}")
        raw = read_raw_mask(path, rgb=self.mapping.rgb)
        label = self.mapping.apply(raw, path)
        image_shape = self._raw_shape(self.image_path(name))
        if image_shape is not None and image_shape != raw.shape[:2]:
            raise DatasetError(f"{path}: label is {raw.shape[1]}x{raw.shape[0]} but its image "
                               f"is {image_shape[1]}x{image_shape[0]}")
        if self._resizes(*label.shape):
            h, w = self._size(*label.shape)
            label = cv2.resize(label, (w, h), interpolation=cv2.INTER_NEAREST)
        return label

    @staticmethod
    def _raw_shape(path: Path) -> tuple[int, int] | None:
        """(height, width) from the file header alone, without decoding the pixels."""
        try:
            with Image.open(path) as img:
                return img.size[1], img.size[0]
        except (OSError, ValueError):
            return None

    def check_files(self, names: list[str], labels: bool = False) -> None:
        """Fail before any work when a listed image (or label map) is missing."""
        paths = [self.image_path(n) for n in names]
        if labels:
            paths += [self.label_path(n) for n in names]
        missing = [p for p in paths if not p.exists()]
        if missing:
            shown = ", ".join(str(p) for p in missing[:5])
            raise DatasetError(f"{len(missing)} file(s) listed in the {self.name} splits are "
                               f"missing, e.g. {shown}; fix dataset.root or the split lists")

    def identity(self) -> dict:
        """What artifacts built from this dataset must agree on."""
        identity = {"dataset": self.name, "classes": list(self.classes), "resize": self.resize}
        if self.size is not None:
            identity["size"] = list(self.size)
        return identity


def _from_files(files: DatasetFiles, **fields) -> Dataset:
    return Dataset(name=files.name, root=files.root, pool=files.pool,
                   evaluation=files.evaluation, image_path=files.image_path,
                   label_path=files.label_path, **fields)


def folder_dataset(files: DatasetFiles) -> Dataset:
    """A user's own data (data/files.py: images/, labels/ or masks/, pool.txt, the evaluation
    split's list) described by classes.json {"classes": [...], "palette": [...]}, with optional
    "values" / "colors" and "void" saying how raw mask values map to classes
    (asal.data.labelmaps; default: values 0..C-1, void 255)."""
    meta_path = files.root / "classes.json"
    if not meta_path.exists():
        raise DatasetError(f"{meta_path}: missing; a folder dataset needs classes.json with "
                           "a 'classes' list")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as err:
        raise DatasetError(f"{meta_path}: not valid JSON ({err})") from err
    if not isinstance(meta, dict):
        raise DatasetError(f"{meta_path}: must be a JSON object with a 'classes' list")
    mapping = mapping_from_meta(meta, meta_path)
    classes = tuple(meta["classes"])
    palette = meta.get("palette") or meta.get("colors") or default_palette(len(classes))
    palette = np.array(palette, dtype=np.uint8)
    if palette.shape != (len(classes), 3):
        raise DatasetError(f"{meta_path}: \"palette\" must list one [r, g, b] per class "
                           f"({len(classes)} classes)")
    return _from_files(files, classes=classes, palette=palette, mapping=mapping)


def camvid_dataset(files: DatasetFiles) -> Dataset:
    """SegNet's CamVid: train/, trainannot/, val/, valannot/, train.txt, val.txt; 11 is void."""
    return _from_files(
        files, classes=CAMVID_CLASSES, palette=np.array(CAMVID_PALETTE, dtype=np.uint8),
        mapping=values_mapping(11, range(11), [11], "CamVid (SegNet) labels are 0..10, void 11"))


def cityscapes_dataset(files: DatasetFiles) -> Dataset:
    """gtFine labelIds mapped to the 19 evaluated classes as train ids."""
    # Every defined labelId (0..33) that is not evaluated is void.
    mapping = values_mapping(
        len(CITYSCAPES_LABEL_IDS), CITYSCAPES_LABEL_IDS,
        sorted(set(range(34)) - set(CITYSCAPES_LABEL_IDS)),
        "Cityscapes gtFine labelIds are 0..33 (use the *_labelIds.png files)")
    return _from_files(files, classes=CITYSCAPES_CLASSES,
                       palette=np.array(CITYSCAPES_PALETTE, dtype=np.uint8), mapping=mapping)


def voc_dataset(files: DatasetFiles) -> Dataset:
    """PASCAL VOC 2012 SegmentationClass palette PNGs, 255 void."""
    return _from_files(files, classes=VOC_CLASSES, palette=_voc_palette(len(VOC_CLASSES)),
                       mapping=values_mapping(len(VOC_CLASSES), range(len(VOC_CLASSES)),
                                              [VOID], "VOC SegmentationClass palette indices "
                                              "are 0..20, void 255"))


def read_rgb(path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB: grey replicated, alpha dropped; a file that is
    not an 8-bit image is refused, naming it."""
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise DatasetError(f"{path}: cannot be decoded; the file is corrupt or not an image")
    if raw.ndim == 2:  # grayscale: replicate so the model always sees 3 channels
        raw = np.repeat(raw[:, :, None], 3, axis=2)
    elif raw.shape[2] == 4:  # RGBA/BGRA: alpha carries no class information
        raw = raw[:, :, :3]
    if raw.dtype != np.uint8:
        raise DatasetError(f"{path}: {raw.dtype} pixels; asal expects 8-bit images")
    return cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)


def default_palette(n: int) -> list:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(n, 3)).tolist()


ADAPTERS = {"synthetic": folder_dataset, "folder": folder_dataset, "camvid": camvid_dataset,
            "cityscapes": cityscapes_dataset, "voc": voc_dataset}


_DEFAULTS = defaults("dataset")


def open_dataset(name: str, root: str | Path, resize: float = _DEFAULTS["resize"],
                 evaluation_split: str | None = _DEFAULTS["evaluation_split"],
                 size=None) -> Dataset:
    """A dataset by adapter name; `size` ([width, height]) reads every image at one size."""
    if not 0.0 < resize <= 1.0:
        raise DatasetError(f"dataset.resize {resize}: must be in (0, 1]")
    if size is not None and (len(size) != 2 or min(int(v) for v in size) < 1):
        raise DatasetError(f"dataset.size {size}: give [width, height] in pixels")
    if size is not None and resize != 1.0:
        raise DatasetError(f"dataset.size {list(size)} and dataset.resize {resize}: set one "
                           "(size reads every image at that width and height)")
    files = dataset_files({"name": name, "root": root, "evaluation_split": evaluation_split})
    ds = ADAPTERS[name](files)
    ds.resize = resize
    ds.size = None if size is None else (int(size[0]), int(size[1]))
    ds.evaluation_split = evaluation_split
    return ds


def dataset_from(settings: dict) -> Dataset:
    """The dataset a stage works on, from the settings the workflow passes (--dataset);
    omitted keys take the schema's defaults."""
    settings = {**_DEFAULTS, **settings}
    return open_dataset(settings["name"], settings["root"], settings["resize"],
                        settings["evaluation_split"], settings.get("size"))
