"""Hostile and broken files through the real flow, in one inbox with the good files.

Every hostile file is rejected with its own Vietnamese R16 message; nothing outside the inbox
is read; the run's wall time and the peak memory of its whole process tree (this process, the
Prefect test server, the reader children) stay within stated bounds of a run over the good
files alone; and every good file loads exactly as a run without the hostile files loads it.

The caps (config/tongket.toml [limits]): file 20 MB, 400 zip entries, 150 MB inflated,
compression ratio 250 (members over 1 MB), contract sheets 2000 rows x 200 columns (measured
from the XML before an .xlsx is opened), 60 s and 1024 MB of address space per workbook read.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import psutil
import pytest

from tasks.feedback import TOO_LARGE_TO_COPY
from tests.conftest import query, run_flow
from tests.hostile_files import HOSTILE, NOT_A_FILE, R16, huge_merge, lying_dimension, make_fifo
from tongket.sample.book_model import book_from_report, write_book
from tongket.sample.content import generate_unit_report

pytestmark = pytest.mark.slow

# What the hostile files may add to a run over the good files alone (measured here: a few
# seconds and ~300 MB, the reader children refusing the big allocations; see RELIABILITY.md).
EXTRA_SECONDS = 45
EXTRA_PEAK_MB = 1200
LATE = 1_630_000_000  # 2021-08-26 17:46 in Vietnam: after the demo deadline (2021-08-20)


class TreeSampler:
    """Wall time and the peak summed RSS of this process and all its descendants."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak_mb = 0.0
        self.seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _tree_rss(self) -> int:
        me = psutil.Process()
        total = 0
        for process in [me, *me.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._tree_rss() / 2**20)
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeSampler:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.seconds = time.monotonic() - self._started


@dataclass
class HostileRun:
    work: Path
    inbox: Path
    outside: Path
    baseline: TreeSampler
    hostile: TreeSampler
    good_names: list[str]
    left_out_unit: str
    late_unit: str
    plain_unit: str

    @property
    def warehouse(self) -> Path:
        return self.work / "hostile" / "tongket.duckdb"


def _unit_of(path: Path) -> str:
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_path(str(path))
    rows = book.get_sheet_by_name("00_THONGTIN").to_python(skip_empty_area=False)
    book.close()
    return next(str(r[1]) for r in rows if r and r[0] == "Mã đơn vị")


def _good_inbox(demo: Path, inbox: Path, outside: Path) -> tuple[list[str], str, str, str]:
    """The demo inbox with one unit's file taken out (it becomes the symlinks' target), one
    good file in a subfolder, one under a name with control characters, one whose sheet
    dimension lies, one sent late whose extra sheet has a merged range to XFD1048576."""
    shutil.copytree(demo / "inbox", inbox, copy_function=shutil.copy2)
    files = sorted(inbox.iterdir())
    left_out = files[0]
    shutil.move(left_out, outside / left_out.name)
    subfolder = inbox / "gửi lại" / "xã"
    subfolder.mkdir(parents=True)
    shutil.move(files[1], subfolder / files[1].name)
    shutil.move(files[2], inbox / "bao\tcao\x01 (ban\x7fcuoi).xlsx")
    stat = files[3].stat()
    lying_dimension(files[3], files[3].with_suffix(".tmp"))
    os.replace(files[3].with_suffix(".tmp"), files[3])
    os.utime(files[3], ns=(stat.st_atime_ns, stat.st_mtime_ns))
    huge_merge(files[4], files[4].with_suffix(".tmp"), sheet="HUONG_DAN")
    os.replace(files[4].with_suffix(".tmp"), files[4])
    os.utime(files[4], (LATE, LATE))
    names = sorted(p.relative_to(inbox).as_posix() for p in inbox.rglob("*") if p.is_file())
    return names, _unit_of(outside / left_out.name), _unit_of(files[4]), _unit_of(files[3])


@pytest.fixture(scope="module")
def hostile_run(demo_sample, tmp_path_factory, prefect_server) -> HostileRun:
    work = tmp_path_factory.mktemp("hostile")
    outside = work / "outside"
    outside.mkdir()
    good = work / "good-inbox"
    good_names, left_out_unit, late_unit, plain_unit = _good_inbox(demo_sample, good, outside)

    with TreeSampler() as baseline:
        assert run_flow(demo_sample, work / "baseline", inbox=good).published

    inbox = work / "inbox"
    shutil.copytree(good, inbox, copy_function=shutil.copy2)
    sample_xlsx = sorted((demo_sample / "inbox").iterdir())[5]
    sample_ods = write_book(
        book_from_report(
            generate_unit_report(
                {"unit_code": "00000", "unit_name": "Xã Mẫu", "unit_type": "commune", "population": 5000},
                1,
                "Huyện Lạc Sơn",
            )
        ),
        work / "mau.ods",
    )
    for case in HOSTILE:
        case.make(sample_xlsx, sample_ods, inbox / case.name)
    secret = outside / next(outside.glob("*.xlsx")).name
    (inbox / "lien-ket.xlsx").symlink_to(secret)
    (inbox / "thu-muc-lien-ket").symlink_to(outside, target_is_directory=True)
    make_fifo(inbox / "ong-dan.xlsx")

    with TreeSampler() as hostile:
        assert run_flow(demo_sample, work / "hostile", inbox=inbox).published
    return HostileRun(work, inbox, outside, baseline, hostile, good_names, left_out_unit, late_unit, plain_unit)


def test_each_hostile_file_is_rejected_with_its_own_r16_message(hostile_run):
    issues = query(hostile_run.warehouse, "select file_name, rule_id, severity, message from validation_issue")
    rejected = {
        name: sorted(group[["rule_id", "severity", "message"]].itertuples(index=False, name=None))
        for name, group in issues.groupby("file_name")
        if name not in hostile_run.good_names
    }
    shown = {
        case.name.replace("\x07", "\\x07").replace("\x1b", "\\x1b").replace("\n", "\\x0a"): case for case in HOSTILE
    }
    expected = {name: [("R16", "error", R16 + case.detail)] for name, case in shown.items()}
    for name in ("lien-ket.xlsx", "thu-muc-lien-ket", "ong-dan.xlsx"):
        expected[name] = [("R16", "error", R16 + NOT_A_FILE)]
    assert rejected == expected


def test_every_good_file_loads_as_it_does_without_the_hostile_ones(hostile_run, demo_sample):
    warehouse = hostile_run.warehouse
    baseline = hostile_run.work / "baseline" / "tongket.duckdb"
    sql = "select unit_code, indicator_code, period, value, value_status from fact_indicator order by all"
    assert query(warehouse, sql).equals(query(baseline, sql))
    accepted = query(warehouse, "select file_name from submission where status = 'accepted' order by file_name")
    assert accepted["file_name"].tolist() == sorted(
        n.replace("\t", "\\x09").replace("\x01", "\\x01").replace("\x7f", "\\x7f") for n in hostile_run.good_names
    )
    assert len(accepted) == 44
    status = query(warehouse, "select status, count(*) as n from mart_submission_status group by status order by 1")
    assert status.values.tolist() == [["accepted", 44], ["missing", 1]]
    missing = query(warehouse, "select unit_code from mart_submission_status where status = 'missing'")
    assert missing["unit_code"].tolist() == [hostile_run.left_out_unit]
    # the figures are the generator's own, exactly
    expected = pd.read_csv(demo_sample / "expected_figures.csv", dtype={"unit_code": str})
    expected = expected[expected["unit_code"] != hostile_run.left_out_unit]
    loaded = query(warehouse, "select unit_code, indicator_code, period, value from fact_indicator")
    loaded = loaded[loaded["unit_code"] != hostile_run.left_out_unit]
    merged = expected.merge(loaded, on=["unit_code", "indicator_code", "period"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert (
        (merged["value_x"] - merged["value_y"]).abs().lt(1e-9) | (merged["value_x"].isna() & merged["value_y"].isna())
    ).all()
    assert len(merged) == len(expected) == 4350 - 14 * 5  # the left-out agency reports 14 indicators


def test_nothing_outside_the_inbox_is_read_or_archived(hostile_run):
    secret = next(hostile_run.outside.glob("*.xlsx"))
    sha = hashlib.sha256(secret.read_bytes()).hexdigest()
    archive = hostile_run.work / "hostile" / "archive"
    archived = {hashlib.sha256(p.read_bytes()).hexdigest() for p in archive.rglob("*") if p.is_file()}
    assert sha not in archived
    assert not list(archive.rglob(f"{sha}*"))
    raw = query(hostile_run.warehouse, "select file_sha256 from raw_file")
    assert sha not in set(raw["file_sha256"])
    assert not Path("/tmp/tongket-zip-slip.txt").exists()


def test_time_and_memory_stay_bounded(hostile_run):
    base, hostile = hostile_run.baseline, hostile_run.hostile
    print(
        f"\nbaseline {base.seconds:.1f} s, peak {base.peak_mb:.0f} MB; "
        f"hostile {hostile.seconds:.1f} s, peak {hostile.peak_mb:.0f} MB"
    )
    assert hostile.seconds < base.seconds + EXTRA_SECONDS
    assert hostile.peak_mb < base.peak_mb + EXTRA_PEAK_MB


def test_a_late_file_with_a_huge_merged_range_gets_its_feedback_without_a_copy(hostile_run):
    import openpyxl

    from tasks.feedback import LIST_SHEET

    run_dir = max((hostile_run.work / "hostile" / "outputs").glob("2*"))
    (path,) = (run_dir / "phan-hoi").glob(f"{hostile_run.late_unit}_*.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [LIST_SHEET]
    assert TOO_LARGE_TO_COPY in book[LIST_SHEET]["A6"].value
    issues = query(
        hostile_run.warehouse, "select rule_id from validation_issue where unit_code = ?", [hostile_run.late_unit]
    )
    assert issues["rule_id"].tolist() == ["R18"]
