"""`asal show FILE`: what any artifact holds, without remembering HDF5 paths."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def _attr(value) -> str:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.dumps(json.loads(value), sort_keys=True)
        except json.JSONDecodeError:
            pass
    return str(value)


def _preview(array: np.ndarray, rows: int) -> str:
    with np.printoptions(precision=4, suppress=True, linewidth=100, threshold=60, edgeitems=3):
        head = array[:rows]
        if head.dtype.kind == "O":
            head = np.array([v.decode() if isinstance(v, bytes) else v for v in head])
        return np.array2string(head, prefix="      ")


# Values read to summarise one dataset: all of them up to this many, read block by block so
# memory stays small; beyond it (a Cityscapes superpixel map holds 6 billion), the first rows.
_SUMMARY_VALUES = 1 << 27
_BLOCK_VALUES = 1 << 22


def _summary_lines(data) -> list[str]:
    """min, max and mean of a numeric dataset, streamed."""
    row = int(np.prod(data.shape[1:])) or 1
    n_rows = min(data.shape[0], max(1, _SUMMARY_VALUES // row))
    step = max(1, _BLOCK_VALUES // row)
    lo, hi, total, count = np.inf, -np.inf, 0.0, 0
    for start in range(0, n_rows, step):
        values = np.asarray(data[start:min(start + step, n_rows)])
        if values.dtype.kind == "f":
            values = values[np.isfinite(values)]
        if values.size:
            lo, hi = min(lo, float(values.min())), max(hi, float(values.max()))
            total += float(values.astype(np.float64).sum())
            count += values.size
    if not count:
        return []
    scope = "" if n_rows == data.shape[0] else f" (over the first {n_rows} of {data.shape[0]} rows)"
    return [f"    min {lo:.6g}, max {hi:.6g}, mean {total / count:.6g}{scope}"]


def describe_h5(path: Path, rows: int) -> str:
    import h5py

    lines = [f"{path} (HDF5)"]
    with h5py.File(path, "r") as f:
        lines.append("made by:")
        for key in sorted(f.attrs):
            lines.append(f"  {key}: {_attr(f.attrs[key])}")
        lines.append("datasets:")
        for key in f:
            data = f[key]
            lines.append(f"  {key}: shape {data.shape}, {data.dtype}")
            if data.size and data.dtype.kind in "biuf":
                lines.extend(_summary_lines(data))
            if data.size:
                lines.append(f"    first rows: {_preview(data[:rows], rows)}")
    return "\n".join(lines)


def describe_csv(path: Path, rows: int) -> str:
    import pandas as pd

    table = pd.read_csv(path)
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        return (f"{path} (CSV): {len(table)} rows, {len(table.columns)} columns\n"
                f"columns: {', '.join(table.columns)}\n{table.head(rows).to_string()}")


def describe_checkpoint(path: Path) -> str:
    import torch

    blob = torch.load(path, map_location="cpu", weights_only=False)
    n = sum(v.numel() for v in blob["state_dict"].values())
    meta = json.dumps(blob.get("meta", {}), indent=2, sort_keys=True, default=str)
    return f"{path} (checkpoint): {n:,} weights in {len(blob['state_dict'])} tensors\n{meta}"


def describe(path: str, rows: int = 5) -> str:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf5"):
        return describe_h5(path, rows)
    if suffix in (".csv", ".tsv"):
        return describe_csv(path, rows)
    if suffix == ".json":
        return f"{path} (JSON)\n{json.dumps(json.loads(path.read_text()), indent=2)}"
    if suffix in (".pt", ".pth"):
        return describe_checkpoint(path)
    raise ValueError(f"{path}: asal show reads .h5, .csv, .tsv, .json and .pt files")
