"""Fault injection for the reliability tests: kill the process, or fail a write, at a named
point of a run. Inactive unless the environment variable TONGKET_FAULT is set, e.g.
`TONGKET_FAULT=kill@before-publish` or `TONGKET_FAULT=disk-full@load`.

The points a run passes, in order: read, load, marts, awards, before-publish, outputs (the
report, after the warehouse was published).
"""

from __future__ import annotations

import errno
import os
import signal

FAULT_VARIABLE = "TONGKET_FAULT"
POINTS = ("read", "load", "marts", "awards", "before-publish", "outputs")


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
    if kind == "disk-full":
        raise OSError(errno.ENOSPC, "No space left on device (injected by TONGKET_FAULT)")
