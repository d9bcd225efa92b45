"""Reading and writing every artifact: the edge where arrays meet files.

Each writer writes to a temporary name beside the target and renames it, so a killed job never
leaves a file that looks finished. Each HDF5 artifact carries what made it (stage, its
parameters, the seed, the asal version) as attributes; readers check that the inputs of a stage
agree with each other (same superpixels, same classes) before any work is done.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import glob
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import h5py
import numpy as np
import pandas as pd

from .. import __version__


class ArtifactError(RuntimeError):
    """An input file is missing, unreadable or was made under incompatible settings."""


# ---------------------------------------------------------------- atomic writing


_UMASK = os.umask(0o022)
os.umask(_UMASK)

# Fault injection for the resume tests: "NAME:SECONDS" pauses just before the rename that
# publishes a file called NAME, so a test can kill the job while the write is in flight.
PAUSE_ENV = "ASAL_PAUSE_BEFORE_PUBLISH"


def _pause_before_publish(path: Path) -> None:
    spec = os.environ.get(PAUSE_ENV, "")
    name, _, seconds = spec.partition(":")
    if name and name == path.name:
        time.sleep(float(seconds or 60))


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it onto `path` only on success.

    Temporary files left by a killed writer of the same target are removed first: one job
    owns each output, so they can only be debris.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        # mkstemp makes the file owner-only; published artifacts get the usual permissions.
        os.chmod(tmp, 0o666 & ~_UMASK)
        _pause_before_publish(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_png(path, pixels: np.ndarray) -> None:
    """A PNG written atomically: (H, W) uint8 as one channel (a class-index map), (H, W, 3)
    as RGB."""
    import cv2

    pixels = np.ascontiguousarray(pixels)
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    with atomic_path(path) as tmp:
        ok, buf = cv2.imencode(".png", pixels)
        if not ok:
            raise RuntimeError(f"{path}: PNG encoding failed")
        tmp.write_bytes(buf.tobytes())


def provenance(stage: str, spec: dict | None = None, seed: int | None = None,
               **extra: Any) -> dict:
    """Attributes recording what made an artifact."""
    attrs = {
        "asal_version": __version__,
        "stage": stage,
        "spec": json.dumps(spec or {}, sort_keys=True),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if seed is not None:
        attrs["seed"] = int(seed)
    for key, value in extra.items():
        attrs[key] = value if isinstance(value, (int, float, str, np.ndarray)) else json.dumps(value)
    return attrs


# Large datasets: chunked, shuffled, light gzip (level 1: cheap to write and read).
_GZIP = {"compression": "gzip", "compression_opts": 1, "shuffle": True}
_LARGE_VALUES = 65536


def write_h5(path, datasets: dict[str, np.ndarray], attrs: dict) -> None:
    """Write named arrays (chunked, compressed when large) and attributes atomically."""
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for name, data in datasets.items():
                data = np.asarray(data)
                if data.dtype.kind == "U":
                    f.create_dataset(name, data=data.astype(object), dtype=h5py.string_dtype())
                elif data.size > _LARGE_VALUES:
                    f.create_dataset(name, data=data, chunks=True, **_GZIP)
                else:
                    f.create_dataset(name, data=data)
            f.attrs.update(attrs)


def write_csv(path, table: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def write_json(path, obj: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_csv(path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: missing; run the stage that makes it first")
    return pd.read_csv(path)


def read_json(path) -> dict:
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: missing; run the stage that makes it first")
    return json.loads(path.read_text())


def open_h5(path, expect_stage: str | None = None) -> h5py.File:
    """Open an artifact for reading with an error that names the file and the fix."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: missing; run the stage that makes it first")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise ArtifactError(f"{path}: not a readable HDF5 file ({err}); delete it and rerun "
                            "the stage that makes it") from err
    stage = f.attrs.get("stage")
    if expect_stage is not None and stage != expect_stage:
        f.close()
        raise ArtifactError(f"{path}: made by stage {stage!r}, expected {expect_stage!r}; "
                            "check the path given for this input")
    return f


def read_attrs(path) -> dict:
    with open_h5(path) as f:
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}


def check_same(key: str, paths: list, values: list) -> None:
    """Refuse inputs made under different settings (different superpixels, classes...)."""
    if len({str(v) for v in values}) > 1:
        listing = "; ".join(f"{p}: {v}" for p, v in zip(paths, values))
        raise ArtifactError(f"inputs disagree on {key}: {listing}. Rerun the stale stage "
                            "(delete its output or use --forcerun).")


# ---------------------------------------------------------------- base superpixels


@dataclass
class Superpixels:
    """Base superpixels of a pool: flat per-image maps and a global id space.

    Global id of local superpixel j of image i is sp_offset[i] + j; pixel p of image i is
    pixel_offset[i] + p in the concatenated raster order.
    """

    names: np.ndarray  # (N,) image names
    shapes: np.ndarray  # (N, 2) height, width
    pixel_offset: np.ndarray  # (N+1,)
    sp_offset: np.ndarray  # (N+1,)
    maps: np.ndarray  # (P,) local ids, int32
    area: np.ndarray  # (M,) pixels per base superpixel
    edges: np.ndarray  # (E, 2) global ids, a < b, sorted
    attrs: dict
    edge_offset: np.ndarray  # (N+1,) edges of image i are rows edge_offset[i]:edge_offset[i+1]

    @property
    def n_images(self) -> int:
        return len(self.names)

    @property
    def n_superpixels(self) -> int:
        return int(self.sp_offset[-1])

    def local_map(self, i: int) -> np.ndarray:
        h, w = self.shapes[i]
        return self.maps[self.pixel_offset[i]:self.pixel_offset[i + 1]].reshape(h, w)

    def global_map(self, i: int) -> np.ndarray:
        return self.local_map(i).astype(np.int64) + self.sp_offset[i]

    def image_of(self) -> np.ndarray:
        """Image index of every base superpixel."""
        return np.repeat(np.arange(self.n_images), np.diff(self.sp_offset))

    def image_of_ids(self, ids: np.ndarray) -> np.ndarray:
        """Image index of some base superpixels, without a pool-sized array."""
        return np.searchsorted(self.sp_offset, np.asarray(ids), side="right") - 1

    def edges_of(self, lo: int, hi: int) -> np.ndarray:
        """Edges (global ids) between superpixels of images lo..hi-1; edges never cross images."""
        return np.asarray(self.edges[self.edge_offset[lo]:self.edge_offset[hi]])


SUPERPIXEL_KEYS = ("names", "shapes", "pixel_offset", "sp_offset", "maps", "area", "edges",
                   "edge_offset")
# Pool-sized: left on disk by open_superpixels and read by slices.
_LARGE_SUPERPIXEL_KEYS = ("maps", "area", "edges")


def _superpixels_from(f: h5py.File, lazy: bool) -> Superpixels:
    missing = [k for k in SUPERPIXEL_KEYS if k not in f]
    if missing:
        raise ArtifactError(f"{f.filename}: lacks datasets {missing}; rerun superpixelize")
    data = {k: (f[k] if lazy and k in _LARGE_SUPERPIXEL_KEYS else f[k][()])
            for k in SUPERPIXEL_KEYS}
    data["names"] = np.array([n.decode() if isinstance(n, bytes) else n for n in data["names"]])
    return Superpixels(attrs=dict(f.attrs), **data)


class SuperpixelRows:
    """A superpixel file being written image by image (see `superpixel_writer`)."""

    def __init__(self, rows: "TableRows"):
        self.rows = rows
        self.names: list[str] = []
        self.shapes: list[tuple[int, int]] = []
        self.n_pixels, self.n_superpixels, self.n_edges = [0], [0], [0]

    def add(self, name: str, local_map: np.ndarray | None, n: int, area: np.ndarray,
            edges: np.ndarray, shape: tuple[int, int] | None = None) -> None:
        """One image: its (H, W) local map with ids 0..n-1, areas and local edges (a < b).
        `local_map=None` (with `shape`) leaves the map unwritten, for synthetic pools whose
        stages never read pixels."""
        shape = tuple(local_map.shape) if local_map is not None else tuple(shape)
        base = self.n_superpixels[-1]
        if local_map is not None:
            self.rows.append("maps", local_map.ravel().astype(np.int32))
        else:
            self.rows.grow("maps", shape[0] * shape[1], np.int32)
        self.rows.append("area", np.asarray(area, np.int64))
        self.rows.append("edges", np.asarray(edges, np.int64).reshape(-1, 2) + base)
        self.names.append(name)
        self.shapes.append(shape)
        self.n_pixels.append(self.n_pixels[-1] + shape[0] * shape[1])
        self.n_superpixels.append(base + int(n))
        self.n_edges.append(self.n_edges[-1] + len(edges))


@contextlib.contextmanager
def superpixel_writer(path, attrs: dict) -> Iterator[SuperpixelRows]:
    """Write a superpixel file image by image, so a stage never holds the pool's maps.
    The only definition of the file's layout (read by `read_superpixels`)."""
    with table_writer(path, "superpixelize", attrs) as rows:
        sp = SuperpixelRows(rows)
        yield sp
        for name in ("maps", "area"):
            rows.grow(name, 0, np.int64 if name == "area" else np.int32)
        rows.grow("edges", 0, np.int64, (2,))
        f = rows.f
        f.create_dataset("names", data=np.array(sp.names, dtype=object),
                         dtype=h5py.string_dtype())
        f.create_dataset("shapes", data=np.array(sp.shapes, np.int64).reshape(-1, 2))
        f.create_dataset("pixel_offset", data=np.array(sp.n_pixels, np.int64))
        f.create_dataset("sp_offset", data=np.array(sp.n_superpixels, np.int64))
        f.create_dataset("edge_offset", data=np.array(sp.n_edges, np.int64))
        # What SEEDS gave, beside what was asked (target size): derived from the file itself.
        n_sp, n_px = sp.n_superpixels[-1], sp.n_pixels[-1]
        rows.attrs.update(achieved_per_image=float(n_sp / max(len(sp.names), 1)),
                          achieved_mean_size=float(n_px / max(n_sp, 1)))


def read_superpixels(path) -> Superpixels:
    """The whole file in memory: for small pools, tests and pictures."""
    with open_h5(path, "superpixelize") as f:
        return _superpixels_from(f, lazy=False)


@contextlib.contextmanager
def open_superpixels(path) -> Iterator[Superpixels]:
    """Maps, areas and edges stay on disk (read by slices: `local_map`, `edges_of`), so a
    stage's memory does not grow with the pool."""
    with open_h5(path, "superpixelize") as f:
        yield _superpixels_from(f, lazy=True)


# ---------------------------------------------------------------- tables keyed by base superpixel


# Per-superpixel tables written block by block: per stage, each dataset's dtype and row width
# ("C": the class count, "C+1": classes and void, 1: a plain column). Stored narrower than
# computed where it is safe: at Cityscapes size (24 M rows x 19 classes) float32 probability
# sums halve a 3.7 GB file and keep 6-7 significant digits of a sum of a few hundred.
TABLE_COLUMNS = {
    "predict": {"count": (np.int64, 1), "prob_sum": (np.float32, "C"),
                "u_sum": (np.float64, 1), "entropy_sum": (np.float64, 1),
                "pred_hist": (np.int32, "C")},
    "oracle_table": {"gt_hist": (np.int32, "C+1")},
    "merge": {"region": (np.int64, 1)},
    "query": {"label": (np.int16, 1), "query": (np.int32, 1), "round": (np.int16, 1)},
}


def _row_shape(width, n_classes: int | None) -> tuple:
    if width == 1:
        return ()
    if n_classes is None:
        raise ValueError("this table has per-class columns: give n_classes")
    return (n_classes + (1 if width == "C+1" else 0),)


def _check_stage(path, stage: str, attrs: dict) -> None:
    """A table's attributes must name the stage that its readers will expect."""
    if attrs.get("stage") != stage:
        raise ValueError(f"{path}: attributes say stage {attrs.get('stage')!r}, not {stage!r}")


def write_table(path, stage: str, arrays: dict[str, np.ndarray], attrs: dict) -> None:
    """A per-superpixel table written at once."""
    _check_stage(path, stage, attrs)
    write_h5(path, arrays, attrs)


class TableRows:
    """Datasets of a table being written: preallocated ones filled by row blocks (`put`), or
    growing ones appended to (`append`). `attrs` may still change until the file is closed."""

    def __init__(self, f: h5py.File, attrs: dict):
        self.f, self.attrs = f, attrs
        # Datasets stay open while the table is written: each open dataset keeps its chunk
        # cache, so a chunk filled by many small puts is compressed once, not once a put
        # (reopening by name per put cost a round of predict 4 s of its 13 on CamVid).
        self._open: dict[str, h5py.Dataset] = {}

    def _dataset(self, name: str) -> h5py.Dataset:
        if name not in self._open:
            self._open[name] = self.f[name]
        return self._open[name]

    def create(self, name: str, shape: tuple, dtype) -> None:
        shape = tuple(int(x) for x in shape)
        opts = {}
        if int(np.prod(shape)) > _LARGE_VALUES and shape[0] > 0:
            row = int(np.prod(shape[1:])) or 1
            opts = {"chunks": (max(1, min(shape[0], _LARGE_VALUES // row)),) + shape[1:],
                    **_GZIP}
        self.f.create_dataset(name, shape=shape, dtype=dtype, **opts)

    def put(self, name: str, lo: int, data: np.ndarray) -> None:
        data = np.asarray(data)
        if len(data):
            self._dataset(name)[lo:lo + len(data)] = data

    def grow(self, name: str, n_rows: int, dtype, row_shape: tuple = ()) -> None:
        """Add `n_rows` rows left at the fill value (0); creates the dataset if needed."""
        if name not in self.f:
            row = int(np.prod(row_shape)) or 1
            self.f.create_dataset(name, shape=(0,) + row_shape, dtype=dtype,
                                  maxshape=(None,) + row_shape,
                                  chunks=(max(1, _LARGE_VALUES // row),) + row_shape,
                                  **_GZIP)
        ds = self._dataset(name)
        ds.resize(ds.shape[0] + int(n_rows), axis=0)

    def append(self, name: str, data: np.ndarray) -> None:
        data = np.asarray(data)
        start = self._dataset(name).shape[0] if name in self.f else 0
        self.grow(name, len(data), data.dtype, data.shape[1:])
        if len(data):
            self._dataset(name)[start:start + len(data)] = data


@contextlib.contextmanager
def table_writer(path, stage: str, attrs: dict, n_rows: int | None = None,
                 n_classes: int | None = None) -> Iterator[TableRows]:
    """Write a large table block by block, atomically: nothing is published unless the
    block loop finishes. With `n_rows`, the stage's datasets (TABLE_COLUMNS) are created
    for `put`; values are cast to the stored dtype on writing."""
    _check_stage(path, stage, attrs)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            rows = TableRows(f, dict(attrs))
            if n_rows is not None:
                for name, (dtype, width) in TABLE_COLUMNS[stage].items():
                    rows.create(name, (n_rows,) + _row_shape(width, n_classes), dtype)
            yield rows
            f.attrs.update(rows.attrs)


@contextlib.contextmanager
def open_table(path, stage: str, keys: tuple[str, ...]) -> Iterator[tuple[dict, dict]]:
    """Datasets (read them by slices) and attributes of a per-superpixel table."""
    with open_h5(path, stage) as f:
        missing = [k for k in keys if k not in f]
        if missing:
            raise ArtifactError(f"{path}: lacks datasets {missing}; it was made by an older "
                                "asal, rerun its stage")
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        yield {k: f[k] for k in keys}, attrs


def has_datasets(path, keys: tuple[str, ...]) -> bool:
    """Whether an HDF5 artifact holds every dataset named (optional columns such as the
    statistics' void_sum or the labelled set's label_set)."""
    with open_h5(path) as f:
        return all(k in f for k in keys)


def read_table(path, stage: str, keys: tuple[str, ...] | None = None) -> tuple[dict, dict]:
    """Arrays and attributes of a per-superpixel table made by `stage`."""
    with open_h5(path, stage) as f:
        keys = keys or tuple(f.keys())
        missing = [k for k in keys if k not in f]
        if missing:
            raise ArtifactError(f"{path}: lacks datasets {missing}; it was made by an older "
                                "asal, rerun its stage")
        arrays = {k: f[k][()] for k in keys}
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    return arrays, attrs
