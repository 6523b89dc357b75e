"""Wall time and peak memory of this process and everything it started, for the tests and
sessions that bound them (tests/test_hostile.py, tests/load_session.py)."""

from __future__ import annotations

import threading
import time

import psutil


def tree_rss_bytes() -> int:
    """The summed RSS of this process and all its descendants (those that vanish meanwhile skipped)."""
    me = psutil.Process()
    total = 0
    for process in [me, *me.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            pass
    return total


class TreeSampler:
    """Wall time and the peak summed RSS of this process and all its descendants, sampled every
    `interval` seconds while the `with` block runs."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak_mb = 0.0
        self.seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, tree_rss_bytes() / 2**20)
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeSampler:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.seconds = time.monotonic() - self._started
