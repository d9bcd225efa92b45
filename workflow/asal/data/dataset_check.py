"""What asal reads from a dataset, and the checks that refuse a run that would be nonsense.

A class that occurs in none of the pool's labels cannot be learnt; it usually means the masks
store it under a raw value the dataset maps elsewhere (0/255 masks read with 255 as void).
`oracle_table` refuses such a pool (it reads every pool label anyway), and `asal
check-dataset` says the same up front, with images, sizes and pixels per class and split.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .datasets import Dataset, DatasetError
from .labelmaps import FOLDER_HINT, VOID

SWITCH = "dataset.allow_absent_classes"
MAX_FILE_PROBLEMS = 10  # file errors listed per split; the rest are counted


def class_counts(label: np.ndarray, n_classes: int) -> np.ndarray:
    """(C+1,) pixel counts of classes 0..C-1 of a label map, void last."""
    hist = np.bincount(label.ravel(), minlength=256)
    return np.append(hist[:n_classes], hist[VOID]).astype(np.int64)


def absent_classes(counts: np.ndarray) -> list[int]:
    """Classes with no pixel in `counts` (C+1 columns, void last)."""
    return np.flatnonzero(np.asarray(counts)[:-1] == 0).tolist()


def _raw_text(value) -> str:
    return str(list(value)) if isinstance(value, (list, tuple)) else str(value)


def absent_class_message(ds: Dataset, counts: np.ndarray, n_images: int) -> str | None:
    """Why a pool whose labels lack some declared class is refused, and how to fix it; None
    when every class occurs."""
    absent = absent_classes(counts)
    if not absent:
        return None
    mapping = ds.mapping
    names = ", ".join(f"{ds.classes[c]!r} (class {c}, raw value "
                      f"{_raw_text(mapping.class_raw[c])})" for c in absent)
    verb = "occurs" if len(absent) == 1 else "occur"
    text = (f"{ds.name} dataset at {ds.root}: {names} {verb} in none of the "
            f"{n_images} pool label maps")
    void, total = int(counts[-1]), int(counts.sum())
    folder = mapping.hint == FOLDER_HINT
    if void:
        raw_void = mapping.void_raw
        shown = (_raw_text(raw_void[0]) if len(raw_void) == 1
                 else f"one of {[list(v) if isinstance(v, tuple) else v for v in raw_void][:8]}")
        text += (f", while {100 * void / max(total, 1):.1f}% of the pool's pixels are void "
                 f"(raw value {shown})")
        if folder:
            key = "colors" if mapping.rgb else "values"
            text += (f". If those pixels are that class (for example masks stored as 0/255), "
                     f"say so in classes.json: \"{key}\" gives the raw value of each class, "
                     "in class order")
            if len(absent) == 1 and len(raw_void) == 1:
                fixed = [list(v) if isinstance(v, tuple) else v for v in mapping.class_raw]
                fixed[absent[0]] = list(raw_void[0]) if mapping.rgb else raw_void[0]
                text += f", here \"{key}\": {fixed}"
            text += ", and \"void\" the raw values that mean unlabelled (default 255)"
    elif folder:
        text += ("; check the raw values in classes.json (\"values\" or \"colors\", "
                 f"now {mapping.describe()})")
    return (text + f". If the class is truly absent from the pool, set {SWITCH}: true in the "
            "config.")


def check_pool_classes(ds: Dataset, counts: np.ndarray, n_images: int,
                       allow_absent: bool = False) -> str | None:
    """Refuse a pool lacking a declared class (DatasetError), unless `allow_absent`; then the
    message comes back as a warning to log."""
    message = absent_class_message(ds, counts, n_images)
    if message and not allow_absent:
        raise DatasetError(message)
    return message


@dataclass
class SplitSummary:
    split: str
    n_images: int
    file_sizes: Counter = field(default_factory=Counter)  # (width, height) of the image files
    read_sizes: Counter = field(default_factory=Counter)  # (width, height) as read (resize)
    counts: np.ndarray | None = None  # (C+1,) pixels per class as read, void last
    problems: list[str] = field(default_factory=list)
    n_bad: int = 0


def summarize_split(ds: Dataset, split: str, names: list[str]) -> SplitSummary:
    """Image sizes (from file headers) and label pixels per class of one split; a bad file
    is recorded, not raised, so one run lists every problem."""
    out = SplitSummary(split, len(names), counts=np.zeros(ds.n_classes + 1, np.int64))
    for name in names:
        try:
            shape = ds._raw_shape(ds.image_path(name))
            if shape is None:
                raise DatasetError(f"{ds.image_path(name)}: image missing or not decodable")
            label = ds.read_label(name)
        except DatasetError as err:
            out.n_bad += 1
            if len(out.problems) < MAX_FILE_PROBLEMS:
                out.problems.append(str(err))
            continue
        out.file_sizes[(shape[1], shape[0])] += 1
        out.read_sizes[(label.shape[1], label.shape[0])] += 1
        out.counts += class_counts(label, ds.n_classes)
    if out.n_bad > len(out.problems):
        out.problems.append(f"... and {out.n_bad - len(out.problems)} more bad files in "
                            f"the {split} split")
    return out


def _sizes(sizes: Counter) -> str:
    return ", ".join(f"{w}x{h} ({n})" for (w, h), n in sizes.most_common(4)) + \
        (f", {len(sizes) - 4} more sizes" if len(sizes) > 4 else "") or "-"


def check_dataset(ds: Dataset, allow_absent: bool = False) -> tuple[str, bool]:
    """A readable report of what asal reads, and whether the dataset passes."""
    splits = [summarize_split(ds, "pool", ds.pool)]
    if ds.evaluation != ds.pool:
        splits.append(summarize_split(ds, "evaluation", ds.evaluation))
    lines = [f"dataset {ds.name} at {ds.root.resolve()} (resize {ds.resize})",
             f"{ds.n_classes} classes; masks read as {ds.mapping.describe()} "
             f"({'RGB colours' if ds.mapping.rgb else 'single-channel values'})", "",
             f"{'split':<12}{'images':>8}  image files (count)          as read"]
    for s in splits:
        lines.append(f"{s.split:<12}{s.n_images:>8}  {_sizes(s.file_sizes):<29}"
                     f"{_sizes(s.read_sizes)}")
    lines += ["", "pixels per class, as read:",
              f"{'class':<20}{'raw':>16}" + "".join(f"{s.split:>24}" for s in splits)]
    raw = [_raw_text(v) for v in ds.mapping.class_raw]
    void_raw = ds.mapping.void_raw
    raw.append(_raw_text(void_raw[0]) if len(void_raw) == 1 else
               (f"{len(void_raw)} values" if void_raw else "none"))
    for c, name in enumerate([*ds.classes, "void"]):
        row = f"{name[:19]:<20}{raw[c][:15]:>16}"
        for s in splits:
            share = 100 * s.counts[c] / max(int(s.counts.sum()), 1)
            row += f"{int(s.counts[c]):>16} ({share:4.1f}%)"
        lines.append(row)
    errors, notes = [], []
    for s in splits:
        errors += s.problems
    pool = splits[0]
    if not pool.n_bad:
        try:
            message = check_pool_classes(ds, pool.counts, pool.n_images, allow_absent)
            if message:
                notes.append(f"allowed by {SWITCH}: {message}")
        except DatasetError as err:
            errors.append(str(err))
    if len(splits) > 1 and not splits[1].n_bad:
        missing = [ds.classes[c] for c in absent_classes(splits[1].counts)]
        if missing:
            notes.append(f"classes absent from the evaluation split (their IoU is not "
                         f"measured): {missing}")
    void_share = pool.counts[-1] / max(int(pool.counts.sum()), 1)
    if void_share > 0.5:
        notes.append(f"{100 * void_share:.1f}% of the pool's pixels are void: every query "
                     "they dominate is a click spent for nothing; is \"void\" right?")
    lines.append("")
    lines += [f"error: {e}" for e in errors] + [f"note: {n}" for n in notes]
    lines.append("problems: none" if not errors else f"{len(errors)} problem(s)")
    return "\n".join(lines), not errors
