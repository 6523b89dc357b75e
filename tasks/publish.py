"""Publish a newly built warehouse atomically, and keep two runs from writing at once.

A run builds `<name>.building.duckdb` beside the published file, checkpoints and closes it,
and only then renames it over the published one (one atomic rename on the same file system).
Readers that hold the old file open keep their snapshot until they reconnect; a run killed at
any moment leaves the published file exactly as it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from tongket.duck import scalar
from tongket.errors import PublishError, WarehouseBusyError


def building_path(published: Path) -> Path:
    return published.with_name(published.stem + ".building" + published.suffix)


def lock_path(published: Path) -> Path:
    return published.with_name(published.name + ".lock")


@contextlib.contextmanager
def warehouse_lock(published: Path, wait_seconds: float) -> Iterator[None]:
    """Hold the warehouse's write lock; wait up to `wait_seconds` for another run to finish.

    The lock is an OS file lock (flock): it is released when the holding process dies, so a
    killed run never leaves the warehouse locked.
    """
    path = lock_path(published)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another run"
                    raise WarehouseBusyError(
                        f"The warehouse {published} is being written by {holder}; "
                        f"waited {wait_seconds:g} s. Try again when that run has finished."
                    ) from None
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def publish(built: Path, published: Path) -> None:
    """Replace the published warehouse with the built one in one atomic rename."""
    wal = built.with_name(built.name + ".wal")
    if wal.exists():
        raise PublishError(f"{built} still has a write-ahead log; it was not checkpointed")
    with duckdb.connect(str(built), read_only=True) as con:  # it must open cleanly before it replaces anything
        scalar(con, "select count(*) from meta_warehouse")
    fd = os.open(built, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(built, published)
    except PermissionError as error:  # Windows: a reader holds the published file open
        raise PublishError(
            f"Cannot replace {published}: another program has it open ({error.strerror}). "
            "Close the analysts' connections to it (or let them work on a copy) and run again; "
            "the published warehouse is unchanged."
        ) from error
    directory = os.open(published.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
