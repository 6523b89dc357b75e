"""The warehouse analysts rely on: atomic publish, readers never blocked, history, 1.x readers."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import query, run_flow, table_contents
from tongket.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _inbox_without(sample: Path, target: Path, missing: str) -> Path:
    """A copy of the sample's inbox lacking one file (added later to make a change)."""
    inbox = target / "inbox"
    shutil.copytree(sample / "inbox", inbox)
    (inbox / missing).unlink()
    return inbox


def _some_file(sample: Path) -> str:
    return sorted(p.name for p in (sample / "inbox").iterdir())[0]


@pytest.fixture
def published_without_one(demo_sample, tmp_path, prefect_server):
    """A published warehouse built from the demo inbox minus one file, and that file's name."""
    missing = _some_file(demo_sample)
    inbox = _inbox_without(demo_sample, tmp_path, missing)
    result = run_flow(demo_sample, tmp_path, inbox=inbox)
    assert result.published
    return tmp_path, inbox, missing


READER = r"""
import sys, duckdb
path = sys.argv[1]
con = duckdb.connect(path, read_only=True)
count = lambda c: c.execute("select count(*) from submission").fetchall()[0][0]
print("before", count(con), flush=True)
sys.stdin.readline()                      # the run happens now
print("same-connection", count(con), flush=True)
con.close()
con = duckdb.connect(path, read_only=True)
print("reconnected", count(con), flush=True)
"""


def test_a_reader_neither_blocks_a_run_nor_sees_it_until_it_reconnects(demo_sample, published_without_one):
    work, inbox, missing = published_without_one
    warehouse = work / "tongket.duckdb"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(warehouse)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().split() == ["before", "44"]
        shutil.copy2(demo_sample / "inbox" / missing, inbox / missing)
        result = run_flow(demo_sample, work, inbox=inbox)  # the reader holds its connection meanwhile
        assert result.published
        reader.stdin.write("go\n")
        reader.stdin.flush()
        assert reader.stdout.readline().split() == ["same-connection", "44"]
        assert reader.stdout.readline().split() == ["reconnected", "45"]
    finally:
        reader.kill()
        reader.wait()


def _killed_run(point: str, work: Path, inbox: Path, registry: Path) -> subprocess.CompletedProcess:
    """`tongket run` in its own process, killed (SIGKILL) when it reaches `point`."""
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ, TONGKET_FAULT=f"kill@{point}", PREFECT_API_URL=PREFECT_API_URL.value())
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tongket.cli",
            "run",
            "--inbox",
            str(inbox),
            "--registry",
            str(registry),
            "--warehouse",
            str(work / "tongket.duckdb"),
            "--outputs",
            str(work / "outputs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("point", ["read", "load", "marts", "awards", "before-publish"])
def test_a_run_killed_at_any_point_leaves_the_published_warehouse_untouched(point, demo_sample, published_without_one):
    work, inbox, missing = published_without_one
    warehouse = work / "tongket.duckdb"
    before = _sha(warehouse)
    shutil.copy2(demo_sample / "inbox" / missing, inbox / missing)
    killed = _killed_run(point, work, inbox, demo_sample / "registry.csv")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert _sha(warehouse) == before
    result = run_flow(demo_sample, work, inbox=inbox)
    assert result.published
    assert query(warehouse, "select count(*) as n from submission")["n"][0] == 45
    assert not list(work.glob("*.building.duckdb*"))


def test_a_run_killed_while_writing_its_outputs_has_them_written_by_the_next(demo_sample, published_without_one):
    from tasks.reports import REPORT_FILE, latest_run_id

    work, inbox, missing = published_without_one
    warehouse = work / "tongket.duckdb"
    first_run = latest_run_id(work / "outputs")
    shutil.copy2(demo_sample / "inbox" / missing, inbox / missing)
    killed = _killed_run("outputs", work, inbox, demo_sample / "registry.csv")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    # published before the kill: the new warehouse whole, the previous run's outputs whole
    published_run = query(warehouse, "select run_id from ref_run_config")["run_id"][0]
    assert published_run != first_run
    assert query(warehouse, "select count(*) as n from submission")["n"][0] == 45
    assert latest_run_id(work / "outputs") == first_run
    again = run_flow(demo_sample, work, inbox=inbox)  # no new file: it runs for the outputs
    assert again.published
    assert latest_run_id(work / "outputs") == again.run_id
    assert (work / "outputs" / "latest" / REPORT_FILE).is_file()


def test_a_warehouse_failing_its_checks_is_not_published(demo_sample, published_without_one):
    from tasks import steps
    from tongket.errors import PublishError
    from tongket.run_parameters import RunParameters

    work, inbox, _ = published_without_one
    warehouse = work / "tongket.duckdb"
    before = _sha(warehouse)
    building = work / "tongket.building.duckdb"
    shutil.copy2(warehouse, building)
    with duckdb.connect(str(building)) as con:  # one unit's figures lost, another's counted twice
        lost, doubled = con.execute(
            "select unit_code from submission where status = 'accepted' order by unit_code limit 2"
        ).fetchall()
        con.execute("delete from fact_indicator where unit_code = ?", [lost[0]])
        con.execute("insert into fact_indicator select * from fact_indicator where unit_code = ? limit 1", [doubled[0]])
    params = RunParameters(
        inbox=str(inbox),
        registry=str(demo_sample / "registry.csv"),
        warehouse=str(warehouse),
        outputs=str(work / "outputs"),
    )
    ctx = steps.prepare_run_task.fn(params)
    with pytest.raises(PublishError) as refused:
        steps.check_and_publish_task.fn(ctx, building)
    failing = re.findall(r"(check_\w+) \((\d+) rows\)", str(refused.value))
    # both units' reports no longer have exactly their staged figures; one figure is doubled
    assert dict(failing) == {"check_accepted_figures_loaded": "2", "check_fact_indicator_unique": "1"}
    assert _sha(warehouse) == before


def test_a_published_file_held_open_on_windows_is_refused_with_a_clear_error(tmp_path, monkeypatch):
    from tasks import publish
    from tongket.errors import PublishError

    built, published = tmp_path / "new.duckdb", tmp_path / "tongket.duckdb"
    for path, run in ((built, "new"), (published, "old")):
        with duckdb.connect(str(path)) as con:
            con.execute("create table meta_warehouse as select ? as value", [run])

    def held_open(source, target):  # what Windows answers while a reader has `target` open
        raise PermissionError(13, "The process cannot access the file", str(target))

    monkeypatch.setattr(publish.os, "replace", held_open)
    with pytest.raises(PublishError, match="another program has it open .* unchanged"):
        publish.publish(built, published)
    assert query(published, "select value from meta_warehouse")["value"][0] == "old"


def test_one_changed_file_changes_only_its_units_figures(demo_sample, tmp_path, prefect_server):
    import openpyxl

    inbox = tmp_path / "inbox"
    shutil.copytree(demo_sample / "inbox", inbox)
    run_flow(demo_sample, tmp_path, inbox=inbox)
    warehouse = tmp_path / "tongket.duckdb"
    before = table_contents(warehouse)["fact_indicator"]
    target = next(p for p in sorted(inbox.iterdir()))
    book = openpyxl.load_workbook(target)
    sheet = book["01_PBGDPL"]
    row = next(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 2).value == "PB_CUOC")
    old_value = sheet.cell(row, 6).value  # 2018
    sheet.cell(row, 6).value = old_value + 1
    sheet.cell(row, 7).value = sheet.cell(row, 7).value  # unchanged neighbour
    info = book["00_THONGTIN"]
    date_row = next(r for r in range(1, info.max_row + 1) if info.cell(r, 1).value == "Ngày lập báo cáo")
    import datetime as dt

    info.cell(date_row, 2).value = dt.datetime(2021, 8, 25)
    corrected = inbox / "ban-sua.xlsx"
    book.save(corrected)
    unit = query(warehouse, "select unit_code from submission where file_name = ?", [target.name])["unit_code"][0]
    run_flow(demo_sample, tmp_path, inbox=inbox)
    after = table_contents(warehouse)["fact_indicator"]
    changed = before.merge(after, on=["unit_code", "indicator_code", "period"], suffixes=("_old", "_new"))
    value_changed = changed[
        (changed["value_old"] != changed["value_new"]) & ~(changed["value_old"].isna() & changed["value_new"].isna())
    ]
    assert value_changed[["unit_code", "indicator_code", "period"]].values.tolist() == [[unit, "PB_CUOC", 2018]]
    assert value_changed["value_new"].iloc[0] == old_value + 1
    file_changed = changed[changed["file_sha256_old"] != changed["file_sha256_new"]]
    assert set(file_changed["unit_code"]) == {unit}
    history = query(
        warehouse,
        "select submission_status, value from fact_indicator_history "
        "where unit_code = ? and indicator_code = 'PB_CUOC' and period = 2018 order by received_at",
        [unit],
    )
    assert sorted(history.itertuples(index=False)) == sorted([("superseded", old_value), ("accepted", old_value + 1)])
    issues = query(
        warehouse, "select rule_id, message from validation_issue where unit_code = ? and rule_id = 'R20'", [unit]
    )
    assert issues["message"].tolist() == [f"Báo cáo này thay thế báo cáo đã nộp trước đó: thay thế tệp {target.name}"]


def test_published_file_opens_in_duckdb_1x(demo_sample, tmp_path, prefect_server):
    side = os.environ.get("TONGKET_DUCKDB_1X_PATH")
    if not side or not Path(side, "duckdb").is_dir():
        pytest.skip("DuckDB 1.4 side install missing: run the suite with `python3 scripts/test.py`")
    run_flow(demo_sample, tmp_path)
    script = (
        "import sys, duckdb; "
        "con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(duckdb.__version__, con.execute('select count(*) from fact_indicator').fetchall()[0][0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "tongket.duckdb")],
        env=dict(os.environ, PYTHONPATH=side),
        capture_output=True,
        text=True,
        check=True,
    )
    version, rows = done.stdout.split()
    assert version.startswith("1.4")
    assert int(rows) == 4350


def _readme_queries() -> list[tuple[str, str]]:
    text = (PROJECT_ROOT / "warehouse" / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^#### (.+?)\n+```sql\n(.*?)```", text, flags=re.S | re.M)


def test_the_analysts_readme_has_at_least_eight_example_queries():
    assert len(_readme_queries()) >= 8


@pytest.fixture(scope="module")
def demo_warehouse(demo_sample, tmp_path_factory, prefect_server) -> Path:
    work = tmp_path_factory.mktemp("readme")
    run_flow(demo_sample, work)
    return work / "tongket.duckdb"


@pytest.mark.parametrize("title,sql", _readme_queries(), ids=[t for t, _ in _readme_queries()])
def test_every_example_query_of_the_analysts_readme_returns_rows(title, sql, demo_warehouse):
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        rows = con.execute(sql).fetchall()
    assert rows, title


def test_every_table_is_documented_for_the_analysts(demo_warehouse):
    text = (PROJECT_ROOT / "warehouse" / "README.md").read_text(encoding="utf-8")
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        tables = [r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()]
    undocumented = [t for t in tables if not re.search(rf"`{t}[`(]", text)]
    assert undocumented == []
