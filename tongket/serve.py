"""`tongket serve`: the office machine's Prefect server, deployments and worker, in one command.

It starts, in this order, and stops in the reverse order on Ctrl-C:
1. `prefect server start` on loopback (127.0.0.1), with its own PREFECT_HOME (`data/prefect` by
   default): the UI, the API, the scheduler, and a SQLite database of runs and logs;
2. the process work pool `tongket-office`, with a concurrency limit of 1, so that the nightly
   run and a manual rerun never run at the same time (the second one waits in the queue);
3. `prefect deploy --all` from the project folder: the deployments of `prefect.yaml`
   (`tongket-nightly` on its cron schedule, `tongket-manual` for reruns from the UI);
4. `prefect worker start` on that pool: it runs each flow run as a child process.

The schedule lives in the server's database, not in this process: stopping `tongket serve` does
not pause it (unlike `flow.serve()`, which pauses its schedules on shutdown unless
`pause_on_shutdown=False`). A run due while the machine is off is not made up later; the office
runs it from the UI. The server and the worker write their logs under `<home>/logs/`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tongket.errors import TongketError
from tongket.settings import PROJECT_ROOT

HOST = "127.0.0.1"
DEFAULT_PORT = 4200
DEFAULT_HOME = PROJECT_ROOT / "data" / "prefect"
WORK_POOL = "tongket-office"
NIGHTLY = "tongket/tongket-nightly"
MANUAL = "tongket/tongket-manual"
SERVER_START_TIMEOUT = 180
STOP_TIMEOUT = 30


class ServeError(TongketError):
    """The Prefect server, the deployments or the worker could not be started."""


@dataclass
class Child:
    """A process `tongket serve` started, in its own process group, logging to a file."""

    name: str
    process: subprocess.Popen
    log_path: Path

    def is_running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class OfficeServer:
    """What is running: the UI address and the processes to stop."""

    home: Path
    port: int
    children: list[Child] = field(default_factory=list)

    @property
    def ui_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.ui_url}/api"


def prefect_environment(home: Path, port: int, client: bool) -> dict[str, str]:
    """The environment of every Prefect process of the office machine (no telemetry).

    The server's host and port are set as settings, not only as options of `prefect server
    start`: the UI takes the API address it calls from them (else it calls port 4200)."""
    env = dict(os.environ)
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_API_HOST=HOST,
        PREFECT_SERVER_API_PORT=str(port),
        PREFECT_UI_API_URL=f"http://{HOST}:{port}/api",
        PYTHONUNBUFFERED="1",
    )
    env.pop("PREFECT_PROFILES_PATH", None)
    if client:
        env["PREFECT_API_URL"] = f"http://{HOST}:{port}/api"
    else:
        env.pop("PREFECT_API_URL", None)
    return env


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is free
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _prefect_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "prefect", *args]


def _start_child(name: str, command: list[str], env: dict[str, str], logs: Path) -> Child:
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Ctrl-C reaches `tongket serve` only
        )
    return Child(name, process, log_path)


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def stop_timeout() -> float:
    """Seconds a stopping worker may take to let its running flow run finish."""
    return float(os.environ.get("TONGKET_SERVE_STOP_SECONDS", STOP_TIMEOUT))


def stop_child(child: Child, timeout: float | None = None) -> None:
    """SIGINT to the child's process group, SIGKILL after `timeout` seconds; then SIGKILL what it
    started and left behind, including flow runs (the worker starts each in a session of its own)."""
    timeout = stop_timeout() if timeout is None else timeout
    pgid = child.process.pid  # the child leads its own group (start_new_session)
    family = _descendants(pgid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGINT)
    try:
        child.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        family += _descendants(pgid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        child.process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()  # psutil checks the process is the same one (no PID reuse)
    psutil.wait_procs(family, timeout=5)


def _wait_for_health(server: OfficeServer, child: Child, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.is_running():
            raise ServeError(f"the Prefect server stopped while starting:\n{child.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise ServeError(f"the Prefect server did not answer within {timeout:g} s:\n{child.log_tail()}")


async def _ensure_work_pool(api_url: str) -> None:
    """The process work pool, created or updated with a concurrency limit of 1."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.workers.process import ProcessWorker

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        async with get_client() as client:
            try:
                await client.read_work_pool(WORK_POOL)
            except ObjectNotFound:
                await client.create_work_pool(
                    WorkPoolCreate(
                        name=WORK_POOL,
                        type=ProcessWorker.type,
                        base_job_template=ProcessWorker.get_default_base_job_template(),
                        description="tongket on the office machine: one run at a time.",
                        concurrency_limit=1,
                    )
                )
            else:
                await client.update_work_pool(WORK_POOL, WorkPoolUpdate(concurrency_limit=1))


def _run_step(description: str, command: list[str], env: dict[str, str], logs: Path) -> None:
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / "deploy.log"
    with log_path.open("ab") as log:
        done = subprocess.run(command, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    if done.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
        raise ServeError(f"{description} failed (exit code {done.returncode}); see {log_path}:\n{tail}")


def start_office_server(home: Path, port: int, echo: Callable[[str], None] = print) -> OfficeServer:
    """Start the server, register the pool and deployments, start the worker; stop all on failure."""
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not port_is_free(port):
        raise ServeError(f"port {port} on {HOST} is in use (is tongket serve already running?); choose --port")
    server = OfficeServer(home=home, port=port)
    logs = home / "logs"
    try:
        echo(f"Starting the Prefect server (PREFECT_HOME={home}) ...")
        child = _start_child(
            "server",
            _prefect_command("server", "start", "--host", HOST, "--port", str(port), "--analytics-off"),
            prefect_environment(home, port, client=False),
            logs,
        )
        server.children.append(child)
        _wait_for_health(server, child, SERVER_START_TIMEOUT)
        env = prefect_environment(home, port, client=True)
        echo(f"Registering the work pool {WORK_POOL} and the deployments of prefect.yaml ...")
        asyncio.run(_ensure_work_pool(server.api_url))
        _run_step("prefect deploy --all", _prefect_command("--no-prompt", "deploy", "--all"), env, logs)
        server.children.append(
            _start_child(
                "worker",
                _prefect_command("worker", "start", "--pool", WORK_POOL, "--type", "process", "--limit", "1"),
                env,
                logs,
            )
        )
    except BaseException:
        stop_office_server(server)
        raise
    return server


INTERRUPTED_MESSAGE = "tongket serve was stopped during this run; nothing was published by it"


async def _mark_interrupted_runs(api_url: str) -> int:
    """Flow runs of the pool left Pending or Running by a stopped worker: Crashed, with why."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        WorkPoolFilter,
        WorkPoolFilterName,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.states import Crashed

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        async with get_client() as client:
            stuck = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PENDING, StateType.RUNNING]))
                ),
                work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[WORK_POOL])),
            )
            for run in stuck:
                await client.set_flow_run_state(run.id, Crashed(message=INTERRUPTED_MESSAGE), force=True)
    return len(stuck)


def stop_office_server(server: OfficeServer) -> None:
    """Stop the worker (and any run it had going), mark such runs Crashed, stop the server."""
    for child in reversed(server.children):
        if child.name == "server" and child.is_running():
            with contextlib.suppress(Exception):  # the record of a run is not worth a hung shutdown
                asyncio.run(asyncio.wait_for(_mark_interrupted_runs(server.api_url), timeout=15))
        stop_child(child)
    server.children.clear()


@contextlib.contextmanager
def _signals_end_the_wait() -> Iterator[None]:
    """Ctrl-C (SIGINT), SIGTERM and SIGHUP stop `tongket serve`.

    SIGINT is handled explicitly: a process started in the background by a shell inherits an
    ignored SIGINT, and so would the server and the worker started from it (an ignored signal
    survives exec; a handled one is reset to the default).
    """

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve(home: Path = DEFAULT_HOME, port: int = DEFAULT_PORT, echo: Callable[[str], None] = print) -> None:
    """Run the office machine until Ctrl-C (or SIGTERM); then stop everything it started."""
    with _signals_end_the_wait():
        server = start_office_server(home, port, echo)
        try:
            echo(f"Prefect UI: {server.ui_url}")
            echo(f"Nightly run: {NIGHTLY} at 02:00 every day (Asia/Ho_Chi_Minh)")
            echo(f"Manual rerun: {server.ui_url}/deployments -> tongket-manual -> Run -> Custom run")
            echo(f"Logs: {home.resolve() / 'logs'}")
            echo("Press Ctrl-C to stop.")
            while all(child.is_running() for child in server.children):
                time.sleep(0.5)
            stopped = next(child for child in server.children if not child.is_running())
            raise ServeError(f"the Prefect {stopped.name} stopped unexpectedly:\n{stopped.log_tail()}")
        except KeyboardInterrupt:
            echo("Stopping the worker and the server ...")
        finally:
            stop_office_server(server)
    echo("Stopped.")
