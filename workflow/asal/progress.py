"""Progress lines in a job's log: a person reading `tail -f` sees how far a stage is and how
long it has left, without a terminal progress bar garbling the log file."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("asal")


class Progress:
    """Readable progress lines in a job's log: count, rate and time left, every ~10%."""

    def __init__(self, what: str, total: int):
        self.what, self.total, self.start, self.next = what, max(total, 1), time.time(), 0.0

    def __call__(self, done: int, extra: str = "") -> None:
        if done / self.total >= self.next or done == self.total:
            elapsed = time.time() - self.start
            left = elapsed / max(done, 1) * (self.total - done)
            log.info("%s: %d/%d (%.0f%%), %.1f s elapsed, ~%.1f s left%s", self.what, done,
                     self.total, 100 * done / self.total, elapsed, left, extra)
            self.next = done / self.total + 0.1
