"""Raw mask values to classes: one lookup table per dataset, never a loop over pixels.

A mask stores, per pixel, a raw value: a number (single-channel PNG; palette PNGs give their
palette indices) or an RGB colour. A `LabelMapping` says which raw value is which class
0..C-1 and which raw values are void (unlabelled, asal's VOID = 255 after mapping). Any other
raw value is an error naming the file, the value and the key of classes.json that fixes it.

A folder dataset's classes.json may say:
  "values": raw value of each class, in class order (default 0..C-1);
  "colors": [r, g, b] of each class, in class order (RGB-coded masks), instead of "values";
  "void":   raw value(s) (with "colors": colour(s)) that mean unlabelled; default 255 with
            "values" unless 255 is a class value, none with "colors".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..experiment.settings import did_you_mean
from .files import DatasetError  # one error class for every dataset problem

VOID = 255
UNMAPPED = -1  # what the lookup table gives a raw value that is neither a class nor void
MAX_VALUE = 65535  # 16-bit masks


class UnmappedValues(DatasetError):
    """A mask holds raw values that are neither a class nor void (the mapping is wrong, or
    the mask was damaged by lossy compression)."""


def pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 colours as one int32 code each: r * 65536 + g * 256 + b."""
    rgb = np.asarray(rgb).astype(np.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def unpack_rgb(code: int) -> list[int]:
    return [int(code) >> 16 & 255, int(code) >> 8 & 255, int(code) & 255]


@dataclass(frozen=True, eq=False)
class LabelMapping:
    """Raw mask value -> class id or VOID.

    Single-channel (`lut` set): `lut[v]` is the class of raw value v, VOID, or UNMAPPED.
    RGB (`codes` set): sorted packed colours and the class (or VOID) of each.
    `hint` ends every error message: which key to change, or the adapter's convention.
    """

    n_classes: int
    class_raw: tuple  # the raw value (int) or colour ([r, g, b]) of each class
    void_raw: tuple  # the raw values or colours read as void
    hint: str
    lut: np.ndarray | None = None
    codes: np.ndarray | None = None
    code_labels: np.ndarray | None = None

    @property
    def rgb(self) -> bool:
        return self.codes is not None

    def describe(self) -> str:
        """One line: how raw values are read, e.g. 'values [0, 255], void none'."""
        key = "colors" if self.rgb else "values"
        void = list(self.void_raw) if self.void_raw else "none"
        if not self.rgb and len(self.void_raw) > 8:
            void = f"{len(self.void_raw)} values ({self.void_raw[0]}..{self.void_raw[-1]})"
        return f"{key} {list(self.class_raw)}, void {void}"

    def apply(self, raw: np.ndarray, path) -> np.ndarray:
        """Class ids (uint8, VOID for void) of a raw mask read from `path`."""
        if self.rgb:
            return self._apply_rgb(raw, path)
        if raw.ndim == 3:
            if raw.shape[2] >= 3 and (raw[..., 0] == raw[..., 1]).all() \
                    and (raw[..., 0] == raw[..., 2]).all():
                raw = raw[..., 0]  # a grayscale mask saved as RGB
            else:
                raise DatasetError(
                    f"{path}: an RGB-coded mask (shape {raw.shape}) but {self.hint} reads "
                    "single-channel values; for colour-coded masks give \"colors\" (the "
                    "[r, g, b] of each class) in classes.json")
        if raw.size and (int(raw.min()) < 0 or int(raw.max()) >= len(self.lut)):
            big = np.unique(raw[(raw < 0) | (raw >= len(self.lut))])[:10].tolist()
            self._fail(path, big)
        label = np.take(self.lut, raw)
        bad = label == UNMAPPED
        if bad.any():
            self._fail(path, np.unique(raw[bad])[:10].tolist())
        return label.astype(np.uint8)

    def _apply_rgb(self, raw: np.ndarray, path) -> np.ndarray:
        if raw.ndim != 3 or raw.shape[2] < 3:
            raise DatasetError(f"{path}: a single-channel mask but {self.hint} reads RGB "
                               "colours (\"colors\" in classes.json)")
        packed = pack_rgb(raw[..., :3])
        at = np.minimum(np.searchsorted(self.codes, packed), len(self.codes) - 1)
        bad = self.codes[at] != packed
        if bad.any():
            self._fail(path, [unpack_rgb(c) for c in np.unique(packed[bad])[:10]])
        return self.code_labels[at].astype(np.uint8)

    def _fail(self, path, values: list) -> None:
        what = "colours" if self.rgb else "values"
        raise UnmappedValues(f"{path}: raw mask {what} {values} are neither a class nor void "
                           f"({self.describe()}); {self.hint}")


FOLDER_HINT = ("map them in classes.json: \"values\" (or \"colors\") gives each class's raw "
               "value, \"void\" the unlabelled ones")


def values_mapping(n_classes: int, values, void, hint: str = FOLDER_HINT) -> LabelMapping:
    """Single-channel masks: class k is raw value values[k]; every raw value in `void` is
    void. Checked: integers in 0..65535, no value twice."""
    values, void = [int(v) for v in values], sorted(int(v) for v in void)
    _check_raw(values + void, hint)
    size = max(256, max(values + void, default=0) + 1)
    lut = np.full(size, UNMAPPED, np.int16)
    lut[void] = VOID
    lut[values] = np.arange(n_classes)
    return LabelMapping(n_classes, tuple(values), tuple(void), hint, lut=lut)


def colors_mapping(n_classes: int, colors, void, hint: str = FOLDER_HINT) -> LabelMapping:
    """RGB masks: class k is colour colors[k]; every colour in `void` is void."""
    colors = [[int(c) for c in rgb] for rgb in colors]
    void = [[int(c) for c in rgb] for rgb in void]
    all_codes = pack_rgb(np.array(colors + void, np.int64).reshape(-1, 3)).tolist()
    _check_raw([tuple(c) for c in colors + void], hint)
    labels = np.array(list(range(n_classes)) + [VOID] * len(void), np.int16)
    order = np.argsort(all_codes)
    return LabelMapping(n_classes, tuple(colors), tuple(void), hint,
                        codes=np.array(all_codes, np.int32)[order], code_labels=labels[order])


def _check_raw(raw: list, hint: str) -> None:
    seen = set()
    for v in raw:
        if v in seen:
            raise DatasetError(f"raw value {list(v) if isinstance(v, tuple) else v} is given "
                               f"twice (two classes, or a class and void); {hint}")
        seen.add(v)


MAPPING_KEYS = ("values", "colors", "void")
KNOWN_KEYS = ("classes", "palette", *MAPPING_KEYS, "generator", "description")


def _is_int(v, lo: int, hi: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _is_rgb(v) -> bool:
    return isinstance(v, list) and len(v) == 3 and all(_is_int(c, 0, 255) for c in v)


def mapping_from_meta(meta: dict, path: Path) -> LabelMapping:
    """The mapping a folder dataset's classes.json declares; every mistake names the key."""
    unknown = sorted(set(meta) - set(KNOWN_KEYS))
    if unknown:
        raise DatasetError(f"{path}: unknown keys {unknown}{did_you_mean(unknown, KNOWN_KEYS)}"
                           f"; classes.json knows {list(KNOWN_KEYS)}")
    classes = meta.get("classes")
    if not isinstance(classes, list) or not classes or \
            not all(isinstance(c, str) for c in classes):
        raise DatasetError(f"{path}: \"classes\" must be a non-empty list of class names")
    n = len(classes)
    if n > 254:
        raise DatasetError(f"{path}: {n} classes; asal supports at most 254")
    if "values" in meta and "colors" in meta:
        raise DatasetError(f"{path}: give \"values\" (single-channel masks) or \"colors\" "
                           "(RGB masks), not both")
    void = meta.get("void", "default")
    if "colors" in meta:
        colors = meta["colors"]
        if not isinstance(colors, list) or len(colors) != n or not all(map(_is_rgb, colors)):
            raise DatasetError(f"{path}: \"colors\" must list one [r, g, b] (0..255) per class, "
                               f"in class order ({n} classes)")
        if void in ("default", None):
            void = []
        elif _is_rgb(void):
            void = [void]
        elif not isinstance(void, list) or not all(map(_is_rgb, void)):
            raise DatasetError(f"{path}: with \"colors\", \"void\" is one [r, g, b] or a list "
                               f"of them, got {void!r}")
        return _named(path, lambda: colors_mapping(n, colors, void))
    values = meta.get("values", list(range(n)))
    if not isinstance(values, list) or len(values) != n or \
            not all(_is_int(v, 0, MAX_VALUE) for v in values):
        raise DatasetError(f"{path}: \"values\" must list one raw value (0..{MAX_VALUE}) per "
                           f"class, in class order ({n} classes), e.g. [0, 255] for 0/255 "
                           "binary masks")
    if void == "default":
        void = [] if VOID in values else [VOID]
    elif void is None:
        void = []
    elif _is_int(void, 0, MAX_VALUE):
        void = [void]
    elif not isinstance(void, list) or not all(_is_int(v, 0, MAX_VALUE) for v in void):
        raise DatasetError(f"{path}: \"void\" is a raw value (0..{MAX_VALUE}) or a list of them, "
                           f"got {void!r}")
    if "values" not in meta and set(void) & set(values):
        clash = sorted(set(void) & set(values))
        raise DatasetError(f"{path}: void {clash} is also a class's default raw value "
                           f"(0..{n - 1}); give \"values\", the raw value of each class, e.g. "
                           f"{list(range(1, n + 1))} with void 0")
    return _named(path, lambda: values_mapping(n, values, void))


def _named(path: Path, make) -> LabelMapping:
    try:
        return make()
    except DatasetError as err:
        raise DatasetError(f"{path}: {err}") from err


def read_raw_mask(path: Path, rgb: bool = False) -> np.ndarray:
    """Raw mask values: (H, W) for single-channel PNGs (palette PNGs give their indices,
    1-bit PNGs 0 and 255, 16-bit PNGs their values), (H, W, 3) for colour ones; with `rgb`
    every mask as colours (a palette PNG through its palette)."""
    try:
        with Image.open(path) as img:
            img.load()
            if rgb:
                return np.asarray(img.convert("RGB"))
            if img.mode in ("P", "L", "I", "I;16", "I;16B", "I;16L"):
                return np.asarray(img)
            if img.mode in ("1", "LA", "PA"):
                return np.asarray(img.convert("L") if img.mode != "PA" else img.getchannel(0))
            return np.asarray(img.convert("RGB"))
    except (OSError, ValueError) as err:
        raise DatasetError(f"{path}: cannot be decoded ({err}); the file is corrupt or not "
                           "an image") from err
