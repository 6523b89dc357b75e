"""Read workbooks in a child process that is killed when one takes too long (rule R16).

A workbook can keep a reader busy for minutes (a sheet of hundreds of thousands of shared
formulas, a malformed file that sends a library into a loop) or crash it (a native library
running out of memory). Python cannot stop a thread stuck in such a call; it can kill a
process. So each read-and-validate task starts one child Python process, sends it the
workbooks one at a time and waits at most `limits.workbook_timeout_seconds` for each. A
workbook that takes longer is abandoned: the child is killed, the workbook is rejected with an
R16 issue naming the limit, and a fresh child reads the next one. A child that dies on a
workbook (a crash, the kernel's out-of-memory killer) rejects that workbook the same way.
The child's address space is capped (`limits.max_reader_memory_mb`): a file that makes a
reader ask for gigabytes (a grid of millions of cells in an .ods or .xls) fails that one
allocation and is rejected, instead of taking the machine's memory from everything else.

The child is a plain `subprocess` speaking pickled messages over two pipes, not a
`multiprocessing.Process`: Dask's worker processes are daemonic and may not start
multiprocessing children, and a forked copy of a threaded Prefect process is unsafe. Starting a
child (Python and the readers imported) costs about half a second, so readers are pooled
(`reader_pool`): a run's batches reuse the same few children, and the run's context (the
registry, the settings) is sent to a child once, not with every workbook.
"""

from __future__ import annotations

import atexit
import math
import os
import resource
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from types import TracebackType

from schemas.rules import make_issue
from tasks.ingest import (
    FILE_COLUMNS,
    REJECTED,
    IngestContext,
    StagedBatch,
    StagedWorkbook,
    WorkbookToRead,
    stage_batch,
    stage_workbook,
)
from tongket.settings import PROJECT_ROOT

# The child also kills itself this long after its own limit, should its parent be gone.
_ORPHAN_GRACE_SECONDS = 10
# Starting a child (Python and the readers imported) does not count against a workbook's time.
_STARTUP_TIMEOUT_SECONDS = 120


class ReaderStartError(RuntimeError):
    """The child reader process could not be started."""


def timed_out_message(seconds: float) -> str:
    """The R16 detail for a workbook abandoned after `seconds` (Vietnamese, for the unit)."""
    return (
        f"đọc tệp quá {seconds:g} giây nên đã dừng; tệp có thể bị hỏng hoặc chứa quá nhiều công thức, "
        "đề nghị lưu lại tệp theo mẫu (chỉ giữ giá trị) và gửi lại"
    )


CRASHED_MESSAGE = "tệp làm chương trình đọc bảng tính dừng đột ngột; đề nghị lưu lại tệp theo mẫu và gửi lại"


def out_of_memory_message(megabytes: float) -> str:
    """The R16 detail for a workbook that needs more memory than the reader may use."""
    return (
        f"đọc tệp cần quá {megabytes:g} MB bộ nhớ nên đã dừng; tệp có thể bị hỏng hoặc có biểu quá lớn, "
        "đề nghị lưu lại tệp theo mẫu và gửi lại"
    )


def rejected_workbook(item: WorkbookToRead, ctx: IngestContext, detail: str) -> StagedWorkbook:
    """A workbook rejected as a whole (R16) before anything could be read from it."""
    file = dict.fromkeys(FILE_COLUMNS) | {
        "file_sha256": item.file_sha256,
        "read_status": REJECTED,
        "parser_version": ctx.parser_version,
    }
    staged = StagedWorkbook(file=file)
    staged.issues.append(make_issue("R16", item.file_sha256, item.file_name, detail))
    return staged


class IsolatedReader:
    """Stages workbooks in a child process, `timeout_seconds` at most each, in at most
    `memory_mb` of address space (None: no cap). A context manager."""

    def __init__(self, timeout_seconds: float, memory_mb: float | None = None) -> None:
        self.timeout_seconds = timeout_seconds
        self.memory_mb = memory_mb
        self._process: subprocess.Popen | None = None
        self._to_child: Connection | None = None
        self._from_child: Connection | None = None
        self._context_key: tuple | None = None  # the context the child holds
        self.children_started = 0  # how many child processes this reader started (tests read it)

    def __enter__(self) -> IsolatedReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop(kill=exc_type is not None)  # interrupted: do not wait for the workbook in hand

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def _start(self) -> None:
        child_in, parent_out = os.pipe()
        parent_in, child_out = os.pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
        env["RUST_BACKTRACE"] = "0"  # a refused allocation is one log line, not a backtrace
        try:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tasks.reader_process",
                    str(child_in),
                    str(child_out),
                    str(self.memory_mb or 0),
                ],
                pass_fds=(child_in, child_out),
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=PROJECT_ROOT,
            )
        finally:
            os.close(child_in)
            os.close(child_out)
        self._to_child = Connection(parent_out, readable=False)
        self._from_child = Connection(parent_in, writable=False)
        self.children_started += 1
        try:
            ready = self._from_child.poll(_STARTUP_TIMEOUT_SECONDS) and self._from_child.recv() == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self._stop(kill=True)
            raise ReaderStartError(f"the workbook reader process did not start within {_STARTUP_TIMEOUT_SECONDS} s")

    def _stop(self, kill: bool) -> None:
        for conn in (self._to_child, self._from_child):
            if conn is not None:
                conn.close()
        self._to_child = self._from_child = None
        self._context_key = None
        process, self._process = self._process, None
        if process is None:
            return
        if kill:
            process.kill()
        try:
            process.wait(timeout=10)  # without `kill` the child ends when its input closes
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _exit_signal(self) -> int | None:
        """The signal the child died of (it has just closed its pipe), if it did die of one."""
        try:
            code = self._process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return None
        return -code if code < 0 else None

    def close(self) -> None:
        """Let the child finish (its input closes) and reap it."""
        self._stop(kill=False)

    def stage(self, item: WorkbookToRead, ctx: IngestContext) -> StagedWorkbook:
        """`stage_workbook(item, ctx)` in the child; an R16 rejection if it takes too long or dies."""
        for attempt in (1, 2):
            if self._process is None:
                self._start()
            try:
                key = _context_key(ctx)
                if key != self._context_key:
                    self._to_child.send(("context", ctx))
                    self._context_key = key
                self._to_child.send(("read", item, self.timeout_seconds))
                break
            except (BrokenPipeError, ConnectionResetError):  # the child had died: start another one
                self._stop(kill=True)
                if attempt == 2:
                    raise
        if not self._from_child.poll(self.timeout_seconds):
            self._stop(kill=True)
            return rejected_workbook(item, ctx, timed_out_message(self.timeout_seconds))
        try:
            status, payload = self._from_child.recv()
        except (EOFError, OSError):
            died_of = self._exit_signal()
            self._stop(kill=True)
            if died_of == signal.SIGABRT and self.memory_mb:  # a native reader's allocation failed
                return rejected_workbook(item, ctx, out_of_memory_message(self.memory_mb))
            return rejected_workbook(item, ctx, CRASHED_MESSAGE)
        if status == "error":  # a bug of ours, raised again here for stage_batch to report
            raise payload
        return payload


def _context_key(ctx: IngestContext) -> tuple:
    """What identifies a run's context: the registry and the settings, via the staging key."""
    return (ctx.parser_version, ctx.registry_sha256, ctx.district_name)


class ReaderPool:
    """Idle readers of this process, reused by the batches of a run (threads take turns)."""

    def __init__(self) -> None:
        self._idle: list[IsolatedReader] = []
        self._lock = threading.Lock()

    @contextmanager
    def reader(self, timeout_seconds: float, memory_mb: float | None = None) -> Iterator[IsolatedReader]:
        """An idle reader with this memory cap (or a new one); back to the pool afterwards,
        closed if it failed."""
        with self._lock:
            matching = [r for r in self._idle if r.memory_mb == memory_mb]
            reader = matching[-1] if matching else IsolatedReader(timeout_seconds, memory_mb)
            if matching:
                self._idle.remove(reader)
        reader.timeout_seconds = timeout_seconds
        try:
            yield reader
        except BaseException:
            reader._stop(kill=True)
            raise
        with self._lock:
            self._idle.append(reader)

    def close(self) -> None:
        """Let every idle child finish and reap it (the end of a run's reading)."""
        with self._lock:
            readers, self._idle = self._idle, []
        for reader in readers:
            reader.close()


reader_pool = ReaderPool()
atexit.register(reader_pool.close)


def stage_batch_isolated(items: list[WorkbookToRead], ctx: IngestContext) -> StagedBatch:
    """`stage_batch`, each workbook read by a pooled child process within the time-out."""
    with reader_pool.reader(ctx.limits.workbook_timeout_seconds, ctx.limits.max_reader_memory_mb) as reader:
        return stage_batch(items, ctx, stage_one=reader.stage)


def _cap_memory(megabytes: float) -> None:
    """Cap this process's address space (imports done, so the cap is what reading may add)."""
    if megabytes > 0:
        cap = int(megabytes * (1 << 20))
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _serve(from_parent: Connection, to_parent: Connection, memory_mb: float = 0) -> None:
    """The child's loop: stage each workbook received, send the result back, until EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _cap_memory(memory_mb)
    to_parent.send("ready")  # imports done: the clock of the first workbook starts now
    ctx: IngestContext | None = None
    while True:
        try:
            message = from_parent.recv()
        except (EOFError, OSError):
            return
        if message[0] == "context":
            ctx = message[1]
            continue
        _, item, timeout = message
        # SIGALRM's default action ends the process even inside native code: should the parent
        # die while a workbook hangs here, this child does not outlive it by long.
        signal.alarm(math.ceil(timeout) + _ORPHAN_GRACE_SECONDS)
        try:
            message = ("ok", stage_workbook(item, ctx))
        except MemoryError:  # Python asked for more than the cap: the file, not a bug of ours
            message = ("ok", rejected_workbook(item, ctx, out_of_memory_message(memory_mb)))
        except Exception as exc:
            traceback.print_exc()
            message = ("error", exc)
        signal.alarm(0)
        try:
            to_parent.send(message)
        except (BrokenPipeError, OSError):
            return
        except Exception as exc:  # the exception itself did not pickle
            to_parent.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))


def main(argv: list[str]) -> int:
    memory_mb = float(argv[2]) if len(argv) > 2 else 0.0
    _serve(Connection(int(argv[0]), writable=False), Connection(int(argv[1]), readable=False), memory_mb)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
