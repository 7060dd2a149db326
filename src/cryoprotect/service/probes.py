"""Readings taken in the background, so no request waits on the database, disk or store.

A :class:`Probe` calls its ``read`` function in its own thread every ``every`` seconds and
keeps the last outcome (value or error) with its time. Readers (``/health/ready``,
``/metrics``) get that reading at once, however long the read takes; a read that hangs shows
as an old reading and as the time it has been running.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

log = structlog.get_logger("cryoprotect.service")


@dataclass(frozen=True)
class Reading:
    """The outcome of one read: its value, or why it failed; when it ended; how long it took."""

    value: object
    error: str | None
    at: float
    seconds: float

    @property
    def age(self) -> float:
        """Seconds since the read ended."""
        return max(0.0, time.time() - self.at)


def describe(error: BaseException) -> str:
    """Return an exception as one short line: its type and the first line of its message."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:300]


class Probe:
    """Call ``read`` every ``every`` seconds in a daemon thread; keep the last :class:`Reading`."""

    def __init__(self, name: str, read: Callable[[], object], every: float) -> None:
        self.name, self.read, self.every = name, read, every
        self.last: Reading | None = None
        self._reading_since: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"probe-{name}", daemon=True)

    def start(self) -> Probe:
        """Start reading in the background; return the probe."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the read under way (the thread is a daemon: a hung read is left)."""
        self._stop.set()

    def running_for(self) -> float | None:
        """Seconds the read under way has been running, or ``None`` between reads."""
        since = self._reading_since
        return None if since is None else time.time() - since

    def read_now(self) -> Reading:
        """Read once in the calling thread, keep and return the reading."""
        started = time.time()
        self._reading_since = started
        try:
            value, error = self.read(), None
        except Exception as failure:  # any failure of the read is its reading  # noqa: BLE001
            value, error = None, describe(failure)
        finally:
            self._reading_since = None
        if error is not None and (self.last is None or self.last.error != error):
            log.warning("probe failed", probe=self.name, error=error)
        self.last = Reading(value, error, time.time(), time.time() - started)
        return self.last

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.read_now()
            self._stop.wait(self.every)
