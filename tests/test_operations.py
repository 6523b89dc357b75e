"""Operations: the per-workbook time-out, how a run ends (Completed or Failed), one writer at a
time, what a rerun reads (unchanged files, only_units, force, rebuild_marts_only), and the
read fan-out on threads, a Dask cluster and a process pool giving the same warehouse."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from tasks.ingest import IngestContext, WorkbookToRead, stage_batch
from tasks.plan import plan_run
from tasks.reader_process import CRASHED_MESSAGE, IsolatedReader
from tasks.registry import read_registry
from tasks.steps import describe_files
from tests.conftest import DEMO_DISTRICT, query, table_contents
from tests.slow_workbook import slow_workbook
from tongket.run_parameters import RunParameters
from tongket.settings import PROJECT_ROOT, load_settings

VN = dt.timezone(dt.timedelta(hours=7))
R16 = "Tệp không đọc được hoặc không đúng mẫu"
TIMED_OUT_1S = (
    f"{R16}: đọc tệp quá 1 giây nên đã dừng; tệp có thể bị hỏng hoặc chứa quá nhiều công thức, "
    "đề nghị lưu lại tệp theo mẫu (chỉ giữ giá trị) và gửi lại"
)


# --- helpers ------------------------------------------------------------------------------
def copy_sample(sample: Path, dest: Path) -> Path:
    """A private copy of a sample (inbox files keep their times: they are the arrival times)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(sample / "registry.csv", dest / "registry.csv")
    shutil.copytree(sample / "inbox", dest / "inbox", copy_function=shutil.copy2)
    shutil.copy2(sample / "expected_figures.csv", dest / "expected_figures.csv")
    return dest


def item_for(path: Path) -> WorkbookToRead:
    import hashlib

    return WorkbookToRead(hashlib.sha256(path.read_bytes()).hexdigest(), path.name, str(path))


def ingest_context(sample: Path) -> IngestContext:
    settings = load_settings(registry=sample / "registry.csv")
    registry, registry_sha = read_registry(sample / "registry.csv")
    return IngestContext(
        registry, registry_sha, settings.district.name, settings.limits, settings.validation, "test-key"
    )


def run_state(sample: Path, work: Path, **options):
    """The flow run's final state (Completed or Failed), its result, or its exception."""
    from flows.tongket_flow import tongket_run

    params = RunParameters(
        inbox=str(sample / "inbox"),
        registry=str(sample / "registry.csv"),
        warehouse=str(work / "tongket.duckdb"),
        outputs=str(work / "outputs"),
        **options,
    )
    return tongket_run(params, return_state=True)


def figure(warehouse: Path, unit: str, indicator: str, period: int) -> float:
    frame = query(
        warehouse,
        "select value from fact_indicator where unit_code = ? and indicator_code = ? and period = ?",
        [unit, indicator, period],
    )
    return float(frame["value"][0])


def hold_lock(published: Path, seconds: float) -> subprocess.Popen:
    """Another process holding the warehouse's write lock for `seconds` (as a running run does);
    it prints `held` once it has the lock and writes the time it let go to `<lock>.released`."""
    code = (
        "import sys, time; from pathlib import Path; from tasks.publish import warehouse_lock, lock_path\n"
        "published = Path(sys.argv[1])\n"
        "with warehouse_lock(published, 0):\n"
        "    print('held', flush=True); time.sleep(float(sys.argv[2]))\n"
        "    lock_path(published).with_suffix('.released').write_text(repr(time.time()))\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(published), str(seconds)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


# --- the per-workbook time-out --------------------------------------------------------------
def test_a_workbook_that_takes_too_long_is_abandoned_and_the_others_are_read(demo_sample, tmp_path):
    inbox = sorted((demo_sample / "inbox").glob("*.xlsx"))
    items = [item_for(inbox[0]), item_for(slow_workbook(tmp_path / "bao cao cham.xlsx")), item_for(inbox[1])]
    ctx = ingest_context(demo_sample)
    started = time.monotonic()
    with IsolatedReader(timeout_seconds=1) as reader:
        batch = stage_batch(items, ctx, stage_one=reader.stage)
        assert reader.children_started == 2  # the first child was killed, a new one read on
    assert time.monotonic() - started < 8  # reading the slow workbook alone takes longer here

    files = batch.files.set_index("file_sha256")
    assert files.loc[items[1].file_sha256, "read_status"] == "rejected"
    issues = batch.issues[batch.issues["file_sha256"] == items[1].file_sha256]
    assert issues[["rule_id", "severity", "message"]].values.tolist() == [["R16", "error", TIMED_OUT_1S]]
    assert files.loc[[items[0].file_sha256, items[2].file_sha256], "read_status"].tolist() == ["readable"] * 2
    assert batch.figures["file_sha256"].isin([items[0].file_sha256, items[2].file_sha256]).all()
    assert len(batch.figures) == 2 * 148

    units = dict(zip(batch.files["file_sha256"], batch.files["unit_code"]))
    assert describe_files(batch, items) == [
        (logging.INFO, f"Read {items[0].file_name} (unit {units[items[0].file_sha256]}), 0 errors, 0 warnings"),
        (logging.WARNING, f"Rejected bao cao cham.xlsx (unit unidentified), 1 errors, 0 warnings: R16 {TIMED_OUT_1S}"),
        (logging.INFO, f"Read {items[2].file_name} (unit {units[items[2].file_sha256]}), 0 errors, 0 warnings"),
    ]


def test_a_reader_that_dies_rejects_only_that_workbook(demo_sample, tmp_path):
    """What the kernel's out-of-memory killer does to a reader: the workbook is rejected, the next
    one is read by a new child."""
    slow = item_for(slow_workbook(tmp_path / "bao cao cham.xlsx"))
    good = item_for(sorted((demo_sample / "inbox").glob("*.xlsx"))[0])
    ctx = ingest_context(demo_sample)
    with IsolatedReader(timeout_seconds=120) as reader:
        reader.stage(good, ctx)
        child = reader.pid

        def kill_soon():
            time.sleep(0.5)
            os.kill(child, signal.SIGKILL)

        killer = threading.Thread(target=kill_soon)
        killer.start()
        staged = reader.stage(slow, ctx)
        killer.join()
        assert [i.message for i in staged.issues] == [f"{R16}: {CRASHED_MESSAGE}"]
        assert staged.file["read_status"] == "rejected"
        again = reader.stage(good, ctx)
        assert again.file["read_status"] == "readable" and len(again.figures) == 148
        assert reader.children_started == 2 and reader.pid != child
        last = reader.pid
    assert not psutil.pid_exists(last) or psutil.Process(last).status() == psutil.STATUS_ZOMBIE


# --- how a run ends -------------------------------------------------------------------------
@pytest.mark.slow
def test_a_run_with_rejected_files_completes_and_reports_them(demo_sample, tmp_path, prefect_server, monkeypatch):
    sample = copy_sample(demo_sample, tmp_path / "sample")
    slow_workbook(sample / "inbox" / "bao cao cham.xlsx")
    (sample / "inbox" / "Báo cáo xã (bản PDF).xlsx").write_bytes(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n")
    monkeypatch.setenv("TONGKET_LIMITS_WORKBOOK_TIMEOUT_SECONDS", "1")
    state = run_state(sample, tmp_path / "work")
    assert state.is_completed(), state.message
    warehouse = tmp_path / "work" / "tongket.duckdb"
    rejected = query(
        warehouse,
        "select file_name, rule_id, message from validation_issue where severity = 'error' order by file_name",
    )
    assert rejected.values.tolist() == [
        [
            "Báo cáo xã (bản PDF).xlsx",
            "R16",
            f"{R16}: tệp PDF, không phải bảng tính Excel; đề nghị gửi tệp Excel theo mẫu",
        ],
        ["bao cao cham.xlsx", "R16", TIMED_OUT_1S],
    ]
    status = query(warehouse, "select status, count(*) as n from mart_submission_status group by status")
    assert dict(zip(status["status"], status["n"])) == {"accepted": 45}
    submissions = query(warehouse, "select status, count(*) as n from submission group by status")
    assert dict(zip(submissions["status"], submissions["n"])) == {"accepted": 45, "rejected": 2}


@pytest.mark.slow
def test_a_run_that_cannot_get_the_warehouse_fails_with_the_reason(demo_sample, tmp_path, prefect_server, monkeypatch):
    work = tmp_path / "work"
    published = work / "tongket.duckdb"
    monkeypatch.setenv("TONGKET_RUN_LOCK_WAIT_SECONDS", "1")
    holder = hold_lock(published, 30)
    try:
        state = run_state(demo_sample, work)
    finally:
        holder.kill()
        holder.wait()
    assert state.is_failed()
    assert re.fullmatch(
        rf"Flow run encountered an exception: WarehouseBusyError: The warehouse {re.escape(str(published))} is being "
        rf"written by pid {holder.pid} since \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d; waited 1 s\. "
        r"Try again when that run has finished\.",
        state.message,
    ), state.message
    assert not published.exists()


@pytest.mark.slow
def test_a_run_with_a_broken_registry_fails_before_reading(demo_sample, tmp_path, prefect_server):
    sample = copy_sample(demo_sample, tmp_path / "sample")
    (sample / "registry.csv").write_text("ma,ten\n1,x\n", encoding="utf-8")
    state = run_state(sample, tmp_path / "work")
    assert state.is_failed()
    assert state.message == (
        "Flow run encountered an exception: RegistryError: registry.csv: cần đúng các cột "
        "unit_code,unit_name,unit_type,population[,active]; thiếu unit_code, unit_name, unit_type, population; thừa ma, ten"
    )
    assert not (tmp_path / "work" / "tongket.duckdb").exists()


@pytest.mark.slow
def test_a_second_run_waits_for_the_first_to_finish_writing(demo_sample, tmp_path, prefect_server):
    work = tmp_path / "work"
    published = work / "tongket.duckdb"
    holder = hold_lock(published, 3)
    try:
        state = run_state(demo_sample, work)  # lock_wait_seconds = 600 (config/tongket.toml)
    finally:
        holder.wait()
    assert state.is_completed(), state.message
    released = float(published.with_name(published.name + ".released").read_text())
    assert published.stat().st_mtime >= released  # written only after the other run let go
    status = query(published, "select count(*) as n from mart_submission_status where status = 'accepted'")
    assert status["n"][0] == 45


# --- what a rerun reads ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def published_once(demo_sample, tmp_path_factory, prefect_server):
    """A copy of the demo sample, run once."""
    sample = copy_sample(demo_sample, tmp_path_factory.mktemp("once"))
    state = run_state(sample, sample / "work")
    assert state.is_completed(), state.message
    return sample


@pytest.mark.slow
def test_an_unchanged_file_is_not_opened_or_read_again(published_once):
    sample = published_once
    settings = load_settings(
        inbox=sample / "inbox", registry=sample / "registry.csv", warehouse=sample / "work" / "tongket.duckdb"
    )
    published_key = query(settings.paths.warehouse, "select value from meta_warehouse where key = 'staging_key'")
    key = published_key["value"][0]
    now = dt.datetime(2021, 9, 1, 2, 0)

    unchanged = plan_run(settings, key, now)
    assert (unchanged.inbox_count, unchanged.opened_files, len(unchanged.to_read)) == (45, 0, 0)
    assert len(unchanged.keep_staging_of) == 45

    touched = sorted((sample / "inbox").iterdir())[0]
    os.utime(touched, (time.time(), time.time()))  # copied again, same bytes: opened, hashed, not read
    after_touch = plan_run(settings, key, now)
    assert (after_touch.opened_files, len(after_touch.to_read), len(after_touch.new_raw_files)) == (1, 0, 0)

    forced = plan_run(settings, key, now, force=True)
    assert len(forced.to_read) == 45
    new_code = plan_run(settings, "another-code-version", now)
    assert len(new_code.to_read) == 45
    one_unit = plan_run(settings, key, now, force=True, only_units=[" 05266 "])
    assert [w.file_sha256 for w in one_unit.to_read] == query(
        settings.paths.warehouse, "select file_sha256 from stg_file where unit_code = '05266'"
    )["file_sha256"].tolist()


def write_correction(sample: Path, unit_code: str, indicator: str, period: int, delta: int) -> Path:
    """A unit's corrected workbook: one figure changed, reported a day later, arrived now."""
    from tongket.sample.content import generate_unit_report
    from tongket.sample.registry import district_info, registry_rows
    from tongket.workbook_writer import write_unit_workbook

    seed = 7  # the demo_sample's
    (unit,) = [u for u in registry_rows(DEMO_DISTRICT, seed) if u["unit_code"] == unit_code]
    report = generate_unit_report(unit, seed, district_info(DEMO_DISTRICT)[0])
    report.figures[(indicator, period)] += delta
    report.reported_on += dt.timedelta(days=1)
    path = write_unit_workbook(sample / "inbox" / f"{unit['unit_name']} (sửa).xlsx", report, protect=True)
    return path


@pytest.mark.slow
def test_rerun_options_after_a_correction(demo_sample, tmp_path, prefect_server):
    sample = copy_sample(demo_sample, tmp_path / "sample")
    work = tmp_path / "work"
    warehouse = work / "tongket.duckdb"
    assert run_state(sample, work).is_completed()
    commune, agency = "05266", "157-CQ06"
    before = {unit: figure(warehouse, unit, "TL_BAN", 2019) for unit in (commune, agency)}
    expected = pd.read_csv(sample / "expected_figures.csv", dtype={"unit_code": str})
    for unit in (commune, agency):  # the first run loaded exactly what the units wrote
        row = expected[(expected.unit_code == unit) & (expected.indicator_code == "TL_BAN") & (expected.period == 2019)]
        assert before[unit] == float(row["value"].iloc[0])
    corrected = {unit: write_correction(sample, unit, "TL_BAN", 2019, 7).name for unit in (commune, agency)}

    # Only the commune is reread: the agency's correction waits for a later run.
    assert run_state(sample, work, only_units=[commune]).is_completed()
    assert figure(warehouse, commune, "TL_BAN", 2019) == before[commune] + 7
    assert figure(warehouse, agency, "TL_BAN", 2019) == before[agency]
    raw = set(query(warehouse, "select file_name from raw_file")["file_name"])
    assert corrected[commune] in raw and corrected[agency] not in raw
    current = query(warehouse, "select unit_code, file_name from submission where is_current")
    assert dict(zip(current["unit_code"], current["file_name"]))[commune] == corrected[commune]

    # Rebuild marts only, with an earlier deadline: nothing is read, on-time is recomputed.
    deadline = dt.date(2021, 8, 10)
    assert run_state(sample, work, rebuild_marts_only=True, deadline=deadline).is_completed()
    assert corrected[agency] not in set(query(warehouse, "select file_name from raw_file")["file_name"])
    received = query(warehouse, "select received_at from submission where is_current")["received_at"]
    on_time = query(warehouse, "select count(*) filter (where on_time) as n from mart_submission_status")["n"][0]
    assert on_time == sum(moment.date() <= deadline for moment in received) < 45
    assert figure(warehouse, commune, "TL_BAN", 2019) == before[commune] + 7

    # The next ordinary run reads the agency's correction.
    assert run_state(sample, work).is_completed()
    assert figure(warehouse, agency, "TL_BAN", 2019) == before[agency] + 7
    statuses = query(warehouse, "select unit_code, status, count(*) as n from submission group by all order by all")
    assert statuses[statuses["unit_code"].isin([commune, agency])].values.tolist() == [
        ["05266", "accepted", 1],
        ["05266", "superseded", 1],
        ["157-CQ06", "accepted", 1],
        ["157-CQ06", "superseded", 1],
    ]


# --- the read fan-out on other task runners -------------------------------------------------
RUN_SPECIFIC_COLUMNS = {
    "raw_file": ["first_seen_at", "archive_path"],
    "raw_file_sighting": ["seen_at"],
}


def comparable(warehouse: Path) -> dict[str, pd.DataFrame]:
    """Every table, less the columns that record when and where a run happened."""
    tables = table_contents(warehouse)
    for name, columns in RUN_SPECIFIC_COLUMNS.items():
        tables[name] = tables[name].drop(columns=columns)
        tables[name] = tables[name].sort_values(list(tables[name].columns)).reset_index(drop=True)
    return tables


def assert_same_warehouse(left: Path, right: Path) -> None:
    a, b = comparable(left), comparable(right)
    assert a.keys() == b.keys()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


@pytest.fixture(scope="module")
def read_on_threads(demo_sample, tmp_path_factory, prefect_server):
    """The baseline: the demo sample read in batches of 8 on the default thread pool."""
    work = tmp_path_factory.mktemp("threads")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TONGKET_RUN_BATCH_SIZE", "8")
        state = run_state(demo_sample, work)
    assert state.is_completed(), state.message
    return work / "tongket.duckdb"


@pytest.mark.slow
def test_a_dask_cluster_reads_and_the_flow_process_writes_the_same_warehouse(
    demo_sample, tmp_path, read_on_threads, monkeypatch
):
    from distributed import Client, LocalCluster, get_task_stream

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster, set_as_default=False) as client,  # the run finds the cluster by its address
    ):
        monkeypatch.setenv("TONGKET_RUN_BATCH_SIZE", "8")
        monkeypatch.setenv("TONGKET_RUN_TASK_RUNNER", "dask")
        monkeypatch.setenv("TONGKET_RUN_DASK_ADDRESS", cluster.scheduler_address)
        with get_task_stream(client) as stream:
            state = run_state(demo_sample, tmp_path)
        assert state.is_completed(), state.message
        ran = [task["key"] for task in stream.data]
    # Six batches of at most 8 workbooks ran on the cluster; nothing else did (no warehouse write).
    assert len(ran) == 6 and all(str(key).startswith("read_and_validate_batch-") for key in ran), ran
    assert_same_warehouse(read_on_threads, tmp_path / "tongket.duckdb")


@pytest.mark.slow
def test_a_process_pool_reads_the_same_warehouse(demo_sample, tmp_path, read_on_threads, monkeypatch):
    monkeypatch.setenv("TONGKET_RUN_BATCH_SIZE", "23")  # two batches, one a process; the size changes nothing
    monkeypatch.setenv("TONGKET_RUN_TASK_RUNNER", "processes")
    state = run_state(demo_sample, tmp_path)
    assert state.is_completed(), state.message
    assert_same_warehouse(read_on_threads, tmp_path / "tongket.duckdb")


# --- the run's parameters and the serve command ---------------------------------------------
def test_empty_form_boxes_mean_the_configuration_and_codes_are_cleaned():
    params = RunParameters(inbox=" ", deadline="", only_units=[" 05266 ", "", "157-CQ06"])
    assert (params.inbox, params.deadline, params.only_units) == (None, None, ["05266", "157-CQ06"])
    assert RunParameters(deadline="2021-08-10").model_dump(mode="json") == {
        "deadline": "2021-08-10",
        "only_units": [],
        "force": False,
        "rebuild_marts_only": False,
    }


def test_the_custom_run_form_has_no_null_to_refuse():
    """The UI fills the form with the schema's defaults and refuses a null in a text box."""
    from prefect.utilities.callables import parameter_schema

    from flows.tongket_flow import tongket_run

    schema = parameter_schema(tongket_run.fn).model_dump()
    assert schema["properties"]["params"]["default"] == {"only_units": [], "force": False, "rebuild_marts_only": False}
    fields = schema["definitions"]["RunParameters"]["properties"]
    assert {name: field.get("type") for name, field in fields.items()} == {
        "inbox": "string",
        "registry": "string",
        "warehouse": "string",
        "outputs": "string",
        "deadline": "string",
        "only_units": "array",
        "force": "boolean",
        "rebuild_marts_only": "boolean",
    }
    assert all("default" not in fields[name] for name in ("inbox", "registry", "warehouse", "outputs", "deadline"))


def test_serve_refuses_a_port_in_use(tmp_path):
    from tongket.serve import ServeError, start_office_server

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServeError) as refused:
            start_office_server(tmp_path / "home", port, echo=lambda line: None)
    assert str(refused.value) == (
        f"port {port} on 127.0.0.1 is in use (is tongket serve already running?); choose --port"
    )
    assert not (tmp_path / "home" / "logs").exists()


@pytest.mark.slow
def test_an_older_report_arriving_later_does_not_supersede_the_newer(demo_sample, tmp_path, prefect_server):
    """Superseding is by report date first: a draft dated earlier, sent after the final
    report, stays in the history and the final report's figures stay current."""
    from tongket.sample.content import generate_unit_report
    from tongket.sample.registry import district_info, registry_rows
    from tongket.workbook_writer import write_unit_workbook

    sample = copy_sample(demo_sample, tmp_path / "sample")
    (unit,) = [u for u in registry_rows(DEMO_DISTRICT, 7) if u["unit_code"] == "05266"]
    draft = generate_unit_report(unit, 7, district_info(DEMO_DISTRICT)[0])
    final_value = draft.figures[("TL_BAN", 2019)]
    draft.figures[("TL_BAN", 2019)] += 11
    draft.reported_on -= dt.timedelta(days=3)
    path = write_unit_workbook(sample / "inbox" / "ban-nhap-cu.xlsx", draft, protect=True)
    later = max(p.stat().st_mtime for p in (sample / "inbox").iterdir()) + 3600
    os.utime(path, (later, later))  # the draft arrives after every final report
    work = tmp_path / "work"
    assert run_state(sample, work).is_completed()
    warehouse = work / "tongket.duckdb"
    statuses = query(warehouse, "select file_name, status from submission where unit_code = '05266' order by file_name")
    assert dict(zip(statuses["file_name"], statuses["status"]))["ban-nhap-cu.xlsx"] == "superseded"
    assert sorted(statuses["status"]) == ["accepted", "superseded"]
    current = query(
        warehouse,
        "select value from fact_indicator where unit_code = '05266' and indicator_code = 'TL_BAN' and period = 2019",
    )
    assert current["value"].tolist() == [final_value]
    history = query(
        warehouse,
        "select value from fact_indicator_history where unit_code = '05266' and indicator_code = 'TL_BAN' "
        "and period = 2019 order by value",
    )
    assert history["value"].tolist() == [final_value, final_value + 11]


@pytest.mark.slow
def test_nothing_is_lost_when_the_inbox_is_cleaned(demo_sample, tmp_path, prefect_server):
    """The raw archive keeps every file: a rebuild after the office emptied the inbox has the same figures."""
    sample = copy_sample(demo_sample, tmp_path / "sample")
    work = tmp_path / "work"
    warehouse = work / "tongket.duckdb"
    assert run_state(sample, work).is_completed()
    before = table_contents(warehouse)
    for path in (sample / "inbox").iterdir():
        path.unlink()
    state = run_state(sample, work, force=True)  # re-read every archived file
    assert state.is_completed() and state.result().published
    after = table_contents(warehouse)
    for table in ("submission", "fact_indicator", "fact_indicator_history", "validation_issue"):
        assert after[table].equals(before[table]), table
    assert query(warehouse, "select count(*) as n from submission where status = 'accepted'")["n"][0] == 45
