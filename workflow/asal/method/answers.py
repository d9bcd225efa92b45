"""What the oracle says about a queried region, and what it costs.

An answer is a set of labels, held as a bit mask (bit c: class c; bit C: void), and a number
of clicks. The paper's oracle names the dominant label, one click whatever the region holds
("dominant"). MulActSeg's (Zhang et al., NeurIPS 2023) names every class covering at least
`min_share` of the region's pixels and pays one click per class named ("multiclass"); training
then takes the set as the classes allowed at those pixels (a partial label), so the impurity
of a region that straddles a boundary is told, not lost.

An answer type is a function (hist, spec) -> (label_set, clicks) over the ground-truth
histograms of the queried regions, (n, C+1) with void in column C; a researcher's own is
named `module:function` in `answer.type` (asal.experiment.extensions).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from ..experiment.extensions import is_reference, resolve
from ..experiment.settings import defaults

_DEFAULTS = defaults("answer")
# Bit masks live in int64: class ids up to 62 and void.
MAX_CLASSES = 62


@dataclass(frozen=True)
class AnswerSpec:
    """Answer settings (config `answer`; defaults from the schema)."""

    type: str = _DEFAULTS["type"]  # dominant | multiclass | module:function
    min_share: float = _DEFAULTS["min_share"]  # multiclass: a class this share of s is named
    extra_class_cost: int = _DEFAULTS["extra_class_cost"]  # clicks per class after the first

    def __post_init__(self):
        if not is_reference(self.type) and self.type not in BUILTIN_ANSWERS:
            resolve(self.type, BUILTIN_ANSWERS, "answer.type")  # entry point, or says what to use
        if not 0.0 < self.min_share <= 1.0:
            raise ValueError(f"answer.min_share {self.min_share}: a share in (0, 1]")
        if self.extra_class_cost < 0:
            raise ValueError(f"answer.extra_class_cost {self.extra_class_cost}: at least 0")

    @property
    def function(self) -> Callable:
        return resolve(self.type, BUILTIN_ANSWERS, "answer.type")

    @property
    def several(self) -> bool:
        """Whether an answer may name several classes (so the labelled set keeps the sets);
        a function of the user's own may, so it is assumed to."""
        return self.type != "dominant"

    def as_dict(self) -> dict:
        return asdict(self)


def bit(labels: np.ndarray) -> np.ndarray:
    """The one-label set of each label (bit mask)."""
    return np.left_shift(np.int64(1), np.asarray(labels, np.int64))


def members(label_set: np.ndarray, n_labels: int) -> np.ndarray:
    """(n, n_labels) bool: which labels each set holds."""
    sets = np.asarray(label_set, np.int64)
    return ((sets[:, None] >> np.arange(n_labels, dtype=np.int64)) & 1).astype(bool)


def set_size(label_set: np.ndarray) -> np.ndarray:
    """Labels named in each set (popcount)."""
    sets = np.asarray(label_set, np.int64).copy()
    count = np.zeros(sets.shape, np.int64)
    while sets.any():
        count += sets & 1
        sets >>= 1
    return count


def dominant(hist: np.ndarray, spec: AnswerSpec) -> tuple[np.ndarray, np.ndarray]:
    """The paper's oracle: the dominant label D(s) (void included), one click, as a set of
    one (answer_queries reads the label itself, for any number of classes)."""
    hist = np.asarray(hist)
    return bit(hist.argmax(axis=1)), np.ones(len(hist), np.int64)


def multiclass(hist: np.ndarray, spec: AnswerSpec) -> tuple[np.ndarray, np.ndarray]:
    """MulActSeg's multi-hot answer: every class covering at least `min_share` of the
    region's pixels (the dominant class always), void pixels counted in the region's size
    but never named; a region whose dominant label is void is answered void. Costs one click
    for the first class and `extra_class_cost` for each further one."""
    hist = np.asarray(hist, np.float64)
    n_classes = hist.shape[1] - 1
    if n_classes > MAX_CLASSES:
        raise ValueError(f"answer.type multiclass holds sets of up to {MAX_CLASSES} classes; "
                         f"the dataset has {n_classes}")
    top = hist.argmax(axis=1)
    share = hist / np.maximum(hist.sum(axis=1, keepdims=True), 1.0)
    named = share[:, :n_classes] >= spec.min_share
    named[np.arange(len(hist)), np.minimum(top, n_classes - 1)] |= top < n_classes
    weights = np.left_shift(np.int64(1), np.arange(n_classes, dtype=np.int64))
    label_set = (named * weights).sum(axis=1).astype(np.int64)
    is_void = top == n_classes
    label_set[is_void] = np.int64(1) << n_classes
    n_named = np.where(is_void, 1, named.sum(axis=1))
    return label_set, 1 + spec.extra_class_cost * (n_named - 1)


BUILTIN_ANSWERS: dict[str, Callable] = {"dominant": dominant, "multiclass": multiclass}


def answer_queries(hist: np.ndarray, spec: AnswerSpec, budget: int | None = None
                   ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, int]:
    """Answers of the queries in acquisition order until the clicks are spent: (label_set,
    clicks, label, n answered); label_set is None for the dominant label (one label, one
    click, whatever the number of classes). A query is asked while clicks remain, so the last
    may overrun the budget by its extra classes; the rest go unasked and unpaid."""
    hist = np.asarray(hist)
    if budget is not None and budget < 1:
        raise ValueError(f"--budget {budget}: a round needs at least one click")
    if spec.type == "dominant":  # the paper's oracle: a label, no set (any number of classes)
        label = hist.argmax(axis=1).astype(np.int64) if len(hist) else np.zeros(0, np.int64)
        n = len(hist) if budget is None else min(len(hist), budget)
        return None, np.ones(n, np.int64), label[:n], n
    n_labels = hist.shape[1]
    if n_labels > MAX_CLASSES + 1:
        raise ValueError(f"answer.type {spec.type}: answers naming several classes hold up to "
                         f"{MAX_CLASSES} classes; the dataset has {n_labels - 1}")
    label_set, clicks = spec.function(hist, spec)
    label_set, clicks = np.asarray(label_set, np.int64), np.asarray(clicks, np.int64)
    if label_set.shape != (len(hist),) or clicks.shape != (len(hist),):
        raise ValueError(f"answer.type {spec.type}: must give one label set and one click "
                         f"count per query ({len(hist)}), got {label_set.shape} and "
                         f"{clicks.shape}")
    if len(hist) and ((label_set <= 0) | (label_set >> n_labels != 0)).any():
        raise ValueError(f"answer.type {spec.type}: an answer names no label, or a label "
                         f"beyond the {n_labels - 1} classes and void (bits 0..{n_labels - 1})")
    if (clicks < 1).any():
        raise ValueError(f"answer.type {spec.type}: every query costs at least one click")
    n = len(hist)
    if budget is not None and n:
        spent_before = np.concatenate([[0], np.cumsum(clicks)[:-1]])
        n = int((spent_before < budget).sum())
    # The label a single-label consumer reads: the most frequent label named.
    named = members(label_set, n_labels)
    label = np.where(named, hist, -1).argmax(axis=1) if len(hist) else np.zeros(0, np.int64)
    return label_set[:n], clicks[:n], label[:n].astype(np.int64), n
