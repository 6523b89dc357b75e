"""Shared fixtures: a Prefect test server for the session, demo inboxes, a flow runner."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

DEMO_DISTRICT = 157  # Huyện Lạc Sơn, Tỉnh Hoà Bình


def pytest_collection_modifyitems(items):
    """Tests of the office server (marked `server`) run last and together: they share one
    `tongket serve`, which then does not run (and take CPU) during the other tests."""
    items.sort(key=lambda item: item.get_closest_marker("server") is not None)


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect API for every flow test of the session (it takes seconds to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def demo_sample(tmp_path_factory) -> Path:
    """A clean demo sample (registry, inbox, expected figures) of the demo district, made once."""
    from tongket.sample.generate import generate_sample

    out = tmp_path_factory.mktemp("demo")
    generate_sample(DEMO_DISTRICT, out, seed=7)
    return out


def run_flow(sample: Path, work: Path, **options):
    """Run the real flow on a sample folder, with the warehouse and outputs under `work`."""
    from flows.tongket_flow import tongket_run
    from tongket.run_parameters import RunParameters

    return_state = options.pop("return_state", False)
    params = RunParameters(
        inbox=str(options.pop("inbox", sample / "inbox")),
        registry=str(options.pop("registry", sample / "registry.csv")),
        warehouse=str(work / "tongket.duckdb"),
        outputs=str(work / "outputs"),
        **options,
    )
    return tongket_run(params, return_state=return_state)


def query(warehouse: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).df()


def table_contents(
    warehouse: Path, skip: tuple[str, ...] = ("meta_warehouse", "ref_run_config")
) -> dict[str, pd.DataFrame]:
    """Every table of a warehouse (but run metadata), sorted, for comparing two builds."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [r[0] for r in con.execute("select table_name from information_schema.tables order by 1").fetchall()]
        out = {}
        for name in names:
            if name in skip:
                continue
            frame = con.sql(f"select * from {name}").df()
            for column in frame.columns:  # lists (e.g. legal_access_years) are not sortable
                if frame[column].map(lambda v: hasattr(v, "__len__") and not isinstance(v, str)).any():
                    frame[column] = frame[column].map(lambda v: str(list(v)))
            out[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
        return out


@pytest.fixture(scope="session")
def outputs_run(demo_sample, tmp_path_factory, prefect_server):
    """The demo inbox with the cases outputs must handle (tests/outputs_inbox.py), run once.

    Returns (work folder, the planted cases, the flow run id, the run's output folder).
    """
    from flows.tongket_flow import tongket_run
    from tests.outputs_inbox import make_outputs_inbox
    from tongket.run_parameters import RunParameters

    work = tmp_path_factory.mktemp("outputs")
    planted = make_outputs_inbox(demo_sample, work)
    params = RunParameters(
        inbox=str(planted.sample / "inbox"),
        registry=str(planted.sample / "registry.csv"),
        warehouse=str(work / "tongket.duckdb"),
        outputs=str(work / "outputs"),
    )
    state = tongket_run(params, return_state=True)
    result = state.result()
    return work, planted, state.state_details.flow_run_id, work / "outputs" / result.run_id


@pytest.fixture(scope="session")
def office_server(tmp_path_factory):
    """`tongket serve` on a free loopback port with a temporary PREFECT_HOME, started on first use
    (`office_server.running()`), stopped with Ctrl-C at the end; nothing it started may be left."""
    from tests.office_server import OfficeServer

    server = OfficeServer(tmp_path_factory.mktemp("prefect-home"))
    yield server
    server.stop()
    leftovers = server.leftover_processes()
    assert not leftovers, f"tongket serve left processes behind: {leftovers}"
