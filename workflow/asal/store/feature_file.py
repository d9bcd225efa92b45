"""The features file of rule features: a frozen encoder's taps of every image, one row per
image, read back by name. Float16 on disk, float32 in memory."""

from __future__ import annotations

import contextlib
import json
from typing import Iterator

import h5py
import numpy as np

from .artifacts import ArtifactError, TableRows, _check_stage, atomic_path, open_h5

FEATURE_DTYPE = np.float16  # half the bytes; the head computes in float32


@contextlib.contextmanager
def features_writer(path, attrs: dict, names: list[str],
                    shapes: dict[str, tuple]) -> Iterator[TableRows]:
    """A frozen encoder's taps, one row per image (the pool, then the evaluation split's
    images not in the pool), filled by `put`; `names` says which image each row is."""
    _check_stage(path, "features", attrs)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            rows = TableRows(f, dict(attrs))
            f.create_dataset("names", data=np.array(names, dtype="S"))
            for tap, shape in shapes.items():
                rows.create(tap, (len(names),) + tuple(shape), FEATURE_DTYPE)
            yield rows
            f.attrs.update(rows.attrs)


class Features:
    """Rows of a features file by image name."""

    def __init__(self, f: h5py.File, path):
        self.f, self.path = f, path
        self.names = [n.decode() for n in f["names"][()]]
        self.index = {n: i for i, n in enumerate(self.names)}
        self.taps = json.loads(f.attrs["taps"])
        self.encoder = f.attrs["encoder"]
        self.image_shape = tuple(json.loads(f.attrs["image_shape"]))

    def rows(self, names, taps=None) -> dict[str, np.ndarray]:
        """The taps of `names` (all, or those named in `taps`), in that order, as float32."""
        missing = [n for n in names if n not in self.index]
        if missing:
            raise ArtifactError(f"{self.path}: no features of images {missing[:3]}; it was made "
                                "for another dataset, rerun the features stage")
        idx = np.array([self.index[n] for n in names], np.int64)
        order = np.argsort(idx, kind="stable")
        uniq, inverse = np.unique(idx[order], return_inverse=True)
        out = {}
        for tap in (self.taps if taps is None else [t for t in self.taps if t in taps]):
            block = self.f[tap][uniq] if len(uniq) else np.zeros((0,) + self.f[tap].shape[1:])
            data = np.empty((len(idx),) + block.shape[1:], np.float32)
            data[order] = block[inverse]
            out[tap] = data
        return out


@contextlib.contextmanager
def open_features(path) -> Iterator[Features]:
    with open_h5(path, "features") as f:
        yield Features(f, path)
