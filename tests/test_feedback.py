"""Feedback workbooks: one per unit whose latest file has problems, the list first, then the
unit's own workbook with each problem cell coloured and commented."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from tasks.feedback import (
    FEEDBACK_DIR,
    LIST_SHEET,
    WHAT_TO_DO,
    FeedbackTarget,
    Problem,
    feedback_targets,
    write_feedback_workbook,
)
from tasks.read import match_sheet_name
from tests.conftest import query
from tests.outputs_inbox import GARBAGE_NAME, HYPERLINK
from tongket.reference import rules
from tongket.text import fold_key

ERROR_FILL = "00FFC7CE"
WARNING_FILL = "00FFEB9C"


@pytest.fixture(scope="module")
def run(outputs_run):
    work, planted, _, run_dir = outputs_run
    return work / "tongket.duckdb", planted, run_dir / FEEDBACK_DIR


def calamine_grid(path: Path, sheet: str) -> list[list]:
    book = CalamineWorkbook.from_path(str(path))
    try:
        return book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    finally:
        book.close()


def listed_problems(path: Path) -> tuple[list[str], list[list]]:
    """The heading lines and the problem rows of a feedback workbook's first sheet."""
    grid = calamine_grid(path, LIST_SHEET)
    h = next(i for i, r in enumerate(grid) if r[0] == "STT")
    return [r[0] for r in grid[:h] if r[0]], [r for r in grid[h + 1 :] if r[0] != ""]


def current_file(warehouse: Path, unit_code: str) -> tuple[str, str, str]:
    row = query(
        warehouse,
        "select s.file_sha256, s.file_name, r.archive_path from submission s join raw_file r using (file_sha256) "
        "where s.unit_code = ? and s.is_current",
        [unit_code],
    ).iloc[0]
    return row["file_sha256"], row["file_name"], row["archive_path"]


def file_issues(warehouse: Path, sha: str) -> set[tuple]:
    frame = query(warehouse, "select rule_id, sheet, cell, message from validation_issue where file_sha256 = ?", [sha])
    return {tuple("" if v is None or v != v else v for v in r) for r in frame.itertuples(index=False)}


@pytest.mark.slow
def test_one_feedback_workbook_per_unit_whose_file_has_problems(run):
    warehouse, planted, folder = run
    units = query(
        warehouse,
        """
        select distinct s.unit_code, u.unit_name
        from validation_issue i join submission s using (file_sha256) join dim_unit u on u.unit_code = s.unit_code
        where s.is_current and i.rule_id not in ('R18', 'R20')
        """,
    )
    expected = {f"{r.unit_code}_{fold_key(r.unit_name).replace(' ', '-')}.xlsx" for r in units.itertuples()}
    names = {p.name for p in folder.glob("*.xlsx")}
    unidentified = {n for n in names if n.startswith("chua-xac-dinh-don-vi_tai-lieu-gui-nham_")}
    assert len(unidentified) == 1
    assert names - unidentified == expected
    assert f"{planted.text_unit}_xa-quy-hoa.xlsx" in names and f"{planted.xls_unit}_xa-mien-doi.xlsx" in names
    clean = query(
        warehouse,
        "select unit_code from mart_submission_status where status = 'accepted' and file_sha256 not in "
        "(select file_sha256 from validation_issue)",
    )["unit_code"]
    assert len(clean) > 20
    assert not any(n.startswith(f"{code}_") for code in clean for n in names)


@pytest.mark.slow
def test_the_first_sheet_lists_every_problem_in_vietnamese(run):
    warehouse, planted, folder = run
    for path in folder.glob("*.xlsx"):
        heading, rows = listed_problems(path)
        if path.name.startswith("chua-xac-dinh"):
            sha = query(warehouse, "select file_sha256 from submission where file_name = ?", [GARBAGE_NAME]).iloc[0, 0]
        else:
            sha, _, _ = current_file(warehouse, path.name.split("_")[0])
        assert {(r[2], r[3], r[4], r[5]) for r in rows} == file_issues(warehouse, sha), path.name
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
        for r in rows:
            assert r[1] == {"error": "Lỗi", "warning": "Cảnh báo"}[rules()[r[2]].severity]
            assert r[6] == WHAT_TO_DO[r[2]]
        assert heading[0] == "KẾT QUẢ KIỂM TRA BÁO CÁO TỔNG KẾT PHỔ BIẾN, GIÁO DỤC PHÁP LUẬT 2017-2021"
    heading, rows = listed_problems(folder / f"{planted.text_unit}_xa-quy-hoa.xlsx")
    _, file_name, _ = current_file(warehouse, planted.text_unit)
    assert heading[1] == f"Đơn vị: Xã Quý Hòa (mã {planted.text_unit})"
    assert heading[2].startswith(f"Tệp đã nhận: {file_name}, nhận lúc ")
    # 'abc' in G8 (R14); the unit's =SUM(E8:I8) in J8 skips that text as Excel does, so it equals
    # the total of the figures that could be read (no R11)
    assert heading[3] == (
        "Kết quả: Báo cáo đã được tiếp nhận; có 1 lỗi (số liệu có lỗi không được tổng hợp). "
        "Đề nghị đơn vị sửa và gửi lại báo cáo."
    )
    assert [(r[2], r[4]) for r in rows] == [("R14", planted.text_cell)]


@pytest.mark.slow
def test_the_copy_marks_problem_cells_and_keeps_everything_the_unit_sent(run):
    warehouse, planted, folder = run
    _, _, archive = current_file(warehouse, planted.text_unit)
    copy = openpyxl.load_workbook(folder / f"{planted.text_unit}_xa-quy-hoa.xlsx")
    original = openpyxl.load_workbook(archive)
    assert copy.sheetnames == [LIST_SHEET, *original.sheetnames]
    assert copy.active.title == LIST_SHEET
    for ws in original.worksheets:
        sent = [[c.value for c in row] for row in ws.iter_rows()]
        kept = [[c.value for c in row] for row in copy[ws.title].iter_rows(max_row=ws.max_row, max_col=ws.max_column)]
        assert kept == sent, ws.title
    cell = copy["01_PBGDPL"][planted.text_cell]
    assert cell.value == "abc"
    assert cell.fill.start_color.rgb == ERROR_FILL
    assert cell.comment.text.startswith("[R14 - Lỗi] Ô chứa nội dung không phải số")
    assert WHAT_TO_DO["R14"] in cell.comment.text
    untouched = copy["01_PBGDPL"]["E8"]
    assert untouched.comment is None and untouched.fill.start_color.rgb != ERROR_FILL
    # the unit's model name that looks like a formula is still text
    model = copy["04_MOHINH"]["B4"]
    assert model.value == HYPERLINK and model.data_type == "s"


@pytest.mark.slow
def test_an_xls_report_is_rebuilt_from_its_values_and_marked(run):
    warehouse, planted, folder = run
    _, _, archive = current_file(warehouse, planted.xls_unit)
    path = folder / f"{planted.xls_unit}_xa-mien-doi.xlsx"
    heading, rows = listed_problems(path)
    assert "không giữ định dạng" in heading[-1]
    assert ("R01", "01_PBGDPL", planted.xls_cell) in {(r[2], r[3], r[4]) for r in rows}
    sent = CalamineWorkbook.from_path(archive)
    template_sheets = [name for name in sent.sheet_names if match_sheet_name(name)]
    for name in template_sheets:
        assert calamine_grid(path, name) == sent.get_sheet_by_name(name).to_python(skip_empty_area=False), name
    # only the template's sheets: the reader measured them, an extra sheet could be any size
    assert openpyxl.load_workbook(path).sheetnames == [LIST_SHEET, *template_sheets] != sent.sheet_names
    sent.close()
    cell = openpyxl.load_workbook(path)["01_PBGDPL"][planted.xls_cell]
    assert cell.value == -5 and cell.fill.start_color.rgb == ERROR_FILL
    assert "[R01 - Lỗi]" in cell.comment.text and "[R02 - Lỗi]" in cell.comment.text


@pytest.mark.slow
def test_a_file_that_cannot_be_opened_gets_the_list_only(run):
    _, _, folder = run
    (path,) = folder.glob("chua-xac-dinh-don-vi_*.xlsx")
    assert openpyxl.load_workbook(path).sheetnames == [LIST_SHEET]
    heading, rows = listed_problems(path)
    assert heading[1] == "Đơn vị: chưa xác định được đơn vị"
    assert heading[3] == "Kết quả: Tệp chưa được tiếp nhận. Đề nghị đơn vị sửa các lỗi dưới đây và gửi lại báo cáo."
    assert "không kèm bản sao" in heading[-1]
    assert [r[2] for r in rows] == ["R16"]


def test_every_rule_says_what_to_do():
    assert set(WHAT_TO_DO) == set(rules())
    assert all(text.strip() for text in WHAT_TO_DO.values())


def test_unit_text_in_the_list_is_never_a_formula(tmp_path):
    target = FeedbackTarget(
        file_sha256="a" * 64,
        file_name='=HYPERLINK("http://evil","bấm vào")',
        unit_code="X01",
        unit_name=HYPERLINK,
        status="accepted",
        received_at=dt.datetime(2021, 8, 10, 9, 30),
        archive_path=None,
        file_format="xlsx",
        can_open=True,
    )
    problems = [Problem("R14", "error", "01_PBGDPL", "F9", "Ô chứa nội dung: '=1+1' \x0b không phải số")]
    path = write_feedback_workbook(target, problems, tmp_path / "x.xlsx", "Kiểm tra lúc 10:00 ngày 11/08/2021.")
    with zipfile.ZipFile(path) as archive:
        xml = "".join(archive.read(n).decode() for n in archive.namelist())
    assert not re.search(r"<f[ >]|<hyperlink|relationships/hyperlink", xml)
    assert 'HYPERLINK("http://x","y") (mã X01)' in xml  # as text
    heading, rows = listed_problems(path)
    assert heading[1] == f"Đơn vị: {HYPERLINK} (mã X01)"
    assert rows[0][5] == "Ô chứa nội dung: '=1+1' \ufffd không phải số"
    assert "Không tìm thấy bản lưu" in heading[-1]


def test_a_merged_problem_cell_is_marked_on_its_first_cell(tmp_path):
    sent = tmp_path / "sent.xlsx"
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "00_THONGTIN"
    ws["B3"] = "X01"
    ws.merge_cells("B3:D3")
    book.save(sent)
    target = FeedbackTarget("b" * 64, "sent.xlsx", "X01", "Xã Thử", "accepted", None, str(sent), "xlsx", True)
    problems = [
        Problem("R15", "error", "00_THONGTIN", "C3", "Không xác định được đơn vị báo cáo"),
        Problem("R18", "warning", None, None, "Báo cáo nộp sau thời hạn"),
    ]
    path = write_feedback_workbook(target, problems, tmp_path / "out.xlsx", "")
    cell = openpyxl.load_workbook(path)["00_THONGTIN"]["B3"]
    assert cell.value == "X01" and cell.fill.start_color.rgb == ERROR_FILL
    assert cell.comment.text.startswith("[R15 - Lỗi]")
    _, rows = listed_problems(path)
    assert [(r[2], r[3], r[4]) for r in rows] == [("R15", "00_THONGTIN", "C3"), ("R18", "", "")]


def test_feedback_goes_to_each_units_latest_file_only():
    """A unit's rejected file is followed by an accepted one: only the accepted one counts."""
    con = duckdb.connect()
    con.execute(
        """
        create table submission as select * from (values
            ('s1', 'old.xlsx', 'U1', timestamp '2021-08-01 08:00', 'rejected', false),
            ('s2', 'new.xlsx', 'U1', timestamp '2021-08-05 08:00', 'accepted', true),
            ('s3', 'late-bad.xlsx', 'U2', timestamp '2021-08-09 08:00', 'rejected', false),
            ('s4', 'ok.xlsx', 'U2', timestamp '2021-08-02 08:00', 'accepted', true),
            ('s5', 'fixed.xlsx', 'U3', timestamp '2021-08-03 08:00', 'accepted', true),
            ('s6', 'first.xlsx', 'U3', timestamp '2021-08-01 08:00', 'superseded', false),
            ('s7', 'who.xlsx', null, timestamp '2021-08-01 08:00', 'rejected', false)
        ) t(file_sha256, file_name, unit_code, received_at, status, is_current);
        alter table submission add column file_format varchar default 'xlsx';
        create table raw_file as select file_sha256, '/nowhere/' || file_sha256 as archive_path from submission;
        create table dim_unit as select * from (values ('U1', 'Một'), ('U2', 'Hai'), ('U3', 'Ba')) t(unit_code, unit_name);
        create table validation_issue as select * from (values
            ('s1', 'R16'), ('s2', 'R17'), ('s3', 'R16'), ('s4', 'R01'), ('s5', 'R20'), ('s5', 'R18'),
            ('s6', 'R14'), ('s7', 'R15')
        ) t(file_sha256, rule_id);
        """
    )
    targets = {(t.unit_code, t.file_name, t.can_open) for t in feedback_targets(con)}
    assert targets == {("U1", "new.xlsx", True), ("U2", "late-bad.xlsx", False), (None, "who.xlsx", True)}


def test_file_names_are_safe_and_name_the_unit():
    from tasks.feedback import feedback_file_name

    target = FeedbackTarget(
        "c" * 64, "Báo cáo (gửi PTP).xlsx", "157/CQ 01", "Phòng Tư pháp", "accepted", None, None, None, True
    )
    assert feedback_file_name(target) == "157-CQ-01_phong-tu-phap.xlsx"
    nobody = FeedbackTarget("d" * 64, "../Báo cáo?.xlsx", None, None, "rejected", None, None, None, False)
    assert re.fullmatch(r"chua-xac-dinh-don-vi_bao-cao_dddddddd\.xlsx", feedback_file_name(nobody))


@pytest.mark.slow
def test_an_unchanged_units_feedback_is_reused_by_the_next_run(run, tmp_path):
    from tasks.feedback import MANIFEST, write_feedback

    warehouse, _, folder = run
    outputs = tmp_path / "outputs"
    (outputs / "latest").mkdir(parents=True)
    shutil.copytree(folder, outputs / "latest" / "phan-hoi")
    first = sorted(folder.glob("*.xlsx"))
    stale = first[0]
    (outputs / "latest" / "phan-hoi" / stale.name).write_bytes(b"an earlier run's copy")
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest[first[1].name] = "what another file looked like"
    (outputs / "latest" / "phan-hoi" / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    written = write_feedback(warehouse, outputs / "next-run")
    assert sorted(p.name for p in written) == [p.name for p in first]
    # same key: the previous file is taken as it is (here, recognisably, the planted bytes) ...
    assert (outputs / "next-run" / "phan-hoi" / stale.name).read_bytes() == b"an earlier run's copy"
    # ... a different key: written again
    assert (outputs / "next-run" / "phan-hoi" / first[1].name).read_bytes()[:2] == b"PK"
