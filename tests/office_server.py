"""`tongket serve` run for real by the server and browser tests, and the API calls they make.

The server runs on a free loopback port with a temporary PREFECT_HOME; everything it starts
(the Prefect server, the worker, the flow runs) is recorded so that the tests can check that
Ctrl-C leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from tongket.settings import PROJECT_ROOT

START_TIMEOUT = 240
RUN_TIMEOUT = 240


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OfficeServer:
    """One `tongket serve` process, started on first use and stopped with Ctrl-C (SIGINT)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []
        self.seen_pids: set[int] = set()
        self._reader: threading.Thread | None = None

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.ui_url}/api"

    def running(self) -> OfficeServer:
        """Start `tongket serve` unless it runs; return self once the UI address is printed."""
        if self.process is not None and self.process.poll() is None:
            return self
        self.port = free_port()
        self.output = []
        env = dict(os.environ)
        env.pop("PREFECT_API_URL", None)
        env.update(
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_LOGGING_LEVEL="INFO",
            PREFECT_WORKER_QUERY_SECONDS="1",  # the office's worker asks every 10 s; tests wait less
            TONGKET_SERVE_STOP_SECONDS="3",  # how long Ctrl-C lets a running flow run go on
            PYTHONUNBUFFERED="1",
            # Should the nightly schedule fire during the tests, its run stays in the temporary home.
            TONGKET_PATHS_INBOX=str(self.home / "inbox"),
            TONGKET_PATHS_REGISTRY=str(self.home / "registry.csv"),
            TONGKET_PATHS_WAREHOUSE=str(self.home / "warehouse" / "tongket.duckdb"),
            TONGKET_PATHS_OUTPUTS=str(self.home / "outputs"),
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tongket.cli", "serve", "--port", str(self.port), "--home", str(self.home)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not any(line.startswith("Press Ctrl-C") for line in self.output):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("tongket serve did not start:\n" + "\n".join(self.output))
            time.sleep(0.2)
        self.record_processes()
        return self

    def _read_output(self) -> None:
        assert self.process and self.process.stdout
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))

    def descendants(self) -> list[psutil.Process]:
        """Every process `tongket serve` started, directly or not, alive now."""
        if self.process is None:
            return []
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def record_processes(self) -> None:
        """Remember every process `tongket serve` has started so far (to check none is left)."""
        self.seen_pids |= {p.pid for p in self.descendants()}

    def stop(self, timeout: float = 90) -> int | None:
        """Ctrl-C, as the office user does; returns the exit code (None if it was not running)."""
        if self.process is None:
            return None
        self.record_processes()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._reader:
            self._reader.join(timeout=5)
        code = self.process.returncode
        self.process = None
        return code

    def leftover_processes(self) -> list[str]:
        """Processes it started that are still alive (zombies do not count: they are dead)."""
        alive = []
        for pid in sorted(self.seen_pids):
            try:
                proc = psutil.Process(pid)
                if proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{pid} {' '.join(proc.cmdline())[:120]}")
            except psutil.NoSuchProcess:
                pass
        return alive

    # --- the API, as the UI uses it ---------------------------------------------------------
    def call(self, coroutine_function, *args: Any) -> Any:
        """Run `coroutine_function(client, *args)` with a Prefect client of this server (in a thread
        of its own: Playwright's sync API keeps an event loop running in this one)."""
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        async def main():
            with temporary_settings(updates={PREFECT_API_URL: self.api_url}):
                async with get_client() as client:
                    return await coroutine_function(client, *args)

        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as thread:
            return thread.submit(asyncio.run, main()).result()

    def custom_run(self, deployment: str, parameters: dict[str, Any]):
        """What the UI's Run > Custom run does: a flow run of the deployment with these parameters."""

        async def create(client):
            found = await client.read_deployment_by_name(deployment)
            return await client.create_flow_run_from_deployment(found.id, parameters=parameters)

        return self.call(create)

    def wait_for_final(self, flow_run_ids: list, timeout: float = RUN_TIMEOUT) -> list:
        """The flow runs, once every one of them has reached a final state."""

        async def wait(client):
            deadline = time.monotonic() + timeout
            while True:
                runs = [await client.read_flow_run(run_id) for run_id in flow_run_ids]
                if all(run.state and run.state.is_final() for run in runs):
                    return runs
                if time.monotonic() > deadline:
                    raise TimeoutError(f"flow runs not finished after {timeout} s: {[r.state for r in runs]}")
                self.record_processes()
                await asyncio.sleep(0.5)

        return self.call(wait)

    def scheduled_runs(self, deployment: str, timeout: float = 60) -> list:
        """The deployment's upcoming runs, once the server's scheduler has made them (seconds
        after `prefect deploy`; a page opened before that does not show them until reloaded)."""

        async def wait(client):
            found = await client.read_deployment_by_name(deployment)
            deadline = time.monotonic() + timeout
            while True:
                runs = await client.get_scheduled_flow_runs_for_deployments(
                    [found.id], scheduled_before=dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
                )
                if runs or time.monotonic() > deadline:
                    return runs
                await asyncio.sleep(0.5)

        return self.call(wait)
