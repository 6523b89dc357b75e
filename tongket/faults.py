"""Fault injection for the reliability tests: kill the process, or fail a write, at a named
point of a run. Inactive unless the environment variable TONGKET_FAULT is set, e.g.
`TONGKET_FAULT=kill@before-publish`, `TONGKET_FAULT=disk-full@load`, or
`TONGKET_FAULT=fail-once@read` (an I/O error the first time a point is reached in this process,
then never again: what a step's retries are for).

The points a run passes, in order: read, load, marts, awards, before-publish, outputs (the
report, after the warehouse was published).
"""

from __future__ import annotations

import errno
import os
import signal
import threading

FAULT_VARIABLE = "TONGKET_FAULT"
POINTS = ("read", "load", "marts", "awards", "before-publish", "outputs")


_fired: set[str] = set()  # the fail-once faults already raised in this process
_fired_lock = threading.Lock()


def checkpoint(point: str) -> None:
    """Do nothing, unless a test asked for a fault at this point."""
    wanted = os.environ.get(FAULT_VARIABLE)
    if not wanted:
        return
    kind, _, where = wanted.partition("@")
    if where != point:
        return
    if kind == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "fail-once":
        with _fired_lock:
            if wanted in _fired:
                return
            _fired.add(wanted)
        raise OSError(errno.EIO, "Input/output error (injected once by TONGKET_FAULT)")
    if kind == "disk-full":
        raise OSError(errno.ENOSPC, "No space left on device (injected by TONGKET_FAULT)")
