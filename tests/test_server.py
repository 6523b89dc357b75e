"""The office machine for real: `tongket serve` (Prefect server, work pool, `prefect deploy --all`
from prefect.yaml, a process worker), runs created through the API the way the UI's "Custom
run" creates them, the declared schedule as the server reports it, and a clean Ctrl-C."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time

import pytest
import yaml

from tests.conftest import query
from tests.slow_workbook import slow_workbook
from tongket.run_parameters import RunParameters
from tongket.settings import PROJECT_ROOT

pytestmark = [pytest.mark.server, pytest.mark.slow]

VN = dt.timezone(dt.timedelta(hours=7))


def paths_of(sample, work) -> dict[str, str]:
    return {
        "inbox": str(sample / "inbox"),
        "registry": str(sample / "registry.csv"),
        "warehouse": str(work / "tongket.duckdb"),
        "outputs": str(work / "outputs"),
    }


def declared_deployments() -> dict[str, dict]:
    declared = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    return {d["name"]: d for d in declared["deployments"]}


def test_a_custom_run_of_the_manual_deployment_publishes(office_server, demo_sample, tmp_path):
    server = office_server.running()
    deadline = dt.date(2021, 8, 10)
    run = server.custom_run(
        "tongket/tongket-manual", {"params": paths_of(demo_sample, tmp_path) | {"deadline": deadline.isoformat()}}
    )
    (finished,) = server.wait_for_final([run.id])
    assert finished.state.is_completed(), finished.state.message
    assert finished.parameters["params"]["deadline"] == "2021-08-10"

    warehouse = tmp_path / "tongket.duckdb"
    status = query(warehouse, "select status, count(*) as n from mart_submission_status group by status")
    assert dict(zip(status["status"], status["n"])) == {"accepted": 45}
    # The deadline typed in the form, not the configured one, decides who was on time.
    received = [
        dt.datetime.fromtimestamp(path.stat().st_mtime, VN).date() for path in (demo_sample / "inbox").iterdir()
    ]
    on_time = query(warehouse, "select count(*) filter (where on_time) as n from mart_submission_status")
    assert on_time["n"][0] == sum(day <= deadline for day in received)
    assert 0 < on_time["n"][0] < 45
    assert any((tmp_path / "outputs" / "latest").glob("*.xlsx"))


def test_the_nightly_and_a_manual_run_never_run_together(office_server, demo_sample, tmp_path):
    server = office_server.running()
    params = {"params": paths_of(demo_sample, tmp_path)}
    first = server.custom_run("tongket/tongket-nightly", params)
    second = server.custom_run("tongket/tongket-manual", params)
    runs = server.wait_for_final([first.id, second.id])
    assert all(run.state.is_completed() for run in runs), [run.state for run in runs]
    earlier, later = sorted(runs, key=lambda run: run.start_time)
    # The work pool runs one flow run at a time: the second started after the first had ended.
    assert later.start_time >= earlier.end_time
    status = query(
        tmp_path / "tongket.duckdb", "select count(*) as n from mart_submission_status where status = 'accepted'"
    )
    assert status["n"][0] == 45


def test_the_server_reports_the_declared_schedule_and_limits(office_server):
    server = office_server.running()

    async def read(client):
        nightly = await client.read_deployment_by_name("tongket/tongket-nightly")
        manual = await client.read_deployment_by_name("tongket/tongket-manual")
        pool = await client.read_work_pool("tongket-office")
        return nightly, manual, pool

    nightly, manual, pool = server.call(read)
    scheduled = server.scheduled_runs("tongket/tongket-nightly")
    declared = declared_deployments()["tongket-nightly"]["schedules"][0]
    assert declared == {"cron": "0 2 * * *", "timezone": "Asia/Ho_Chi_Minh", "active": True}
    (schedule,) = nightly.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == (
        "0 2 * * *",
        "Asia/Ho_Chi_Minh",
        True,
    )
    assert not nightly.paused
    assert manual.schedules == []
    assert nightly.work_pool_name == manual.work_pool_name == pool.name == "tongket-office"
    assert pool.type == "process"
    assert pool.concurrency_limit == 1
    assert nightly.global_concurrency_limit.limit == manual.global_concurrency_limit.limit == 1
    # The code runs in place: the pull step sets the working directory to this project.
    assert nightly.pull_steps == [{"prefect.deployments.steps.set_working_directory": {"directory": str(PROJECT_ROOT)}}]
    # 02:00 in Hanoi is 19:00 UTC the day before.
    assert len(scheduled) >= 3, "the scheduler made no runs for the nightly deployment"
    for run in scheduled:
        start = run.expected_start_time
        assert (start.astimezone(dt.UTC).hour, start.minute) == (19, 0)
        assert start.astimezone(VN).hour == 2


def test_the_custom_run_form_explains_every_parameter(office_server):
    server = office_server.running()

    async def read(client):
        return await client.read_deployment_by_name("tongket/tongket-manual")

    schema = server.call(read).parameter_openapi_schema
    fields = schema["definitions"]["RunParameters"]["properties"]
    expected = RunParameters.model_json_schema()["properties"]
    assert list(fields) == [
        "inbox",
        "registry",
        "warehouse",
        "outputs",
        "deadline",
        "only_units",
        "force",
        "rebuild_marts_only",
    ]
    for name, field in fields.items():
        assert field["title"] == expected[name]["title"]
        assert field["description"] == expected[name]["description"]
        assert len(field["description"]) > 40, name


def test_ctrl_c_during_a_run_stops_everything_and_leaves_the_schedule_on(office_server, demo_sample, tmp_path):
    """Last of this module: it stops the server (a later test would start a new one)."""
    server = office_server.running()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    slow_workbook(inbox / "bao cao cham.xlsx")  # keeps the run reading for seconds
    run = server.custom_run(
        "tongket/tongket-manual", {"params": paths_of(demo_sample, tmp_path) | {"inbox": str(inbox)}}
    )
    deadline = time.monotonic() + 120
    while not any("tasks.reader_process" in " ".join(p.cmdline()) for p in server.descendants()):
        assert time.monotonic() < deadline, "the run never started reading"
        time.sleep(0.2)
    assert len(server.seen_pids) >= 5  # server, worker, the run's supervisor and process, a reader

    code = server.stop()  # the worker may wait TONGKET_SERVE_STOP_SECONDS (3 here) for the run
    assert code == 0, "\n".join(server.output)
    assert server.output[-2:] == ["Stopping the worker and the server ...", "Stopped."]
    assert server.leftover_processes() == []
    assert not (tmp_path / "tongket.duckdb").exists()
    # Prefect's own database, read after the server stopped: the interrupted run says so, and
    # the nightly schedule is still on (stopping does not pause it).
    with sqlite3.connect(server.home / "prefect.db") as db:
        (state,) = db.execute(
            "select s.type, s.message from flow_run f join flow_run_state s on s.id = f.state_id where f.id = ?",
            [str(run.id)],
        ).fetchall()
        schedules = db.execute(
            "select d.name, d.paused, s.active from deployment d join deployment_schedule s on s.deployment_id = d.id"
        ).fetchall()
    assert state == ("CRASHED", "tongket serve was stopped during this run; nothing was published by it")
    assert schedules == [("tongket-nightly", 0, 1)]
