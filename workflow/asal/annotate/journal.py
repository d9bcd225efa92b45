"""The append-only journal of a round's answers: durable the moment an answer is given.

One JSON object a line. The first line is a header naming the queries file it belongs to (its
SHA-256), then entries `{"op": "answer", "query": k, "label": c, ...}` and
`{"op": "undo", "query": k, ...}`. Every line is flushed and fsync'ed before the server
replies, so a killed server or a closed tab loses nothing that the page showed as given. The
file is held under an exclusive lock while a server runs: a second server on the same round
is refused instead of writing a second answer.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import hashlib
import json
import logging
import math
import os
from pathlib import Path

log = logging.getLogger(__name__)

FORMAT = "asal-annotate-journal/1"


class JournalError(RuntimeError):
    """The journal cannot be used (held by another server, or unreadable); names the file."""


def now_utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
        return True
    except json.JSONDecodeError:
        return False


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def entry_problem(e) -> str | None:
    """What makes `e` no journal entry, or None: {"op": "answer", "query": int, "label":
    int >= 0, "seconds": number >= 0 or null, ...} or {"op": "undo", "query": int, ...}."""
    if not isinstance(e, dict):
        return "not a JSON object"
    if e.get("op") not in ("answer", "undo"):
        return f"op {e.get('op')!r} is neither 'answer' nor 'undo'"
    if not _is_int(e.get("query")):
        return f"query {e.get('query')!r} is not an integer id"
    if e["op"] == "answer":
        if not _is_int(e.get("label")) or e["label"] < 0:
            return f"label {e.get('label')!r} is not a class id"
        labels = e.get("labels", [e["label"]])
        if not isinstance(labels, list) or not labels or \
                not all(_is_int(x) and x >= 0 for x in labels) or labels[0] != e["label"]:
            return f"labels {labels!r} is not a list of class ids led by label"
        s = e.get("seconds")
        if s is not None and (isinstance(s, bool) or not isinstance(s, (int, float))
                              or not math.isfinite(s) or s < 0):
            return f"seconds {s!r} is not a number of seconds"
    return None


def replay(entries: list[dict]) -> tuple[dict[int, dict], list[int]]:
    """The answers standing after `entries`: {query: its last answer entry}, and the queries in
    the order their standing answers were given (the last is what undo takes back).

    The last answer of a query wins; an undo removes the query's standing answer."""
    standing: dict[int, dict] = {}
    order: list[int] = []
    for e in entries:
        q = int(e["query"])
        if q in standing:
            del standing[q]
            order.remove(q)
        if e["op"] == "answer":
            standing[q] = e
            order.append(q)
        elif e["op"] != "undo":
            raise ValueError(f"unknown journal op {e['op']!r}")
    return standing, order


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """An open journal: `entries` so far, `append` one durably. Use as a context manager."""

    def __init__(self, path: str | os.PathLike, queries_sha256: str, n_queries: int):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.entries: list[dict] = []
        self._f = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(self._f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._f.close()
            raise JournalError(f"{self.path}: another annotate server is answering this round "
                               "(the journal is locked); use its page, or stop it first")
        self._f.seek(0)
        lines = self._f.read().splitlines()
        if len(lines) == 1 and not _is_json(lines[0]):
            # The header itself cut short by a crash at creation: nothing was answered yet.
            log.warning("%s: the header is incomplete (a crash mid-write); starting anew",
                        self.path)
            self._truncate_last(lines)
            lines = []
        header = self._header(lines[0]) if lines else None
        if header is not None and (header.get("queries_sha256") != queries_sha256
                                   or header.get("n_queries") != n_queries):
            # The queries changed (acquire was rerun): keep the old answers aside, start anew.
            stale = self.path.with_name(f"{self.path.name}.stale-"
                                        f"{header.get('created_utc', 'unknown').replace(':', '')}")
            fcntl.flock(self._f.fileno(), fcntl.LOCK_UN)
            self._f.close()
            os.replace(self.path, stale)
            log.warning("%s: made for other queries; moved to %s, starting a new journal",
                        self.path, stale)
            self.__init__(path, queries_sha256, n_queries)
            return
        for k, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            try:
                value = self._parse(line, k)
            except JournalError:
                if k == len(lines):  # a line cut short by a crash mid-write: never acknowledged
                    log.warning("%s: line %d is incomplete (a crash mid-write); ignored",
                                self.path, k)
                    self._truncate_last(lines)
                    break
                raise
            self.entries.append(self._check(value, k))
        if header is None:
            self._write({"format": FORMAT, "queries_sha256": queries_sha256,
                         "n_queries": n_queries, "created_utc": now_utc()})
            _sync_dir(self.path.parent)

    def _parse(self, line: str, number: int):
        try:
            return json.loads(line)
        except json.JSONDecodeError as err:
            raise JournalError(f"{self.path}: line {number} is not JSON ({err}); the journal "
                               "was edited by hand? fix or delete that line") from err

    def _header(self, line: str) -> dict:
        value = self._parse(line, 1)
        if not isinstance(value, dict) or value.get("format") != FORMAT:
            raise JournalError(f"{self.path}: line 1 is not the header of an asal journal "
                               f"(format {FORMAT!r}); it is not a journal of `asal annotate`: "
                               "move it away")
        return value

    def _check(self, value, number: int) -> dict:
        """The entry of line `number`, or JournalError naming the line and what is wrong."""
        why = entry_problem(value)
        if why:
            raise JournalError(f"{self.path}: line {number} is not an answer or an undo "
                               f"({why}): {json.dumps(value)[:120]}; the journal was edited "
                               "by hand? fix or delete that line")
        return value

    def _truncate_last(self, lines: list[str]) -> None:
        keep = "".join(line + "\n" for line in lines[:-1])
        self._f.truncate(len(keep.encode()))
        self._f.seek(0, os.SEEK_END)
        os.fsync(self._f.fileno())

    def _write(self, entry: dict) -> None:
        self._f.seek(0, os.SEEK_END)
        self._f.write(json.dumps(entry, sort_keys=True) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def append(self, entry: dict) -> None:
        """Write one entry and sync it to disk before returning."""
        self._write(entry)
        self.entries.append(entry)

    def close(self) -> None:
        if not self._f.closed:
            fcntl.flock(self._f.fileno(), fcntl.LOCK_UN)
            self._f.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
