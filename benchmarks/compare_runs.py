"""Compare the artifacts of two asal results trees, data against data.

A refactoring of the workflow must leave the data of every artifact unchanged; only provenance
(timestamps, stage names, versions, module paths, host, command lines, durations) may move.
This script shows it: it walks two `results/<experiment>/` trees, decodes every artifact
(HDF5 datasets, CSV tables, JSON, `model.pt` state dicts, PNG pixels, report HTML text) and
reports per file kind how many are identical in data, how many differ and what is missing on
either side, then for each file what differs. Provenance differences are listed but allowed.

    python benchmarks/compare_runs.py RESULTS_A RESULTS_B [--decode-all] [--max-lines N]

Exit status 0 when every file's data is identical (provenance may differ), 1 otherwise.
Folders named logs/ and benchmarks/ (timings) are skipped.
"""
from __future__ import annotations

import argparse
import difflib
import json
import math
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

KINDS = ("h5", "csv", "json", "pt", "png", "html", "other")
EXT_KIND = {".h5": "h5", ".hdf5": "h5", ".csv": "csv", ".tsv": "csv", ".json": "json",
            ".pt": "pt", ".pth": "pt", ".png": "png", ".html": "html", ".htm": "html"}
SKIP_DIRS = ("logs", "benchmarks")
CSV_TIMING = ("time", "seconds", "elapsed", "duration")
JSON_PROVENANCE = ("time", "seconds", "version", "elapsed", "duration", "created", "host")
CHUNK_ELEMENTS = 50_000_000       # HDF5 datasets larger than this are read in blocks
BLOCK_ELEMENTS = 8_000_000        # elements per block when streaming
TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}([T _]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?"
    r"|\b\d{1,2}:\d{2}:\d{2}(\.\d+)?\b"
    r"|\b(\d{1,2} +)?(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
    r" +(\d{1,2},? +)?\d{4}\b")


# ---------------------------------------------------------------- generic helpers

def short(value, width: int = 60) -> str:
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= width else text[:width - 3] + "..."


def files_under(root: Path) -> dict[str, Path]:
    """Relative path -> file, skipping the timing folders."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in filenames:
            path = Path(dirpath) / name
            found[path.relative_to(root).as_posix()] = path
    return found


def kind_of(rel: str) -> str:
    return EXT_KIND.get(Path(rel).suffix.lower(), "other")


def same_bytes(a: Path, b: Path, block: int = 1 << 20) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(block), fb.read(block)
            if x != y:
                return False
            if not x:
                return True


def array_diff(a: np.ndarray, b: np.ndarray) -> tuple[int, float | None]:
    """Count of differing elements (NaN == NaN) and max abs difference where numeric."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.names:  # compound: field by field
        total, worst = 0, None
        for name in a.dtype.names:
            n, m = array_diff(a[name], b[name])
            total += n
            worst = m if worst is None else (worst if m is None else max(worst, m))
        return total, worst
    if a.dtype.kind in "fc":
        ne = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    elif a.dtype.kind == "O":
        ne = np.asarray(np.frompyfunc(lambda x, y: not values_equal(x, y), 2, 1)(a, b),
                        dtype=bool)
    else:
        ne = np.asarray(a != b)
    ne = np.atleast_1d(ne)
    count = int(ne.sum())
    if count == 0 or a.dtype.kind not in "biufc":
        return count, None
    if a.dtype.kind == "b":
        return count, 1.0
    da = np.atleast_1d(a)[ne].astype(np.complex128 if a.dtype.kind == "c" else np.float64)
    db = np.atleast_1d(b)[ne].astype(da.dtype)
    with np.errstate(invalid="ignore"):
        return count, float(np.nanmax(np.abs(da - db))) if count else None


def values_equal(a, b) -> bool:
    """Exact equality for scalars, strings, bytes, arrays and nested containers; NaN == NaN."""
    if isinstance(a, (np.ndarray, np.generic)) or isinstance(b, (np.ndarray, np.generic)):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and array_diff(a, b)[0] == 0
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    return a == b


def describe(count: int, total: int, worst) -> str:
    text = f"{count} of {total} elements differ"
    return text + (f", max abs diff {worst:.6g}" if worst is not None else "")


# ---------------------------------------------------------------- HDF5

def h5_objects(f) -> dict:
    import h5py

    objects = {"/": f}
    f.visititems(lambda name, obj: objects.__setitem__("/" + name, obj))
    return {n: o for n, o in objects.items() if isinstance(o, (h5py.Group, h5py.Dataset))}


def blocks(shape: tuple, limit: int):
    """Tuples of slices covering `shape`, each at most `limit` elements (a single row may
    recurse into the next axis)."""
    if not shape:
        yield ()
        return
    row = int(np.prod(shape[1:], dtype=np.int64))
    if row <= limit:
        step = max(1, limit // max(row, 1))
        for start in range(0, shape[0], step):
            yield (slice(start, min(start + step, shape[0])),)
        return
    for i in range(shape[0]):
        for rest in blocks(shape[1:], limit):
            yield (slice(i, i + 1),) + rest


def dataset_diff(da, db) -> str | None:
    if da.dtype != db.dtype:
        return f"dtype {da.dtype} -> {db.dtype}"
    if da.shape != db.shape:
        return f"shape {da.shape} -> {db.shape}"
    if da.shape is None:  # empty dataset
        return None
    total = int(np.prod(da.shape, dtype=np.int64))
    if total <= CHUNK_ELEMENTS:
        count, worst = array_diff(da[()], db[()])
    else:
        count, worst = 0, None
        for sel in blocks(da.shape, BLOCK_ELEMENTS):
            n, m = array_diff(da[sel], db[sel])
            count += n
            if m is not None:
                worst = m if worst is None else max(worst, m)
    return describe(count, total, worst) if count else None


def attrs_diff(name: str, oa, ob) -> list[str]:
    lines = []
    ka, kb = set(oa.attrs.keys()), set(ob.attrs.keys())
    for key in sorted(ka - kb):
        lines.append(f"attr {name}@{key}: only in A")
    for key in sorted(kb - ka):
        lines.append(f"attr {name}@{key}: only in B")
    for key in sorted(ka & kb):
        va, vb = oa.attrs[key], ob.attrs[key]
        if not values_equal(va, vb):
            lines.append(f"attr {name}@{key}: {short(va, 40)} -> {short(vb, 40)}")
    return lines


def compare_h5(a: Path, b: Path) -> tuple[list[str], list[str]]:
    import h5py

    data, prov = [], []
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        oa, ob = h5_objects(fa), h5_objects(fb)
        for name in sorted(oa.keys() - ob.keys()):
            data.append(f"{name}: only in A")
        for name in sorted(ob.keys() - oa.keys()):
            data.append(f"{name}: only in B")
        for name in sorted(oa.keys() & ob.keys()):
            xa, xb = oa[name], ob[name]
            if isinstance(xa, h5py.Dataset) != isinstance(xb, h5py.Dataset):
                data.append(f"{name}: dataset in one file, group in the other")
                continue
            if isinstance(xa, h5py.Dataset):
                diff = dataset_diff(xa, xb)
                if diff:
                    data.append(f"dataset {name}: {diff}")
            prov.extend(attrs_diff(name, xa, xb))
    return data, prov


# ---------------------------------------------------------------- CSV

def is_timing(column) -> bool:
    return any(t in str(column).lower() for t in CSV_TIMING)


def read_table(path: Path):
    import pandas as pd

    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        return pd.read_csv(path, sep=sep)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def column_rows(ca, cb) -> list[int]:
    """Row positions where two equally long pandas columns differ (NA == NA)."""
    va, vb = ca.to_numpy(), cb.to_numpy()
    both_na = (ca.isna() & cb.isna()).to_numpy()
    ne = np.array([not (both_na[i] or values_equal(va[i], vb[i])) for i in range(len(va))]
                  if va.dtype.kind == "O" or vb.dtype.kind == "O"
                  else ~((va == vb) | both_na), dtype=bool)
    return np.flatnonzero(ne).tolist()


def compare_csv(a: Path, b: Path) -> tuple[list[str], list[str]]:
    ta, tb = read_table(a), read_table(b)
    data, prov = [], []
    cols_a, cols_b = list(ta.columns), list(tb.columns)
    for c in [c for c in cols_a if c not in cols_b]:
        (prov if is_timing(c) else data).append(f"column {c!r}: only in A")
    for c in [c for c in cols_b if c not in cols_a]:
        (prov if is_timing(c) else data).append(f"column {c!r}: only in B")
    common = [c for c in cols_a if c in cols_b]
    if [c for c in common if not is_timing(c)] != [c for c in cols_b if c in cols_a
                                                   and not is_timing(c)]:
        data.append("column order differs")
    if len(ta) != len(tb):
        data.append(f"rows {len(ta)} -> {len(tb)}")
        return data, prov
    for c in common:
        out = prov if is_timing(c) else data
        if ta[c].dtype != tb[c].dtype:
            out.append(f"column {c!r}: dtype {ta[c].dtype} -> {tb[c].dtype}")
        rows = column_rows(ta[c], tb[c])
        if rows:
            shown = ", ".join(f"row {r}: {short(ta[c].iloc[r], 25)} -> {short(tb[c].iloc[r], 25)}"
                              for r in rows[:3])
            more = f" (+{len(rows) - 3} more)" if len(rows) > 3 else ""
            out.append(f"column {c!r}: {len(rows)} of {len(ta)} rows differ; {shown}{more}")
    return data, prov


# ---------------------------------------------------------------- JSON (and checkpoint metadata)

def is_provenance_key(key) -> bool:
    return any(t in str(key).lower() for t in JSON_PROVENANCE)


def tree_diff(a, b, path: str, provenance: bool, data: list, prov: list) -> None:
    """Deep compare of nested dicts/lists/scalars (and tensors); a key that looks like
    provenance sends its whole subtree to `prov`."""
    out = prov if provenance else data
    if isinstance(a, dict) and isinstance(b, dict):
        for k in [k for k in a if k not in b]:
            (prov if provenance or is_provenance_key(k) else data).append(
                f"{path}.{k}: only in A ({short(a[k], 40)})")
        for k in [k for k in b if k not in a]:
            (prov if provenance or is_provenance_key(k) else data).append(
                f"{path}.{k}: only in B ({short(b[k], 40)})")
        for k in [k for k in a if k in b]:
            tree_diff(a[k], b[k], f"{path}.{k}", provenance or is_provenance_key(k), data, prov)
        return
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and type(a) is type(b):
        if len(a) != len(b):
            out.append(f"{path}: length {len(a)} -> {len(b)}")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            tree_diff(x, y, f"{path}[{i}]", provenance, data, prov)
        return
    if is_tensor(a) and is_tensor(b):
        diff = tensor_diff(a, b)
        if diff:
            out.append(f"{path}: {diff}")
        return
    if type(a) is not type(b):
        out.append(f"{path}: {short(a, 40)} ({type(a).__name__}) -> "
                   f"{short(b, 40)} ({type(b).__name__})")
    elif not values_equal(a, b):
        out.append(f"{path}: {short(a, 40)} -> {short(b, 40)}")


def compare_json(a: Path, b: Path) -> tuple[list[str], list[str]]:
    data, prov = [], []
    ja, jb = json.loads(a.read_text()), json.loads(b.read_text())
    tree_diff(ja, jb, "$", False, data, prov)
    return data, prov


# ---------------------------------------------------------------- checkpoints

def is_tensor(x) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "dtype") and hasattr(x, "shape")


def tensor_diff(a, b) -> str | None:
    import torch

    if a.dtype != b.dtype:
        return f"dtype {a.dtype} -> {b.dtype}"
    if tuple(a.shape) != tuple(b.shape):
        return f"shape {tuple(a.shape)} -> {tuple(b.shape)}"
    ne = a != b
    if a.is_floating_point() or a.is_complex():
        ne &= ~(torch.isnan(a) & torch.isnan(b))
    count = int(ne.sum())
    if not count:
        return None
    worst = None
    if a.dtype != torch.bool:
        da = a[ne].to(torch.complex128 if a.is_complex() else torch.float64)
        worst = float((da - b[ne].to(da.dtype)).abs().max())
    return describe(count, a.numel(), worst)


def find_state_dict(blob) -> tuple[str, dict] | None:
    """The mapping of names to tensors inside a checkpoint: the object itself, a
    `state_dict`-like key, or the first nested dict whose values are all tensors."""
    if hasattr(blob, "state_dict") and callable(blob.state_dict):  # a whole nn.Module
        return "<module>", blob.state_dict()
    if isinstance(blob, dict):
        if blob and all(is_tensor(v) for v in blob.values()):
            return "", blob
        for key in ("state_dict", "model_state_dict", "model", "net", "weights"):
            if key in blob:
                found = find_state_dict(blob[key])
                if found:
                    return key + ("." + found[0] if found[0] else ""), found[1]
        for key, value in blob.items():
            found = find_state_dict(value) if isinstance(value, dict) else None
            if found:
                return str(key) + ("." + found[0] if found[0] else ""), found[1]
    return None


def strip_key(blob, dotted: str):
    """The checkpoint without the state dict at `dotted` (the rest is metadata)."""
    if not dotted or not isinstance(blob, dict):
        return {}
    head, _, rest = dotted.partition(".")
    out = dict(blob)
    if rest:
        out[head] = strip_key(blob[head], rest)
    else:
        out.pop(head, None)
    return out


def compare_pt(a: Path, b: Path) -> tuple[list[str], list[str]]:
    import torch

    ba = torch.load(a, weights_only=False, map_location="cpu")
    bb = torch.load(b, weights_only=False, map_location="cpu")
    fa, fb = find_state_dict(ba), find_state_dict(bb)
    data, prov = [], []
    if fa is None or fb is None or fa[0] != fb[0]:
        data.append(f"state dict at {fa and fa[0]!r} -> {fb and fb[0]!r}")
        tree_diff(ba, bb, "$", False, data, prov)
        return data, prov
    sa, sb = fa[1], fb[1]
    for k in [k for k in sa if k not in sb]:
        data.append(f"tensor {k}: only in A")
    for k in [k for k in sb if k not in sa]:
        data.append(f"tensor {k}: only in B")
    if [k for k in sa if k in sb] != [k for k in sb if k in sa]:
        data.append("tensor order differs")
    for k in [k for k in sa if k in sb]:
        diff = tensor_diff(sa[k], sb[k]) if is_tensor(sa[k]) and is_tensor(sb[k]) else (
            None if values_equal(sa[k], sb[k]) else f"{short(sa[k])} -> {short(sb[k])}")
        if diff:
            data.append(f"tensor {k}: {diff}")
    tree_diff(strip_key(ba, fa[0]), strip_key(bb, fb[0]), "$", True, data, prov)
    return data, prov


# ---------------------------------------------------------------- PNG, HTML, other

def compare_png(a: Path, b: Path) -> tuple[list[str], list[str]]:
    from PIL import Image

    with Image.open(a) as ia, Image.open(b) as ib:
        prov = [] if values_equal(ia.info, ib.info) else [
            f"png text/metadata: {short(ia.info, 40)} -> {short(ib.info, 40)}"]
        if ia.mode != ib.mode:
            return [f"mode {ia.mode} -> {ib.mode}"], prov
        pa, pb = (np.asarray(i.convert("RGBA") if i.mode == "P" else i) for i in (ia, ib))
    if pa.shape != pb.shape:
        return [f"size {pa.shape} -> {pb.shape}"], prov
    ne = pa != pb
    pixels = ne.reshape(ne.shape[0], ne.shape[1], -1).any(axis=2)
    n = int(pixels.sum())
    if not n:
        return [], prov
    worst = int(np.abs(pa.astype(np.int64) - pb.astype(np.int64)).max())
    return [f"pixels: {n} of {pixels.size} differ (fraction {n / pixels.size:.3g}), "
            f"max channel diff {worst}"], prov


def compare_html(a: Path, b: Path) -> tuple[list[str], list[str]]:
    ta = a.read_text(errors="replace")
    tb = b.read_text(errors="replace")
    if ta == tb:
        return [], []
    ca, cb = TIMESTAMP.sub("<TS>", ta), TIMESTAMP.sub("<TS>", tb)
    if ca == cb:
        return [], ["timestamps differ"]
    diff = [l for l in difflib.unified_diff(ca.splitlines(), cb.splitlines(), "A", "B",
                                            n=0, lineterm="") if l[:1] in "+-"][2:]
    return [f"text: {len(diff)} changed lines; first: "
            + " | ".join(short(l, 70) for l in diff[:2])], []


def compare_other(a: Path, b: Path) -> tuple[list[str], list[str]]:
    sa, sb = a.stat().st_size, b.stat().st_size
    return ([] if same_bytes(a, b) else [f"bytes differ (size {sa} -> {sb})"]), []


COMPARE = {"h5": compare_h5, "csv": compare_csv, "json": compare_json, "pt": compare_pt,
           "png": compare_png, "html": compare_html, "other": compare_other}


def compare_file(a: Path, b: Path, kind: str, decode_all: bool) -> tuple[list[str], list[str]]:
    if not decode_all and same_bytes(a, b):
        return [], []
    try:
        return COMPARE[kind](a, b)
    except Exception as err:  # unreadable on one side: fall back to bytes
        if same_bytes(a, b):
            return [], [f"both unreadable as {kind} ({type(err).__name__}); bytes identical"]
        return [f"could not compare as {kind}: {type(err).__name__}: {err}"], []


# ---------------------------------------------------------------- report

def print_lines(title: str, lines: list[str], limit: int, indent: str = "    ") -> None:
    print(title)
    for line in lines[:limit]:
        print(f"{indent}{line}")
    if len(lines) > limit:
        print(f"{indent}... {len(lines) - limit} more")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", type=Path, help="results tree A (e.g. /tmp/base/results/default)")
    parser.add_argument("b", type=Path, help="results tree B")
    parser.add_argument("--decode-all", action="store_true",
                        help="decode every file even when its bytes are identical")
    parser.add_argument("--max-lines", type=int, default=12, help="detail lines per file")
    args = parser.parse_args(argv)
    for root in (args.a, args.b):
        if not root.is_dir():
            parser.error(f"{root}: not a directory")
    start = time.perf_counter()
    fa, fb = files_under(args.a), files_under(args.b)
    counts = {k: {"same": 0, "differ": 0, "prov": 0, "onlyA": 0, "onlyB": 0} for k in KINDS}
    differing, provenance = [], []
    only_a = sorted(fa.keys() - fb.keys())
    only_b = sorted(fb.keys() - fa.keys())
    for rel in only_a:
        counts[kind_of(rel)]["onlyA"] += 1
    for rel in only_b:
        counts[kind_of(rel)]["onlyB"] += 1
    for rel in sorted(fa.keys() & fb.keys()):
        kind = kind_of(rel)
        data, prov = compare_file(fa[rel], fb[rel], kind, args.decode_all)
        counts[kind]["differ" if data else "same"] += 1
        counts[kind]["prov"] += bool(prov) and not data
        if data:
            differing.append((rel, kind, data, prov))
        elif prov:
            provenance.append((rel, kind, prov))
    elapsed = time.perf_counter() - start

    print(f"A: {args.a}\nB: {args.b}")
    print(f"skipped folders: {', '.join(d + '/' for d in SKIP_DIRS)} (logs and timings)")
    print()
    header = (f"{'kind':<6} {'identical':>9} {'of which prov.':>14} {'differ':>7} "
              f"{'only A':>7} {'only B':>7}")
    print(header)
    print("-" * len(header))
    for kind in KINDS:
        c = counts[kind]
        if any(c.values()):
            print(f"{kind:<6} {c['same']:>9} {c['prov']:>14} {c['differ']:>7} "
                  f"{c['onlyA']:>7} {c['onlyB']:>7}")
    print("(identical: same data; of which prov.: provenance differs, e.g. timestamps)")
    if only_a or only_b:
        print()
        if only_a:
            print_lines("missing in B (only in A):", only_a, 50)
        if only_b:
            print_lines("missing in A (only in B):", only_b, 50)
    if differing:
        print("\nDATA DIFFERENCES")
        for rel, kind, data, prov in differing:
            print_lines(f"  {rel} [{kind}]", data, args.max_lines)
            if prov:
                print_lines("    provenance (allowed):", prov, args.max_lines, " " * 6)
    if provenance:
        print("\nprovenance differences only (allowed)")
        for rel, kind, prov in provenance:
            print_lines(f"  {rel} [{kind}]", prov, args.max_lines)
    n_same = sum(c["same"] for c in counts.values())
    n_diff = len(differing)
    ok = not (differing or only_a or only_b)
    print(f"\nVERDICT: {'IDENTICAL DATA' if ok else 'DATA DIFFERS'}: {n_same} identical "
          f"({len(provenance)} with provenance differences), {n_diff} differ, "
          f"{len(only_a)} only in A, {len(only_b)} only in B; {elapsed:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
