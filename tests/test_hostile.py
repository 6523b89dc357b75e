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
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tasks.feedback import TOO_LARGE_TO_COPY
from tasks.ingest import WorkbookToRead
from tests.conftest import query, run_flow
from tests.hostile_files import HOSTILE, NOT_A_FILE, R16, huge_merge, lying_dimension, make_fifo
from tests.measure import TreeSampler
from tests.workbooks import set_figure
from tongket.sample.book_model import book_from_report, write_book
from tongket.sample.content import generate_unit_report

# What the hostile files may add to a run over the good files alone (measured here: a few
# seconds and ~300 MB, the reader children refusing the big allocations; see RELIABILITY.md).
EXTRA_SECONDS = 45
EXTRA_PEAK_MB = 1200
LATE = 1_630_000_000  # 2021-08-26 17:46 in Vietnam: after the demo deadline (2021-08-20)


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


def _with_count_typed_as_text(demo: Path, path: Path) -> None:
    """Rewrite the unit's workbook with one count typed as `N cuộc` (read as N, with a warning)."""
    registry = pd.read_csv(demo / "registry.csv", dtype=str)
    unit = registry.loc[registry["unit_code"] == _unit_of(path)].iloc[0].to_dict()
    unit["population"] = int(unit.get("population") or 0)
    report = generate_unit_report(unit, 7, "Huyện Lạc Sơn")
    book = book_from_report(report)
    set_figure(book, "01_PBGDPL", "PB_CUOC", 2020, f"{int(report.figures[('PB_CUOC', 2020)])} cuộc")
    write_book(book, path)


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
    _with_count_typed_as_text(demo, files[4])  # something to fix: a late file alone gets no feedback
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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
    # every output stays in the run's folder: feedback files are named from unit codes and
    # folded names, never from a path a unit typed
    run_dir = max((hostile_run.work / "hostile" / "outputs").glob("2*"))
    feedback = list((run_dir / "phan-hoi").iterdir())
    assert feedback and all(p.is_file() and p.parent == run_dir / "phan-hoi" for p in feedback)
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+", p.name) for p in feedback), [p.name for p in feedback]


@pytest.mark.slow
def test_time_and_memory_stay_bounded(hostile_run):
    base, hostile = hostile_run.baseline, hostile_run.hostile
    print(
        f"\nbaseline {base.seconds:.1f} s, peak {base.peak_mb:.0f} MB; "
        f"hostile {hostile.seconds:.1f} s, peak {hostile.peak_mb:.0f} MB"
    )
    assert hostile.seconds < base.seconds + EXTRA_SECONDS
    assert hostile.peak_mb < base.peak_mb + EXTRA_PEAK_MB


@pytest.mark.slow
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
    # '14 cuộc' is read as 14 (R14 warning); Excel's SUM skipped the text, so the Tổng differs (R11)
    assert sorted(issues["rule_id"]) == ["R11", "R14", "R18"]


# --- the pieces, one by one -----------------------------------------------------------------------------
@pytest.mark.parametrize("chunk", [1 << 20, 7, 3])
def test_sheet_extent_reads_addresses_across_chunks(chunk, monkeypatch):
    import io

    import tasks.read

    monkeypatch.setattr(tasks.read, "_SCAN_CHUNK", chunk)
    cases = {
        b'<row r="3"><c r="B3"/><c/></row><row><c/></row>': (4, 3),  # cells without addresses follow
        b'<x:row r="2"><x:c r="AA2" t="s"/></x:row>': (2, 27),  # a namespace prefix
        b'<c r="A1" d="x>y"/><c x=" r=\'A1\'" r="XFD1048576"/>': (1048576, 16384),  # '>' and r= in values
        b'<mergeCells><mergeCell ref="A1:XFD1048576"/></mergeCells>': (1048576, 16384),
        b'<hyperlinks><hyperlink display="a>b" ref="C1:D9"/></hyperlinks><cols><col min="1" max="16384"/></cols>': (
            9,
            4,
        ),
        b'<row r="1048576"/>': (0, 0),  # a row with no cell builds nothing
        b'<c r="ZZZZZZ1"/>': (1 << 40, 1 << 40),  # an address no sheet has
    }
    for xml, extent in cases.items():
        assert tasks.read.sheet_extent(io.BytesIO(xml)) == extent, xml


def test_an_entity_declaration_is_found_in_any_encoding_and_any_member(tmp_path):
    import zipfile

    from tasks.guard import guard_file
    from tongket.settings import load_settings

    declared = "tệp chứa khai báo thực thể XML (<!ENTITY>), bảng tính thật không có; có thể là tệp độc hại"
    xml = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><workbook/>'
    for encoding, method in (
        ("utf-8", zipfile.ZIP_DEFLATED),
        ("utf-16-le", zipfile.ZIP_DEFLATED),
        ("utf-8", zipfile.ZIP_STORED),
    ):
        path = tmp_path / f"{encoding}-{method}.xlsx"
        with zipfile.ZipFile(path, "w", method) as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr("xl/workbook.xml", xml.encode(encoding))
        assert guard_file(path, load_settings().limits).problem == declared, path.name
    # a document type without entities (old OpenOffice manifests have one) is harmless
    with zipfile.ZipFile(tmp_path / "doctype.xlsx", "w") as archive:
        archive.writestr("[Content_Types].xml", '<!DOCTYPE Types PUBLIC "-//x//DTD y//EN" "y.dtd"><Types/>')
        archive.writestr("xl/workbook.xml", "<workbook/>")
    assert guard_file(tmp_path / "doctype.xlsx", load_settings().limits).file_format == "xlsx"


def test_a_symlinked_folder_is_listed_not_followed(tmp_path):
    from tasks.archive import archive_file
    from tasks.discover import list_inbox

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "bao-cao.xlsx").write_bytes(b"PK\x03\x04 secret")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "thu-muc").symlink_to(outside, target_is_directory=True)
    (listed,) = list_inbox(inbox)
    assert (listed.file_name, listed.is_regular) == ("thu-muc", False)
    archived = archive_file(listed, tmp_path / "archive", 10**6)
    assert (archived.archive_path, archived.problem) == (None, NOT_A_FILE)
    assert not (tmp_path / "archive").exists() or not any((tmp_path / "archive").rglob("*"))


def test_a_workbook_needing_more_memory_than_the_reader_may_use_is_rejected(tmp_path):
    """The reader child's address space is capped: a 5 KB .ods that expands to 40 million
    cells fails its allocation in the child, which is rejected alone; the next workbook is
    read by a new child."""
    from tasks.reader_process import IsolatedReader, out_of_memory_message
    from tests.hostile_files import ods_repeated_rows
    from tests.workbooks import AGENCY, book_for, ingest_context

    def item_for(path: Path) -> WorkbookToRead:
        return WorkbookToRead(hashlib.sha256(path.read_bytes()).hexdigest(), path.name, str(path))

    _, book = book_for(AGENCY)
    good = write_book(book, tmp_path / "good.ods")
    bomb = ods_repeated_rows(good, tmp_path / "bomb.ods")
    assert bomb.stat().st_size < 20_000
    with IsolatedReader(timeout_seconds=60, memory_mb=1024) as reader:
        rejected = reader.stage(item_for(bomb), ingest_context())
        read = reader.stage(item_for(good), ingest_context())
        assert reader.children_started == 2
    assert [i.message for i in rejected.issues] == [R16 + out_of_memory_message(1024)]
    assert read.file["read_status"] == "readable" and len(read.figures) == 148
