"""One deliberately bad workbook that breaks every rule a unit's file can break, run through
the whole flow with a few clean peers (R13 compares with them), its own earlier report (R20),
a late arrival (R18), an unknown unit (R15) and an unreadable file (R16); one test asserts the
whole issue list."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from tests.conftest import query, run_flow
from tests.workbooks import CT, HG, PB, UNITS, book_for, set_figure
from tongket.sample.book_model import Cell, fig_tag, write_book
from tongket.sample.messy import MINIMAL_PDF

pytestmark = pytest.mark.slow
VN = dt.timezone(dt.timedelta(hours=7))


def _arrived(path, day: int, hour: int = 9) -> None:
    stamp = dt.datetime(2021, 8, day, hour, tzinfo=VN).timestamp()
    os.utime(path, (stamp, stamp))


def _bad_workbook():
    """Xã Tân Lập's corrected report, which breaks every rule it can."""
    report, book = book_for("05287")
    report.reported_on = dt.date(2021, 8, 19)
    info = book.sheet("00_THONGTIN")
    info.put(*info.find(("info", "reported_on")), Cell(value="19/08/2021"))
    set_figure(book, PB, "TIN_BAI", 2018, -5)  # R01
    set_figure(book, PB, "PB_CUOC", 2019, 2000)  # R02: more sessions than attendances (1654)
    set_figure(book, PB, "PB_LUOT_DTTS", 2018, 1600)  # R03: above the 1530 attendances
    set_figure(book, PB, "THI_LUOT", 2018, 0)  # R04: two contests, no entries
    set_figure(book, PB, "TL_BAN", 2021, 5)  # R05: fewer copies than the 6 titles
    set_figure(book, HG, "HG_VV_THANH", 2019, 14)  # R06: 14 + 1 + 2 != 15
    set_figure(book, HG, "HG_HGV_NU", 2018, 70)  # R07: above the 66 mediators
    set_figure(book, HG, "HG_HGV", 2020, 30)  # R08: 11 groups need 33 mediators
    set_figure(book, CT, "CT_DIEM", 2019, 120)  # R09
    set_figure(book, CT, "CT_DAT", 2018, 1)  # R10: met the standard with 68.4 points
    pb = book.sheet(PB)
    pb.put(*pb.find(fig_tag(PB, "PB_LUOT", 0)), Cell(value=6000))  # R11: typed over the formula
    set_figure(book, PB, "BCV", 2019, 2)  # R12: an agency indicator
    set_figure(book, PB, "TIN_BAI", 2020, 900)  # R13: peers publish 10-40 a year
    set_figure(book, PB, "NPL_HD", 2019, "khoảng 8")  # R14
    set_figure(book, PB, "PT_LUOT", 2017, None)  # R17
    nominations = book.sheet("05_DEXUAT_KT")
    row = nominations.height
    nominations.put(row, 2, "Đinh Thị Hoa")  # R19: no kind
    return book


@pytest.fixture(scope="module")
def every_rule_run(tmp_path_factory, prefect_server):
    sample = tmp_path_factory.mktemp("every-rule")
    inbox = sample / "inbox"
    inbox.mkdir()
    (sample / "registry.csv").write_text(
        "unit_code,unit_name,unit_type,population\n"
        + "".join(f"{u['unit_code']},{u['unit_name']},{u['unit_type']},{u['population'] or ''}\n" for u in UNITS),
        encoding="utf-8",
    )
    for code in ("05266", "05344", "05347", "05290", "157-CQ01"):
        _arrived(write_book(book_for(code)[1], inbox / f"{code}.xlsx"), 12)
    _arrived(write_book(book_for("05287")[1], inbox / "tan lap.xlsx"), 12)  # its first report
    _arrived(write_book(_bad_workbook(), inbox / "tan lap - sua.xlsx"), 23)  # after the deadline
    stranger = book_for("05287")[1]
    info = stranger.sheet("00_THONGTIN")
    info.put(*info.find(("info", "unit_code")), "THCS-KD")
    info.put(*info.find(("info", "unit_name")), "Trường THCS Kim Đồng")
    _arrived(write_book(stranger, inbox / "truong.xlsx"), 13)
    (inbox / "scan.xlsx").write_bytes(MINIMAL_PDF)
    _arrived(inbox / "scan.xlsx", 14)
    work = tmp_path_factory.mktemp("every-rule-run")
    result = run_flow(sample, work)
    assert result.published
    return work / "tongket.duckdb"


EXPECTED_ISSUES = [
    # The demo generator's own figures: an agency held 2 contests in the 5 months of 2021, as
    # many entries a year as 5 times 2020's (full-year equivalents): R13 says so.
    ("157-CQ01.xlsx", "R13", "warning", PB, "I12"),
    ("scan.xlsx", "R16", "error", None, None),
    ("tan lap - sua.xlsx", "R01", "error", PB, "F15"),
    ("tan lap - sua.xlsx", "R02", "error", PB, "G8"),
    ("tan lap - sua.xlsx", "R02", "error", PB, "G9"),
    ("tan lap - sua.xlsx", "R03", "error", PB, "F10"),
    ("tan lap - sua.xlsx", "R03", "error", PB, "F9"),
    ("tan lap - sua.xlsx", "R04", "error", PB, "F11"),
    ("tan lap - sua.xlsx", "R04", "error", PB, "F12"),
    ("tan lap - sua.xlsx", "R05", "error", PB, "I13"),
    ("tan lap - sua.xlsx", "R05", "error", PB, "I14"),
    ("tan lap - sua.xlsx", "R06", "error", HG, "G10"),
    ("tan lap - sua.xlsx", "R06", "error", HG, "G11"),
    ("tan lap - sua.xlsx", "R06", "error", HG, "G12"),
    ("tan lap - sua.xlsx", "R06", "error", HG, "G9"),
    ("tan lap - sua.xlsx", "R07", "error", HG, "F7"),
    ("tan lap - sua.xlsx", "R07", "error", HG, "F8"),
    ("tan lap - sua.xlsx", "R08", "warning", HG, "H6"),
    ("tan lap - sua.xlsx", "R08", "warning", HG, "H7"),
    ("tan lap - sua.xlsx", "R08", "warning", HG, "H8"),
    ("tan lap - sua.xlsx", "R09", "error", CT, "G7"),
    ("tan lap - sua.xlsx", "R10", "warning", CT, "F6"),
    ("tan lap - sua.xlsx", "R10", "warning", CT, "F7"),
    ("tan lap - sua.xlsx", "R11", "warning", PB, "J9"),
    ("tan lap - sua.xlsx", "R12", "warning", PB, "G6"),
    ("tan lap - sua.xlsx", "R13", "warning", PB, "H15"),
    ("tan lap - sua.xlsx", "R14", "error", PB, "G19"),
    ("tan lap - sua.xlsx", "R17", "warning", PB, "E16"),
    ("tan lap - sua.xlsx", "R18", "warning", None, None),
    ("tan lap - sua.xlsx", "R19", "error", "05_DEXUAT_KT", "B5"),
    ("tan lap - sua.xlsx", "R20", "warning", None, None),
    ("truong.xlsx", "R15", "error", "00_THONGTIN", "B3"),
]


def test_the_whole_issue_list(every_rule_run):
    raised = query(
        every_rule_run,
        "select file_name, rule_id, severity, sheet, cell from validation_issue order by all",
    )
    got = sorted(tuple(None if v != v else v for v in row) for row in raised.itertuples(index=False))
    assert got == sorted(EXPECTED_ISSUES, key=lambda t: tuple("" if v is None else v for v in t))
    assert {rule for _, rule, *_ in got} == {f"R{n:02d}" for n in range(1, 21)}


def test_the_messages_of_the_rules_that_need_other_files(every_rule_run):
    messages = dict(
        query(
            every_rule_run,
            "select rule_id, message from validation_issue "
            "where rule_id in ('R13', 'R18', 'R20') and file_name = 'tan lap - sua.xlsx'",
        ).itertuples(index=False)
    )
    assert messages["R18"] == "Báo cáo nộp sau thời hạn: nhận ngày 23/08/2021, hạn 20/08/2021"
    assert messages["R20"] == "Báo cáo này thay thế báo cáo đã nộp trước đó: thay thế tệp tan lap.xlsx"
    assert messages["R13"].startswith(
        "Số liệu bất thường so với các đơn vị cùng loại hoặc năm trước: TIN_BAI (Số tin bài trên trang thông tin "
        "điện tử và báo chí), 2020: 900 gấp 30 lần trung vị của đơn vị cùng loại"
    )


def test_what_the_bad_workbook_loads(every_rule_run):
    status = dict(query(every_rule_run, "select file_name, status from submission").itertuples(index=False))
    assert status == {
        "05266.xlsx": "accepted",
        "05290.xlsx": "accepted",
        "05344.xlsx": "accepted",
        "05347.xlsx": "accepted",
        "157-CQ01.xlsx": "accepted",
        "tan lap.xlsx": "superseded",
        "tan lap - sua.xlsx": "accepted",
        "truong.xlsx": "rejected",
        "scan.xlsx": "rejected",
    }
    facts = query(
        every_rule_run,
        "select indicator_code, period, value, value_status from fact_indicator where unit_code = '05287'",
    )
    by_key = {(r.indicator_code, r.period): (r.value, r.value_status) for r in facts.itertuples()}
    rejected = {k for k, (_, s) in by_key.items() if s == "rejected"}
    assert rejected == {
        ("TIN_BAI", 2018),
        ("PB_CUOC", 2019),
        ("PB_LUOT", 2019),
        ("PB_LUOT_DTTS", 2018),
        ("PB_LUOT", 2018),
        ("THI_CUOC", 2018),
        ("THI_LUOT", 2018),
        ("TL_BAN", 2021),
        ("TL_LOAI", 2021),
        ("HG_VV_TIEPNHAN", 2019),
        ("HG_VV_THANH", 2019),
        ("HG_VV_KHONGTHANH", 2019),
        ("HG_VV_DANGGQ", 2019),
        ("HG_HGV_NU", 2018),
        ("HG_HGV", 2018),
        ("CT_DIEM", 2019),
        ("NPL_HD", 2019),
    }
    assert all(by_key[k][0] != by_key[k][0] for k in rejected)  # NaN: no value
    assert by_key[("TIN_BAI", 2020)] == (900.0, "reported")  # a warning loads the figure
    assert by_key[("HG_HGV", 2020)] == (30.0, "reported")
    assert by_key[("PT_LUOT", 2017)][1] == "blank"
    assert ("BCV", 2019) not in by_key  # R12: kept apart
