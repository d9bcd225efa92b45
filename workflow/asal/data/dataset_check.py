"""What asal reads from a dataset, and the checks that refuse a run that would be nonsense.

A class that occurs in none of the pool's labels cannot be learnt; it usually means the masks
store it under a raw value the dataset maps elsewhere (0/255 masks read with 255 as void).
`oracle_table` refuses such a pool (it reads every pool label anyway), and `asal
check-dataset` says the same up front, with images, sizes and pixels per class and split.
"""

from __future__ import annotations

import glob
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .datasets import Dataset, DatasetError
from .files import LABEL_FOLDERS
from .labelmaps import FOLDER_HINT, VOID, UnmappedValues

SWITCH = "dataset.allow_absent_classes"
MAX_FILE_PROBLEMS = 10  # lines of file problems per split; the rest are counted
SAY_ONCE = 3  # files sharing a problem from which it is said once, with their count


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
    n_unlabelled: int = 0  # images without a label map (allowed when labels are optional)


# A mask with this many distinct raw values more than its mapping declares has almost surely
# been compressed lossily or resampled with interpolation, which blends values along edges.
LOSSY_EXTRA_VALUES = 8


def label_beside(path) -> list:
    """Files named like a missing label map with another extension (a JPEG mask, say), in its
    folder or in the other folder a folder dataset may keep masks in (labels/, masks/)."""
    path = Path(path)
    folders = [path.parent]
    if path.parent.name in LABEL_FOLDERS:
        folders += [path.parent.parent / f for f in LABEL_FOLDERS if f != path.parent.name]
    return sorted(p for folder in folders if folder.is_dir()
                  for p in folder.glob(glob.escape(path.stem) + ".*") if p != path)


def _missing_label_message(path, image: str) -> str:
    found = label_beside(path)
    text = f"{path}: label map missing for image {image!r}"
    if found:
        names = ", ".join(str(p.relative_to(Path(path).parent.parent)) for p in found[:3])
        text += (f"; found {names}: asal reads label maps as {Path(path).suffix} files "
                 "only")
        if any(p.suffix.lower() in (".jpg", ".jpeg") for p in found):
            text += (". A JPEG mask is lossy: compression changes the raw values along every "
                     "edge, so save the masks as PNG from their source (converting the JPEG "
                     "keeps the damage; then threshold them to their class values)")
    return text


def _lossy_hint(ds: Dataset, path) -> str:
    """Why a mask has raw values outside the mapping, when there are many of them."""
    from .labelmaps import read_raw_mask

    raw = read_raw_mask(path, rgb=ds.mapping.rgb)
    flat = raw.reshape(-1, raw.shape[-1]) if raw.ndim == 3 else raw.ravel()
    distinct = len(np.unique(flat, axis=0)) if raw.ndim == 3 else len(np.unique(flat))
    declared = len(ds.mapping.class_raw) + len(ds.mapping.void_raw)
    if distinct <= declared + LOSSY_EXTRA_VALUES:
        return ""
    return (f"; the mask holds {distinct} distinct raw values for {declared} declared ones, "
            "typical of lossy (JPEG) compression or of resizing with interpolation, which "
            "blend values along edges: threshold the masks to their class values (for 0/255 "
            "masks: above 127 is 255) or export them again losslessly, and give the raw "
            "values in classes.json (\"values\")")


def summarize_split(ds: Dataset, split: str, names: list[str],
                    labels_optional: bool = False) -> SplitSummary:
    """Image sizes (from file headers) and label pixels per class of one split; a bad file
    is recorded, not raised, so one run lists every problem. With `labels_optional` (a person
    answers the queries) an image without a label map is counted, not refused."""
    out = SplitSummary(split, len(names), counts=np.zeros(ds.n_classes + 1, np.int64))
    kinds: dict[str, list[str]] = defaultdict(list)
    for name in names:
        try:
            shape = ds._raw_shape(ds.image_path(name))
            if shape is None:
                raise DatasetError(f"{ds.image_path(name)}: image missing or not decodable")
            out.file_sizes[(shape[1], shape[0])] += 1
            h, w = ds._size(*shape)
            out.read_sizes[(w, h)] += 1
            label_path = ds.label_path(name)
            if not label_path.exists():
                if labels_optional and not label_beside(label_path):
                    out.n_unlabelled += 1
                    continue
                raise DatasetError(_missing_label_message(label_path, name))
            try:
                label = ds.read_label(name)
            except UnmappedValues as err:
                raise DatasetError(str(err) + _lossy_hint(ds, label_path)) from err
        except DatasetError as err:
            out.n_bad += 1
            kinds[_shape_of(str(err), name)].append(str(err))
            continue
        out.counts += class_counts(label, ds.n_classes)
    out.problems = _grouped(kinds, split, len(names))
    return out


def _shape_of(message: str, name: str) -> str:
    """A problem with the image's name taken out: files that share it share one problem."""
    return re.sub(re.escape(name), "NAME", message)


def _grouped(kinds: dict[str, list[str]], split: str, n_images: int) -> list[str]:
    """One line per kind of problem: a problem many files share is said once, with its
    count and a few names, not once a file; at most MAX_FILE_PROBLEMS lines."""
    lines = []
    for shape, messages in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
        if len(messages) >= SAY_ONCE:
            lines.append(f"{len(messages)} of the {n_images} images of the {split} split: "
                         f"{messages[0]} (and the same for {len(messages) - 1} more)")
        else:
            lines += messages
    if len(lines) > MAX_FILE_PROBLEMS:
        lines = lines[:MAX_FILE_PROBLEMS] + [f"... and {len(lines) - MAX_FILE_PROBLEMS} more "
                                             f"problems in the {split} split"]
    return lines


def _sizes(sizes: Counter, shown: int = 3) -> str:
    text = ", ".join(f"{w}x{h} ({n})" for (w, h), n in sizes.most_common(shown))
    if len(sizes) > shown:
        text += f", {len(sizes) - shown} more sizes"
    return text or "-"


def _table(rows: list[list[str]], right: set[int] = frozenset()) -> list[str]:
    """Columns as wide as their widest cell, two spaces apart: stays aligned whatever the
    cells hold."""
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    return ["  ".join(c.rjust(w) if k in right else c.ljust(w)
                      for k, (c, w) in enumerate(zip(r, widths))).rstrip() for r in rows]


def one_size_problem(splits: list[SplitSummary], why: str) -> str | None:
    """Images read at several sizes where the model needs one: the fix, a size to read at."""
    sizes = Counter()
    for s in splits:
        sizes.update(s.read_sizes)
    if len(sizes) <= 1:
        return None
    (w, h), n = sizes.most_common(1)[0]
    return (f"the images are read at {len(sizes)} different sizes ({_sizes(sizes)}), but "
            f"{why} needs one size: set dataset.size: [W, H] to read every image at one size, "
            f"e.g. dataset.size: [{w}, {h}] (the commonest, {n} images)")


def overlap_problem(ds: Dataset) -> str | None:
    both = sorted(set(ds.pool) & set(ds.evaluation))
    if not both:
        return None
    return (f"{len(both)} image(s) are in both the pool and the evaluation split "
            f"({ds.evaluation_split}), e.g. {both[:3]}: a model evaluated on images it was "
            "trained on measures nothing; remove them from one of the split lists")


def check_dataset(ds: Dataset, allow_absent: bool = False, one_size: str | None = None,
                  labels_optional: bool = False) -> tuple[str, bool, dict]:
    """A readable report of what asal reads, whether the dataset passes, and the summary the
    workflow keeps (pixels per class and split, images without labels). `one_size` names
    what needs every image at one size (a feature head, whole-image training), if anything;
    `labels_optional`: a person answers the queries, so the pool needs no labels."""
    splits = [summarize_split(ds, "pool", ds.pool, labels_optional)]
    if ds.evaluation and ds.evaluation != ds.pool:
        splits.append(summarize_split(ds, "evaluation", ds.evaluation, labels_optional))
    lines = [f"dataset {ds.name} at {ds.root.resolve()} ("
             + (f"size {list(ds.size)}" if ds.size else f"resize {ds.resize}") + ")",
             f"{ds.n_classes} classes; masks read as {ds.mapping.describe()} "
             f"({'RGB colours' if ds.mapping.rgb else 'single-channel values'})", ""]
    rows = [["split", "images", "image files (count)", "as read"]]
    rows += [[s.split, str(s.n_images), _sizes(s.file_sizes), _sizes(s.read_sizes)]
             for s in splits]
    lines += _table(rows, right={1})
    lines += ["", "pixels per class, as read:"]
    raw = [_raw_text(v) for v in ds.mapping.class_raw]
    void_raw = ds.mapping.void_raw
    raw.append(_raw_text(void_raw[0]) if len(void_raw) == 1 else
               (f"{len(void_raw)} values" if void_raw else "none"))
    rows = [["class", "raw"] + [s.split for s in splits]]
    for c, name in enumerate([*ds.classes, "void"]):
        row = [name, raw[c][:24]]
        for s in splits:
            share = 100 * s.counts[c] / max(int(s.counts.sum()), 1)
            row.append(f"{int(s.counts[c])} ({share:.1f}%)")
        rows.append(row)
    lines += _table(rows, right=set(range(1, 2 + len(splits))))
    errors, notes = [], []
    for s in splits:
        errors += s.problems
    if one_size:
        problem = one_size_problem(splits, one_size)
        if problem:
            errors.append(problem)
    overlap = overlap_problem(ds)
    if overlap:
        errors.append(overlap)
    pool = splits[0]
    labelled_pool = pool.n_images - pool.n_unlabelled
    if labels_optional and pool.n_unlabelled:
        notes.append(f"{pool.n_unlabelled} of {pool.n_images} pool images have no label map: "
                     "a person answers the queries (oracle: human), so none is needed")
    if not pool.n_bad and labelled_pool == pool.n_images:
        try:
            message = check_pool_classes(ds, pool.counts, pool.n_images, allow_absent)
            if message:
                notes.append(f"allowed by {SWITCH}: {message}")
        except DatasetError as err:
            errors.append(str(err))
    evaluation = splits[1] if len(splits) > 1 else None
    if evaluation is not None and not evaluation.n_bad:
        if evaluation.n_unlabelled == evaluation.n_images:
            notes.append("no image of the evaluation split has a label map: no evaluation is "
                         "possible (set dataset.evaluation_split: null, or add labels)")
        else:
            missing = [ds.classes[c] for c in absent_classes(evaluation.counts)]
            if missing:
                notes.append(f"classes absent from the evaluation split (their IoU is not "
                             f"measured): {missing}")
    elif evaluation is None and not ds.evaluation and labels_optional:
        notes.append("no evaluation split (dataset.evaluation_split: null): no evaluation is "
                     "possible; the report shows clicks and annotator time")
    void_share = pool.counts[-1] / max(int(pool.counts.sum()), 1)
    if labelled_pool and void_share > 0.5:
        notes.append(f"{100 * void_share:.1f}% of the pool's pixels are void: every query "
                     "they dominate is a click spent for nothing; is \"void\" right?")
    lines.append("")
    lines += [f"error: {e}" for e in errors] + [f"note: {n}" for n in notes]
    lines.append("problems: none" if not errors else f"{len(errors)} problem(s)")
    summary = {"classes": list(ds.classes),
               "pixels": {s.split: [int(v) for v in s.counts] for s in splits},
               "unlabelled": {s.split: s.n_unlabelled for s in splits},
               "read_sizes": [list(v) for v in sorted({v for s in splits
                                                       for v in s.read_sizes})]}
    return "\n".join(lines), not errors, summary
