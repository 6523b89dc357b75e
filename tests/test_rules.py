"""One test per rule of reference/rules.csv that reading a file decides (R13, R18 and R20 need
the other files and the deadline: tests/test_every_rule.py runs them through the flow).

Each builds a unit's workbook in the template layout (01_PBGDPL: E..I = 2017..2021, J = Tổng,
row 6 = BCV ... row 20 = KP_PBGDPL; 02_HGCS rows 6-13; 03_CTCPL rows 6-7), breaks one rule,
stages it with the real code and checks the figures loaded and the issues raised exactly.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.workbooks import (
    AGENCY,
    COMMUNE,
    CT,
    HG,
    PB,
    book_for,
    expected_figures,
    figures,
    ingest_context,
    issues,
    messages,
    set_figure,
    stage,
)
from tongket.reference import rules
from tongket.sample.book_model import Cell, fig_tag


def _without(expected: dict, *keys: tuple[str, str, int]) -> dict:
    return {k: v for k, v in expected.items() if k not in keys}


def test_every_rule_has_a_vietnamese_message_and_a_severity():
    catalogue = rules()
    assert sorted(catalogue) == [f"R{n:02d}" for n in range(1, 21)]
    for rule in catalogue.values():
        assert rule.severity in ("error", "warning")
        assert rule.message_vi and rule.message_vi[0].isupper()


def test_r01_negative_or_fractional_counts_and_negative_amounts(tmp_path):
    report, book = book_for(COMMUNE)
    set_figure(book, PB, "TIN_BAI", 2018, -5)
    set_figure(book, PB, "NPL_HD", 2020, 2.5)
    set_figure(book, PB, "KP_PBGDPL", 2019, "-1,5")
    set_figure(book, PB, "KP_PBGDPL", 2020, 7.25)  # a decimal indicator takes decimals
    report.figures[("KP_PBGDPL", 2020)] = 7.25
    batch = stage(tmp_path, book)
    keys = [(PB, "TIN_BAI", 2018), (PB, "NPL_HD", 2020), (PB, "KP_PBGDPL", 2019)]
    assert figures(batch) == _without(expected_figures(report), *keys)
    assert issues(batch) == [
        ("R01", PB, "F15", "error"),
        ("R01", PB, "G20", "error"),
        ("R01", PB, "H19", "error"),
        ("R11", PB, "J20", "warning"),  # Excel's SUM skipped the text '-1,5'; we read it
    ]
    assert messages(batch, "R01") == [
        "Giá trị phải là số không âm (số nguyên với chỉ tiêu đếm): KP_PBGDPL (Kinh phí chi cho công tác phổ biến "
        "giáo dục pháp luật), 2019: '-1,5'",
        "Giá trị phải là số không âm (số nguyên với chỉ tiêu đếm): NPL_HD (Số hoạt động hưởng ứng Ngày Pháp luật), "
        "2020: '2.5'",
        "Giá trị phải là số không âm (số nguyên với chỉ tiêu đếm): TIN_BAI (Số tin bài trên trang thông tin điện tử "
        "và báo chí), 2018: '-5'",
    ]


def test_r02_attendances_and_sessions_in_both_directions(tmp_path):
    report, book = book_for(COMMUNE)
    set_figure(book, PB, "PB_CUOC", 2019, 2000)  # more sessions than attendances
    set_figure(book, PB, "PB_CUOC", 2020, 0)  # attendances without a session
    batch = stage(tmp_path, book)
    keys = [(PB, code, p) for code in ("PB_CUOC", "PB_LUOT") for p in (2019, 2020)]
    assert figures(batch) == _without(expected_figures(report), *keys)
    assert issues(batch) == [
        ("R02", PB, "G8", "error"),
        ("R02", PB, "G9", "error"),
        ("R02", PB, "H8", "error"),
        ("R02", PB, "H9", "error"),
    ]
    assert messages(batch, "R02")[0] == (
        "Số lượt người tham dự không khớp với số cuộc phổ biến: 2019: PB_CUOC = 2000, PB_LUOT = 1654"
    )


def test_r03_minority_attendances_above_all_attendances(tmp_path):
    report, book = book_for(COMMUNE)
    set_figure(book, PB, "PB_LUOT_DTTS", 2018, 1600)
    batch = stage(tmp_path, book)
    assert figures(batch) == _without(expected_figures(report), (PB, "PB_LUOT_DTTS", 2018), (PB, "PB_LUOT", 2018))
    assert issues(batch) == [("R03", PB, "F10", "error"), ("R03", PB, "F9", "error")]
    assert (
        messages(batch, "R03")
        == ["Số lượt người dân tộc thiểu số lớn hơn tổng số lượt người: 2018: PB_LUOT_DTTS = 1600, PB_LUOT = 1530"] * 2
    )


def test_r04_contests_and_entries_in_both_directions(tmp_path):
    report, book = book_for(COMMUNE)
    set_figure(book, PB, "THI_LUOT", 2018, 0)  # two contests, nobody entered
    set_figure(book, PB, "THI_LUOT", 2020, 120)  # entries, no contest
    batch = stage(tmp_path, book)
    keys = [(PB, code, p) for code in ("THI_CUOC", "THI_LUOT") for p in (2018, 2020)]
    assert figures(batch) == _without(expected_figures(report), *keys)
    assert issues(batch) == [
        ("R04", PB, "F11", "error"),
        ("R04", PB, "F12", "error"),
        ("R04", PB, "H11", "error"),
        ("R04", PB, "H12", "error"),
    ]


def test_r05_fewer_copies_than_titles(tmp_path):
    report, book = book_for(COMMUNE)
    set_figure(book, PB, "TL_BAN", 2021, 5)
    batch = stage(tmp_path, book)
    assert figures(batch) == _without(expected_figures(report), (PB, "TL_BAN", 2021), (PB, "TL_LOAI", 2021))
    assert issues(batch) == [("R05", PB, "I13", "error"), ("R05", PB, "I14", "error")]


def test_r06_mediation_cases_must_add_up(tmp_path):
    report, book = book_for(COMMUNE)
    set_figure(book, HG, "HG_VV_THANH", 2019, 14)
    batch = stage(tmp_path, book)
    codes = ("HG_VV_TIEPNHAN", "HG_VV_THANH", "HG_VV_KHONGTHANH", "HG_VV_DANGGQ")
    assert figures(batch) == _without(expected_figures(report), *[(HG, c, 2019) for c in codes])
    assert issues(batch) == [("R06", HG, f"G{row}", "error") for row in (10, 11, 12, 9)]
    assert messages(batch, "R06")[0] == (
        "Tổng số vụ việc thành + không thành + đang hòa giải phải bằng số vụ việc tiếp nhận: 2019: "
        "HG_VV_TIEPNHAN = 15, HG_VV_THANH = 14, HG_VV_KHONGTHANH = 1, HG_VV_DANGGQ = 2"
    )


def test_r07_more_women_mediators_than_mediators(tmp_path):
    report, book = book_for(COMMUNE)
    set_figure(book, HG, "HG_HGV_NU", 2018, 70)
    batch = stage(tmp_path, book)
    assert figures(batch) == _without(expected_figures(report), (HG, "HG_HGV_NU", 2018), (HG, "HG_HGV", 2018))
    assert issues(batch) == [("R07", HG, "F7", "error"), ("R07", HG, "F8", "error")]


def test_r08_groups_need_three_mediators_and_a_woman_is_a_warning(tmp_path):
    report, book = book_for(COMMUNE)
    set_figure(book, HG, "HG_HGV", 2020, 30)  # 11 groups need 33 mediators
    set_figure(book, HG, "HG_HGV_NU", 2021, 10)  # 11 groups need 11 women
    report.figures[("HG_HGV", 2020)] = 30.0
    report.figures[("HG_HGV_NU", 2021)] = 10.0
    batch = stage(tmp_path, book)
    assert figures(batch) == expected_figures(report)  # warnings reject nothing
    assert issues(batch) == [
        ("R08", HG, "H6", "warning"),
        ("R08", HG, "H7", "warning"),
        ("R08", HG, "H8", "warning"),
        ("R08", HG, "I6", "warning"),
        ("R08", HG, "I7", "warning"),
        ("R08", HG, "I8", "warning"),
        ("R11", HG, "J8", "warning"),  # the typed stock total still says 19 women
    ]


def test_r09_score_and_flag_out_of_range(tmp_path):
    report, book = book_for(COMMUNE)
    set_figure(book, CT, "CT_DIEM", 2019, 120)
    set_figure(book, CT, "CT_DAT", 2020, 2)
    batch = stage(tmp_path, book)
    assert figures(batch) == _without(expected_figures(report), (CT, "CT_DIEM", 2019), (CT, "CT_DAT", 2020))
    assert issues(batch) == [("R09", CT, "G7", "error"), ("R09", CT, "H6", "error")]


@pytest.mark.parametrize("pass_mark, raised", [(80, True), (65, False)])
def test_r10_met_the_standard_below_the_pass_mark_is_a_warning(tmp_path, pass_mark, raised):
    report, book = book_for(COMMUNE)
    set_figure(book, CT, "CT_DAT", 2018, 1)
    report.figures[("CT_DAT", 2018)] = 1.0
    marks = {year: 80.0 for year in range(2017, 2022)} | {2018: float(pass_mark)}
    batch = stage(tmp_path, book, ctx=ingest_context(legal_access_pass_mark=marks))
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == ([("R10", CT, "F6", "warning"), ("R10", CT, "F7", "warning")] if raised else [])
    if raised:
        assert messages(batch, "R10")[0] == (
            "Xã được ghi đạt chuẩn nhưng tổng điểm dưới mức đạt: 2018: CT_DAT = 1, CT_DIEM = 68,4 (mức đạt 80 điểm)"
        )


def test_r11_a_typed_total_that_differs_is_a_warning_and_never_loaded(tmp_path):
    report, book = book_for(COMMUNE)
    sheet = book.sheet(PB)
    sheet.put(*sheet.find(fig_tag(PB, "PB_LUOT", 0)), Cell(value=6000))  # typed over the formula
    sheet.put(*sheet.find(fig_tag(PB, "TSPL", 0)), Cell(value=75))  # a stock summed by mistake
    batch = stage(tmp_path, book)
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == [("R11", PB, "J17", "warning"), ("R11", PB, "J9", "warning")]
    assert messages(batch, "R11") == [
        "Cột Tổng do đơn vị nhập không khớp với tổng tính toán: PB_LUOT: cột Tổng ghi 6000, tính được 5893",
        "Cột Tổng do đơn vị nhập không khớp với tổng tính toán: TSPL: cột Tổng ghi 75, tính được 15",
    ]


def test_r12_figures_the_unit_type_does_not_report_are_kept_apart(tmp_path):
    report, book = book_for(AGENCY)
    set_figure(book, HG, "HG_TO", 2019, 3)
    set_figure(book, HG, "HG_TO", 2020, 3)
    set_figure(book, PB, "TTV", 2018, 12)
    batch = stage(tmp_path, book)
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == [("R12", PB, "F7", "warning"), ("R12", HG, "G6", "warning")]
    staged = batch.figures[batch.figures["period"] != 0]
    kept = staged[~staged["is_in_scope"] & staged["value"].notna()]
    assert sorted(zip(kept["indicator_code"], kept["period"], kept["value"])) == [
        ("HG_TO", 2019, 3.0),
        ("HG_TO", 2020, 3.0),
        ("TTV", 2018, 12.0),
    ]
    assert messages(batch, "R12")[0] == (
        "Chỉ tiêu không thuộc phạm vi báo cáo của loại đơn vị này: HG_TO (Số tổ hòa giải ở cơ sở) không thuộc phạm vi "
        "báo cáo của Cơ quan, ban, ngành, đoàn thể huyện; số liệu không được tính"
    )


def test_r14_text_that_is_not_a_number_or_has_two_readings(tmp_path):
    report, book = book_for(COMMUNE)
    set_figure(book, PB, "NPL_HD", 2019, "khoảng 8")
    set_figure(book, PB, "KP_PBGDPL", 2018, "1.300")
    set_figure(book, PB, "PT_LUOT", 2018, "66 người")  # not the indicator's unit (lượt)
    set_figure(book, PB, "PB_CUOC", 2018, "74 cuộc")  # the indicator's own unit: read, with a warning
    set_figure(book, PB, "TL_BAN", 2019, "4,642")  # 4642 or 4,642?
    batch = stage(tmp_path, book)
    keys = [(PB, "NPL_HD", 2019), (PB, "KP_PBGDPL", 2018), (PB, "PT_LUOT", 2018), (PB, "TL_BAN", 2019)]
    assert figures(batch) == _without(expected_figures(report), *keys)
    r14 = issues(batch, rules=("R14",))
    assert r14 == [
        ("R14", PB, "F16", "error"),
        ("R14", PB, "F20", "error"),
        ("R14", PB, "F8", "warning"),
        ("R14", PB, "G14", "error"),
        ("R14", PB, "G19", "error"),
    ]
    assert messages(batch, "R14") == [
        "Ô chứa nội dung không phải số hoặc không xác định được cách đọc: KP_PBGDPL: '1.300' có thể đọc là 1300 "
        "hoặc 1,3",
        "Ô chứa nội dung không phải số hoặc không xác định được cách đọc: NPL_HD: 'khoảng 8' không phải là số",
        "Ô chứa nội dung không phải số hoặc không xác định được cách đọc: PB_CUOC: '74 cuộc' được đọc là 74",
        "Ô chứa nội dung không phải số hoặc không xác định được cách đọc: PT_LUOT: '66 người' có chữ 'người' đi kèm số",
        "Ô chứa nội dung không phải số hoặc không xác định được cách đọc: TL_BAN: '4,642' có thể đọc là 4642 hoặc "
        "4,642",
    ]
    # Excel's SUM skipped the text cells: only where we read a number ('74 cuộc') does the
    # typed total differ from ours (R11); unreadable cells are left out of both.
    assert issues(batch, rules=("R11",)) == [("R11", PB, "J8", "warning")]


def test_r15_a_unit_not_in_the_registry_rejects_the_file(tmp_path):
    _, book = book_for(COMMUNE)
    info = book.sheet("00_THONGTIN")
    info.put(*info.find(("info", "unit_code")), "99999")
    info.put(*info.find(("info", "unit_name")), "Trường THCS Kim Đồng")
    batch = stage(tmp_path, book)
    assert batch.files.iloc[0]["read_status"] == "rejected"
    assert issues(batch) == [("R15", "00_THONGTIN", "B3", "error")]
    assert messages(batch, "R15") == [
        "Không xác định được đơn vị báo cáo: mã '99999' và tên 'Trường THCS Kim Đồng' không khớp với đơn vị nào "
        "trong danh sách"
    ]


def test_r16_a_missing_required_sheet_rejects_the_file(tmp_path):
    _, book = book_for(COMMUNE)
    book.remove_sheet(CT)
    batch = stage(tmp_path, book)
    assert batch.files.iloc[0]["read_status"] == "rejected"
    assert issues(batch) == [("R16", None, None, "error")]
    assert messages(batch, "R16") == ["Tệp không đọc được hoặc không đúng mẫu: thiếu biểu 03_CTCPL"]


def test_r16_an_agency_may_leave_out_the_commune_sheets(tmp_path):
    report, book = book_for(AGENCY)
    book.remove_sheet(HG)
    book.remove_sheet(CT)
    batch = stage(tmp_path, book)
    assert batch.files.iloc[0]["read_status"] == "readable"
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == []


def test_r16_an_indicator_sheet_without_the_code_column(tmp_path):
    _, book = book_for(COMMUNE)
    sheet = book.sheet(HG)
    sheet.put(*sheet.find(("header", HG, "code")), "Ký hiệu")
    batch = stage(tmp_path, book)
    assert batch.files.iloc[0]["read_status"] == "rejected"
    assert issues(batch) == [("R16", HG, None, "error")]
    assert messages(batch, "R16") == ["Tệp không đọc được hoặc không đúng mẫu: biểu 02_HGCS không có cột 'Mã số'"]


def test_r16_two_used_columns_for_one_period(tmp_path):
    _, book = book_for(COMMUNE)
    sheet = book.sheet(PB)
    header = sheet.row_of(("header", PB, "code"))
    sheet.put(header, 11, "2019")  # a second 2019 column after Ghi chú, with figures
    sheet.put(header + 3, 11, 5)
    batch = stage(tmp_path, book)
    assert batch.files.iloc[0]["read_status"] == "rejected"
    assert issues(batch) == [("R16", PB, "G5", "error")]
    assert messages(batch, "R16") == ["Tệp không đọc được hoặc không đúng mẫu: cột '2019' xuất hiện nhiều lần (G5, L5)"]


def test_r17_blank_required_figures_are_not_reported_never_zero(tmp_path):
    report, book = book_for(COMMUNE)
    for code, period in (("TIN_BAI", 2019), ("TSPL", 2021)):
        set_figure(book, PB, code, period, None)
        report.figures[(code, period)] = None
    set_figure(book, PB, "BCV", 2019, None)  # an agency figure: a commune leaves it blank
    batch = stage(tmp_path, book)
    assert figures(batch) == expected_figures(report)
    assert figures(batch)[(PB, "TIN_BAI", 2019)] is None
    assert issues(batch) == [("R17", PB, "G15", "warning"), ("R17", PB, "I17", "warning")]
    assert messages(batch, "R17") == [
        "Chỉ tiêu bắt buộc chưa nhập số liệu: TIN_BAI (Số tin bài trên trang thông tin điện tử và báo chí), 2019 để "
        "trống",
        "Chỉ tiêu bắt buộc chưa nhập số liệu: TSPL (Số tủ sách pháp luật), 2021 (đến 01/6) để trống",
    ]


def test_r17_the_2021_legal_access_result_may_be_blank(tmp_path):
    report, book = book_for(COMMUNE)
    assert report.figures[("CT_DAT", 2021)] is None and report.figures[("CT_DIEM", 2021)] is None
    batch = stage(tmp_path, book)
    assert issues(batch) == []


def test_r17_a_deleted_period_column(tmp_path):
    report, book = book_for(COMMUNE)
    sheet = book.sheet(CT)
    col = sheet.col_of(("header", CT, 2017))
    for line in sheet.rows:
        if len(line) > col:
            line[col] = None
    batch = stage(tmp_path, book)
    assert figures(batch) == {k: v for k, v in expected_figures(report).items() if k[0] != CT or k[2] != 2017}
    assert issues(batch) == [("R17", CT, "B5", "warning")]
    assert messages(batch, "R17") == ["Chỉ tiêu bắt buộc chưa nhập số liệu: không có cột '2017'"]


def _nomination(book, row_values: dict) -> int:
    """Append a nomination row; returns its Excel row number (B = Loại, C = Họ tên, ...,
    F = Số cuộc, I = Số năm)."""
    sheet = book.sheet("05_DEXUAT_KT")
    row = sheet.height
    headers = {cell.tag[2]: c for c, cell in enumerate(sheet.rows[2]) if cell is not None and cell.tag}
    sheet.put(row, 0, row - 2)
    for key, value in row_values.items():
        sheet.put(row, headers[key], value)
    return row + 1


def test_r19_a_nomination_needs_a_name_a_kind_and_non_negative_figures(tmp_path):
    report, book = book_for(COMMUNE)
    no_kind = _nomination(book, {"full_name": "Đinh Thị Hoa", "gender": "Nữ", "sessions": 12})
    no_name = _nomination(book, {"kind": "Cá nhân", "gender": "Nam", "sessions": 4})
    bad_figures = _nomination(book, {"kind": "Cá nhân", "full_name": "Bùi Văn Sơn", "years": -3, "sessions": 2.5})
    wrong_kind = _nomination(book, {"kind": "Tập thể và cá nhân", "full_name": "Tổ hòa giải xóm Mới"})
    good = _nomination(book, {"kind": "cá nhân", "full_name": "Hà Văn Dũng", "gender": "nam", "years": "4"})
    batch = stage(tmp_path, book)
    sheet = "05_DEXUAT_KT"
    assert issues(batch) == sorted(
        [
            ("R19", sheet, f"B{no_kind}", "error"),
            ("R19", sheet, f"C{no_name}", "error"),
            ("R19", sheet, f"F{bad_figures}", "error"),
            ("R19", sheet, f"I{bad_figures}", "error"),
            ("R19", sheet, f"B{wrong_kind}", "error"),
        ]
    )
    assert messages(batch, "R19") == sorted(
        f"Thông tin đề xuất khen thưởng thiếu hoặc sai: dòng {detail}"
        for detail in (
            f"{no_kind}: thiếu loại đề xuất (Tập thể hoặc Cá nhân)",
            f"{no_name}: thiếu họ tên hoặc tên tập thể",
            f"{bad_figures}: 'Số năm làm công tác PBGDPL' ghi '-3': phải là số nguyên không âm",
            f"{bad_figures}: 'Số cuộc đã trực tiếp phổ biến' ghi '2,5': phải là số nguyên không âm",
            f"{wrong_kind}: 'Loại' ghi 'Tập thể và cá nhân' không hợp lệ",
        )
    )
    rows = batch.nominations.set_index("row_number")
    assert rows["is_rejected"].to_dict() == {
        **{n + 4: False for n in range(len(report.nominations))},
        no_kind: True,
        no_name: True,
        bad_figures: True,
        wrong_kind: True,
        good: False,
    }
    assert rows.loc[good, ["kind", "gender", "years"]].tolist() == ["Cá nhân", "Nam", 4.0]


def test_a_file_can_break_many_rules_and_every_issue_is_reported_at_once(tmp_path):
    report, book = book_for(COMMUNE)
    set_figure(book, PB, "TIN_BAI", 2018, -5)
    set_figure(book, PB, "PB_LUOT_DTTS", 2018, 1600)
    set_figure(book, HG, "HG_HGV_NU", 2018, 70)
    set_figure(book, CT, "CT_DIEM", 2019, "abc")
    batch = stage(tmp_path, book)
    assert [i[0] for i in issues(batch)] == ["R01", "R03", "R03", "R07", "R07", "R14"]
    assert pd.Series([i[3] for i in issues(batch)]).eq("error").all()


def test_r14_a_good_model_needs_a_name_and_a_plausible_start_year(tmp_path):
    _, book = book_for(COMMUNE)
    sheet = book.sheet("04_MOHINH")
    headers = {cell.tag[2]: c for c, cell in enumerate(sheet.rows[2]) if cell is not None and cell.tag}
    rows = {}
    for label, values in (
        ("no_name", {"field": "Đất đai", "start_year": 2019}),
        ("old", {"model_name": "Câu lạc bộ pháp luật", "start_year": 1900}),
        ("text_year", {"model_name": "Tủ sách pháp luật", "start_year": "năm ngoái"}),
        ("good", {"model_name": "Phiên tòa giả định", "start_year": "2020", "is_replicated": "có"}),
    ):
        row = sheet.height
        for key, value in values.items():
            sheet.put(row, headers[key], value)
        rows[label] = row + 1
    batch = stage(tmp_path, book)
    assert issues(batch) == sorted(
        [
            ("R14", "04_MOHINH", f"B{rows['no_name']}", "error"),
            ("R14", "04_MOHINH", f"E{rows['old']}", "error"),
            ("R14", "04_MOHINH", f"E{rows['text_year']}", "error"),
        ]
    )
    models = batch.models.set_index("row_number")
    assert models.loc[rows["good"], ["model_name", "start_year", "is_replicated", "is_rejected"]].tolist() == [
        "Phiên tòa giả định",
        2020,
        True,
        False,
    ]
    assert models.loc[[rows["no_name"], rows["old"], rows["text_year"]], "is_rejected"].all()


def test_r16_a_sheet_far_larger_than_a_report(tmp_path):
    _, book = book_for(COMMUNE)
    book.sheet(HG).put(5000, 3, "x")
    batch = stage(tmp_path, book)
    assert batch.files.iloc[0]["read_status"] == "rejected"
    assert issues(batch) == [("R16", HG, None, "error")]
    assert messages(batch, "R16") == [
        "Tệp không đọc được hoặc không đúng mẫu: biểu 02_HGCS có 5001 dòng x 11 cột, vượt giới hạn 2000 x 200"
    ]
