"""One round being answered: its queries, the pictures of each, the journal, and the rules
for what an answer may be. The Flask app calls these; they know nothing of HTTP."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from pathlib import Path

import numpy as np

from ..data.datasets import Dataset
from ..store import artifacts
from . import regions
from .journal import Journal, file_sha256, now_utc, replay

MAX_SECONDS = 24 * 3600.0  # seconds per answer beyond a day are a client's clock gone wrong


def labels_of(entry: dict) -> list[int]:
    """The classes an answer names: `labels` in a multi-class round, else its one `label`."""
    return [int(x) for x in entry.get("labels", [entry["label"]])]


class Refused(Exception):
    """A request the round refuses; `status` is the HTTP status (4xx), the message says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_answer(body, n_queries_ids: set[int], n_classes: int, several: bool = False
                 ) -> tuple[int, list[int], float | None]:
    """(query, labels, seconds) of an answer request, or Refused. Labels are 0..C-1 for the
    classes and C for "void / can't tell". A multi-class round (`several`) takes `labels`, a
    list of distinct classes (void alone); otherwise `label`, one id."""
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object {query, label, seconds}")
    query, seconds = body.get("query"), body.get("seconds")
    if not _is_id(query):
        raise Refused(400, f"query must be an integer id, got {query!r}")
    if query not in n_queries_ids:
        raise Refused(404, f"no query {query} in this round")
    labels = body.get("labels") if several and "labels" in body else [body.get("label")]
    if not isinstance(labels, list) or not labels:
        raise Refused(400, f"labels must be a non-empty list of class ids, got {labels!r}")
    for label in labels:
        if not _is_id(label) or not 0 <= label <= n_classes:
            raise Refused(400, f"label must be a class id 0..{n_classes - 1} or {n_classes} "
                               f"(void), got {label!r}")
    if len(set(labels)) != len(labels):
        raise Refused(400, f"labels name a class twice: {labels}")
    if n_classes in labels and len(labels) > 1:
        raise Refused(400, "void / can't tell is an answer of its own, not one of several")
    if seconds is not None:
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) \
                or not 0 <= seconds <= MAX_SECONDS:
            raise Refused(400, f"seconds must be a number in [0, {MAX_SECONDS:.0f}], "
                               f"got {seconds!r}")
        seconds = float(seconds)
    return query, labels, seconds


class Round:
    """The queries of one round and their standing answers. Thread-safe.

    `key` names the round (its queries file's hash): the page sends it with every request
    that writes, so a tab left open on an earlier round whose address now serves another
    round cannot answer the new round's queries of the same number."""

    def __init__(self, ds: Dataset, sp_path: str, queries_path: str, merged_path: str | None,
                 journal_path: str, annotator: str, several: bool = False,
                 budget: int | None = None, extra_class_cost: int = 1):
        self.ds, self.annotator = ds, annotator
        # A multi-class round: a person names every class in the region, paying a click for
        # the first and extra_class_cost for each further one, until `budget` is spent.
        self.several, self.budget, self.extra_class_cost = several, budget, extra_class_cost
        # The person sees the file as it is, not the pool's working resolution (resize).
        self.original = dataclasses.replace(ds, resize=1.0)
        self.queries = artifacts.read_csv(queries_path)
        self.ids = [int(q) for q in self.queries["query"]]
        if len(set(self.ids)) != len(self.ids):
            raise artifacts.ArtifactError(f"{queries_path}: query ids repeat; rerun acquire")
        self.row_of = {q: k for k, q in enumerate(self.ids)}
        self._files = contextlib.ExitStack()
        self.sp = self._files.enter_context(artifacts.open_superpixels(sp_path))
        self.sp_path = sp_path
        self.merged = None
        if merged_path is not None:
            self.merged = self._files.enter_context(
                artifacts.open_table(merged_path, "merge", ("region",)))[0]["region"]
        names = list(self.sp.names)
        self.image_index = {n: i for i, n in enumerate(names)}
        bad = sorted(set(self.queries["image_name"]) - set(names))
        if bad:
            raise artifacts.ArtifactError(f"{queries_path}: images {bad[:3]} are not in "
                                          f"{sp_path}; rerun acquire")
        self.images = set(self.queries["image_name"])  # what the page may show, nothing else
        queries_sha256 = file_sha256(queries_path)
        self.key = queries_sha256[:16]
        self.journal = Journal(journal_path, queries_sha256, len(self.ids))
        self.lock = threading.RLock()
        self._pictures: dict[int, dict[str, bytes]] = {}
        self.finished = threading.Event()

    def close(self) -> None:
        self.journal.close()
        self._files.close()

    # ---- state

    @property
    def n_classes(self) -> int:
        return self.ds.n_classes

    def standing(self) -> tuple[dict[int, dict], list[int]]:
        return replay(self.journal.entries)

    def cost(self, entry: dict) -> int:
        """Clicks an answer cost: one, plus extra_class_cost per further class named."""
        return 1 + self.extra_class_cost * (len(labels_of(entry)) - 1)

    def state(self) -> dict:
        with self.lock:
            standing, order = self.standing()
            spent = sum(self.cost(e) for e in standing.values())
            out_of_clicks = self.budget is not None and spent >= self.budget
            open_ = [] if out_of_clicks else [q for q in self.ids if q not in standing]
            return {"n": len(self.ids), "answered": len(standing),
                    "open": open_[0] if open_ else None,
                    "next": open_[1] if len(open_) > 1 else None,
                    "last": order[-1] if order else None,
                    "clicks": spent, "budget": self.budget, "several": self.several,
                    "done": not open_, "finished": self.finished.is_set(), "round": self.key,
                    "answers": {str(q): labels_of(e) for q, e in standing.items()}}

    def query_info(self, q: int) -> dict:
        if q not in self.row_of:
            raise Refused(404, f"no query {q} in this round")
        row = self.queries.iloc[self.row_of[q]]
        i = self.image_index[str(row["image_name"])]
        pixels = int(self.sp.pixel_offset[i + 1] - self.sp.pixel_offset[i])
        with self.lock:
            standing, _ = self.standing()
        return {"query": q, "position": self.row_of[q] + 1, "image_name": str(row["image_name"]),
                "size": int(row["size"]), "share": int(row["size"]) / max(pixels, 1),
                "n_base": int(row["n_base"]),
                "answer": labels_of(standing[q]) if q in standing else None}

    # ---- answering

    def check_round(self, body) -> None:
        """Refuse a request from a page of another round (see `key`)."""
        if isinstance(body, dict) and "round" in body and body["round"] != self.key:
            raise Refused(409, "this page belongs to another round than the one now served "
                               "at this address; reload the page")

    def answer(self, body) -> dict:
        self.check_round(body)
        q, labels, seconds = check_answer(body, set(self.ids), self.n_classes, self.several)
        with self.lock:
            if self.finished.is_set():
                raise Refused(409, "this round is finished; its answers are written")
            standing, _ = self.standing()
            if q in standing:
                raise Refused(409, f"query {q} already has an answer (given in another tab?); "
                                   "the page moves on to the next open query")
            if self.state()["done"]:
                raise Refused(409, "the round's clicks are spent; finish the round")
            entry = {"op": "answer", "query": q, "label": labels[0], "seconds": seconds,
                     "annotator": self.annotator, "utc": now_utc()}
            if self.several:
                entry["labels"] = labels
            self.journal.append(entry)
            return self.state()

    def undo(self, body) -> dict:
        self.check_round(body)
        if not isinstance(body, dict) or not isinstance(body.get("query"), int) \
                or isinstance(body.get("query"), bool):
            raise Refused(400, "the body must be a JSON object {query}: the answer to take back")
        q = body["query"]
        if q not in self.row_of:
            raise Refused(404, f"no query {q} in this round")
        with self.lock:
            if self.finished.is_set():
                raise Refused(409, "this round is finished; its answers are written")
            _, order = self.standing()
            if not order or order[-1] != q:
                raise Refused(409, f"query {q} is not the last answer given; nothing undone")
            self.journal.append({"op": "undo", "query": q, "annotator": self.annotator,
                                 "utc": now_utc()})
            return self.state()

    def finish(self, body=None) -> dict:
        self.check_round(body)
        with self.lock:
            state = self.state()
            if not state["done"]:
                raise Refused(409, f"{state['n'] - state['answered']} queries have no answer yet")
            self.finished.set()
            state["finished"] = True
            return state

    def answers(self) -> dict[int, dict]:
        """The standing answer entry of every query asked (the round must be done): all of
        them, or in a multi-class round those answered before the clicks ran out."""
        standing, _ = self.standing()
        if not self.state()["done"]:
            missing = [q for q in self.ids if q not in standing]
            raise RuntimeError(f"{len(missing)} queries unanswered, e.g. {missing[:5]}")
        return standing

    # ---- pictures

    def _mask(self, q: int) -> tuple[np.ndarray, np.ndarray]:
        """The original image of query q and the region's mask at its size."""
        row = self.queries.iloc[self.row_of[q]]
        name = str(row["image_name"])
        i = self.image_index[name]
        lo, hi = int(self.sp.sp_offset[i]), int(self.sp.sp_offset[i + 1])
        region = np.asarray(self.merged[lo:hi]) if self.merged is not None else \
            np.arange(lo, hi, dtype=np.int64)
        local = np.asarray(self.sp.local_map(i))
        image = self.original.read_image(name)
        (h, w), (big_h, big_w) = local.shape, image.shape[:2]
        r = self.ds.resize
        if abs(round(big_h * r) - h) > 1 or abs(round(big_w * r) - w) > 1:
            raise artifacts.ArtifactError(
                f"{self.ds.image_path(name)}: image is {big_w}x{big_h}, which at resize {r} "
                f"does not give its superpixels' {w}x{h} in {self.sp_path}; the image changed "
                "since superpixelize ran: rerun it")
        mask = regions.query_mask(region, local, int(row["region"]))
        return image, regions.upscale_mask(mask, image.shape[:2])

    def picture(self, q: int, kind: str) -> bytes:
        """PNG of the view (whole image) or the crop (zoom) of query q; both are made
        together, once, and kept for the last 16 queries."""
        if q not in self.row_of:
            raise Refused(404, f"no query {q} in this round")
        with self.lock:
            made = self._pictures.get(q)
        if made is None:  # drawn outside the lock: answers are never kept waiting by a picture
            image, mask = self._mask(q)
            view = regions.render_view(image, mask)
            made = {"view": regions.png_bytes(view),
                    "crop": regions.png_bytes(regions.render_crop(view, mask))}
            with self.lock:
                if len(self._pictures) >= 16:  # a full-size PNG each: keep a few
                    self._pictures.pop(next(iter(self._pictures)))
                self._pictures[q] = made
        return made[kind]

    def image_file(self, name: str) -> Path:
        """The original file of an image of this round's queries (nothing else is served)."""
        if name not in self.images:
            raise Refused(404, f"{name!r} is not an image of this round's queries")
        return Path(self.ds.image_path(name))

    def classes(self) -> list[dict]:
        out = [{"id": k, "name": n, "rgb": [int(c) for c in self.ds.palette[k]],
                "text": regions.text_colour(self.ds.palette[k])}
               for k, n in enumerate(self.ds.classes)]
        return out
