"""The per-superpixel tables a round passes on (the labelled set, the merged regions, the
statistics), read in row blocks, and the checks that two artifacts were made for each other.

A table that does not exist yet stands for its value before any work: no labels in round 0,
every base superpixel its own region without merging.
"""

from __future__ import annotations

import contextlib
import json

import numpy as np

from . import artifacts
from .artifacts import ArtifactError, Superpixels

# Columns of queries.csv, written by warmup and acquire.
QUERY_COLUMNS = ["query", "round", "region", "image", "image_name", "n_base", "size", "score",
                 "uncertainty", "predicted"]


def check_pool(ds, sp: Superpixels, sp_path: str) -> None:
    """Superpixels made for this dataset's pool and classes."""
    if list(sp.names) != list(ds.pool):
        raise ArtifactError(f"{sp_path}: made for another pool than the dataset's "
                            f"({len(sp.names)} vs {len(ds.pool)} images); rerun superpixelize")
    check_classes(ds, sp, sp_path)


def check_classes(ds, sp: Superpixels, sp_path: str) -> None:
    """Superpixels made under this dataset's classes."""
    classes = sp.attrs.get("classes")
    if classes is None or json.loads(classes) != list(ds.classes):
        raise ArtifactError(f"{sp_path}: made under classes {classes}, the dataset has "
                            f"{list(ds.classes)}; rerun superpixelize")


def check_stats(path: str, attrs: dict, n_rows: int, sp: Superpixels, sp_path: str) -> None:
    artifacts.check_same("superpixel spec", [sp_path, path],
                         [sp.attrs["superpixel_spec"], attrs["superpixel_spec"]])
    if n_rows != sp.n_superpixels:
        raise ArtifactError(f"{path}: {n_rows} rows but {sp_path} has "
                            f"{sp.n_superpixels} superpixels; rerun predict")


def unlabelled(m: int) -> dict:
    """The labelled set before any query: -1 everywhere, in the stored dtypes."""
    return {key: np.full(m, -1, dtype)
            for key, (dtype, _) in artifacts.TABLE_COLUMNS["query"].items()}


class _Rows:
    """Row blocks of an optional per-superpixel table: the stored rows, or the value a
    missing table stands for (no labels yet, no merging)."""

    def __init__(self, datasets: dict | None, default):
        self.datasets, self.default = datasets, default

    def __call__(self, key: str, lo: int, hi: int) -> np.ndarray:
        if self.datasets is None:
            return self.default(key, lo, hi)
        return self.datasets[key][lo:hi]

    def has(self, key: str) -> bool:
        """Whether the table holds `key` (the labelled set's label_set, only written where an
        answer may name several classes)."""
        return self.datasets is not None and key in self.datasets


@contextlib.contextmanager
def open_labelled(path: str | None, m: int):
    if path is None:
        yield _Rows(None, lambda key, lo, hi: unlabelled(hi - lo)[key]), None
        return
    keys = ("label", "query", "round") + (("label_set",) if artifacts.has_datasets(
        path, ("label_set",)) else ())
    with artifacts.open_table(path, "query", keys) as (ds, attrs):
        if ds["label"].shape[0] != m:
            raise ArtifactError(f"{path}: {ds['label'].shape[0]} rows, expected {m}; "
                                "rerun query")
        yield _Rows(ds, None), attrs


@contextlib.contextmanager
def open_regions(path: str | None, m: int):
    if path is None:
        yield _Rows(None, lambda key, lo, hi: np.arange(lo, hi, dtype=np.int64))
        return
    with artifacts.open_table(path, "merge", ("region",)) as (ds, _):
        if ds["region"].shape[0] != m:
            raise ArtifactError(f"{path}: {ds['region'].shape[0]} rows, expected {m}; "
                                "rerun merge")
        yield _Rows(ds, None)


def block_stats(stats: dict, lo: int, hi: int, keys: tuple[str, ...]) -> dict:
    """Rows lo:hi of the named statistics, floats as float64 and counts as int64."""
    out = {}
    for k in keys:
        value = stats[k][lo:hi]
        out[k] = value.astype(np.float64) if value.dtype.kind == "f" else value.astype(np.int64)
    return out
