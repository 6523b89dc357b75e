"""One test per deviation of the spec's "What real submissions do": each builds a unit's
workbook, changes it the way units do, stages it with the real code and checks the exact
figures loaded and the exact issues raised."""

from __future__ import annotations

import datetime as dt
import unicodedata

import openpyxl
import pandas as pd
import pytest
import python_calamine

from tests.workbooks import (
    AGENCY,
    COMMUNE,
    CT,
    HG,
    PB,
    address,
    book_for,
    expected_figures,
    figures,
    issues,
    messages,
    set_figure,
    stage,
)
from tongket.reference import indicators_of_sheet
from tongket.sample.book_model import Cell, Formula, fig_tag, write_book

INDICATOR_SHEETS = (PB, HG, CT)


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def test_a_clean_workbook_loads_every_figure_without_an_issue(tmp_path):
    report, book = book_for(COMMUNE)
    batch = stage(tmp_path, book)
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == []
    file = batch.files.iloc[0]
    assert (file["read_status"], file["unit_code"], file["matched_by"]) == ("readable", COMMUNE, "code")
    assert file["reported_on"] == pd.Timestamp(report.reported_on)


def test_title_and_blank_rows_inserted_above_and_inside_the_table(tmp_path):
    report, book = book_for(COMMUNE)
    for name in INDICATOR_SHEETS:
        sheet = book.sheet(name)
        sheet.insert_rows(0, 3)
        sheet.put(0, 0, "UBND HUYỆN LẠC SƠN")
        sheet.put(1, 4, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
        first = sheet.row_of(("code", name, indicators_of_sheet(name)[0].code))
        sheet.insert_rows(first + 1)  # a blank row between two indicators
        sheet.insert_rows(first)  # and one between the header and the first indicator
    assert book.sheet(PB).row_of(("header", PB, "code")) == 7
    batch = stage(tmp_path, book)
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == []


def test_columns_inserted_and_hidden_and_a_row_hidden(tmp_path):
    report, book = book_for(COMMUNE)
    for name in INDICATOR_SHEETS:
        sheet = book.sheet(name)
        sheet.insert_cols(0)  # a numbering column before STT
        label_col = sheet.col_of(("header", name, "label"))
        sheet.insert_cols(label_col + 1)  # a remark column after the label
        sheet.put(sheet.row_of(("header", name, "label")), label_col + 1, "Ghi chú thêm")
        last = sheet.width
        sheet.put(sheet.row_of(("header", name, "label")), last, "Kế hoạch 2021")  # a plan column after the table
        for indicator in indicators_of_sheet(name):
            sheet.put(sheet.row_of(("code", name, indicator.code)), last, 999)
        sheet.hidden_cols |= {0, 1, sheet.col_of(("header", name, "unit")), sheet.col_of(("header", name, 2017))}
        sheet.hidden_rows.add(sheet.row_of(("code", name, indicators_of_sheet(name)[1].code)))
    batch = stage(tmp_path, book)
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == []


def test_sheets_reordered_and_extra_sheets_added(tmp_path):
    report, book = book_for(COMMUNE)
    book.sheets.reverse()
    draft = book_for(COMMUNE, seed=99)[1].sheet(PB)  # an old draft with other figures
    draft.name = "01_PBGDPL (2)"
    extra = book_for(COMMUNE)[1].sheet(HG)
    extra.name = "Sheet1"
    book.sheets.insert(2, draft)
    book.sheets.append(extra)
    hidden = book_for(COMMUNE, seed=98)[1].sheet(CT)
    hidden.name, hidden.hidden = "Data", True
    book.sheets.append(hidden)
    batch = stage(tmp_path, book)
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == []


def _split_header(book, name: str) -> None:
    """The header over two rows: a merged group title above the period columns, the other
    headers merged vertically over both rows (value in the top cell only)."""
    sheet = book.sheet(name)
    header = sheet.row_of(("header", name, "code"))
    sheet.insert_rows(header + 1)
    period_cols = [sheet.col_of(("header", name, p)) for p in (2017, 2021)]
    for c in range(sheet.width):
        cell = sheet.get(header, c)
        if cell is None:
            continue
        if period_cols[0] <= c <= period_cols[1]:
            sheet.put(header + 1, c, cell)
            sheet.rows[header][c] = None
        else:
            sheet.merges.append((header, c, header + 1, c))
    sheet.put(header, period_cols[0], "Số liệu qua các năm", style="header")
    sheet.merges.append((header, period_cols[0], header, period_cols[1]))


@pytest.mark.parametrize("suffix", [".xlsx", ".ods", ".xls"])
def test_header_split_over_two_rows_with_merged_cells(tmp_path, suffix):
    report, book = book_for(COMMUNE)
    for name in INDICATOR_SHEETS:
        _split_header(book, name)
    batch = stage(tmp_path, (f"u{suffix}", book))
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == []


@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_period_columns_in_another_order(tmp_path, suffix):
    report, book = book_for(COMMUNE)
    for name in INDICATOR_SHEETS:
        sheet = book.sheet(name)
        cols = [sheet.col_of(("header", name, p)) for p in range(2017, 2022)]
        sheet.permute_cols(cols, [cols[4], cols[2], cols[0], cols[3], cols[1]])  # 2017 moves to I, ...
    assert address(book, PB, "PB_CUOC", 2017) == "I8" and address(book, PB, "PB_CUOC", 2021) == "F8"
    batch = stage(tmp_path, (f"u{suffix}", book))
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == []


def test_indicator_rows_reordered(tmp_path):
    report, book = book_for(COMMUNE)
    for name in INDICATOR_SHEETS:
        sheet = book.sheet(name)
        count = len(indicators_of_sheet(name))
        first = sheet.row_of(("code", name, indicators_of_sheet(name)[0].code))
        sheet.reorder_rows(first, list(reversed(range(count))))
    assert book.sheet(PB).row_of(("code", PB, "KP_PBGDPL")) == 5
    batch = stage(tmp_path, book)
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == []


def test_indicator_rows_deleted_are_not_reported_and_said_so(tmp_path):
    report, book = book_for(COMMUNE)
    book.sheet(PB).delete_row(book.sheet(PB).row_of(("code", PB, "PB_LUOT_DTTS")))
    book.sheet(HG).delete_row(book.sheet(HG).row_of(("code", HG, "HG_KP")))
    batch = stage(tmp_path, book)
    expected = expected_figures(report)
    for period in range(2017, 2022):
        del expected[(PB, "PB_LUOT_DTTS", period)]
        del expected[(HG, "HG_KP", period)]
    assert figures(batch) == expected
    assert issues(batch) == [("R17", PB, None, "warning"), ("R17", HG, None, "warning")]
    assert messages(batch, "R17") == [
        "Chỉ tiêu bắt buộc chưa nhập số liệu: không có dòng chỉ tiêu HG_KP (Kinh phí hỗ trợ công tác hòa giải ở cơ sở)",
        "Chỉ tiêu bắt buộc chưa nhập số liệu: không có dòng chỉ tiêu PB_LUOT_DTTS "
        "(Trong đó: lượt người là đồng bào dân tộc thiểu số)",
    ]


def test_labels_edited_with_the_code_intact(tmp_path):
    report, book = book_for(COMMUNE)
    for name in INDICATOR_SHEETS:
        sheet = book.sheet(name)
        for indicator in indicators_of_sheet(name):
            r, c = sheet.find(("label", name, indicator.code))
            sheet.put(r, c, f"{indicator.label_vi.upper()} (đã sửa, tính cả cấp thôn)")
    batch = stage(tmp_path, book)
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == []


def test_code_left_blank_with_the_exact_label(tmp_path):
    report, book = book_for(COMMUNE)
    for name in INDICATOR_SHEETS:
        sheet = book.sheet(name)
        for indicator in indicators_of_sheet(name)[::2]:
            r, c = sheet.find(("code", name, indicator.code))
            sheet.put(r, c, None)
            r, c = sheet.find(("label", name, indicator.code))
            sheet.put(r, c, "  " + _nfd(indicator.label_vi) + " ")
    batch = stage(tmp_path, book)
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == []


def test_code_blank_and_a_label_matching_no_indicator_is_rejected_with_its_cell(tmp_path):
    report, book = book_for(COMMUNE)
    sheet = book.sheet(PB)
    r, c = sheet.find(("code", PB, "TIN_BAI"))
    sheet.put(r, c, None)
    sheet.put(*sheet.find(("label", PB, "TIN_BAI")), "Số tin, bài")
    batch = stage(tmp_path, book)
    expected = expected_figures(report)
    for period in range(2017, 2022):
        del expected[(PB, "TIN_BAI", period)]
    assert figures(batch) == expected
    code_cell = f"B{r + 1}"
    assert issues(batch) == [("R14", PB, code_cell, "error"), ("R17", PB, None, "warning")]
    assert messages(batch, "R14") == [
        "Ô chứa nội dung không phải số hoặc không xác định được cách đọc: dòng có số liệu nhưng không có mã số, "
        f"tên chỉ tiêu không khớp danh mục; số liệu của dòng {r + 1} không được tiếp nhận"
    ]


def _uncache_totals(book) -> None:
    for name in (PB, HG):
        sheet = book.sheet(name)
        for indicator in indicators_of_sheet(name):
            cell = sheet.get(*sheet.find(fig_tag(name, indicator.code, 0)))
            if cell.formula is not None:
                cell.formula = Formula("SUM", cell.formula.tags, cached=False)


@pytest.mark.parametrize("cached", [True, False], ids=["totals-cached", "totals-not-cached"])
def test_numbers_typed_as_text(tmp_path, cached):
    """`1.234`, `1 234`, `12 cuộc`, ` 45 `, `-`, `x` and blank, each read by our rules.

    The flow rows' Tổng is Excel's SUM, which skips text: where a text number is not zero the
    unit's total no longer matches, and R11 says so (the computed total is used). A Tổng saved
    without its cached value is computed the way Excel would have, with the same result."""
    report, book = book_for(COMMUNE)
    if not cached:
        _uncache_totals(book)
    f = report.figures
    typed = {
        ("PB_LUOT", 2018): (f"{int(f[('PB_LUOT', 2018)]):,}".replace(",", "."), f[("PB_LUOT", 2018)]),
        ("TL_BAN", 2019): (f"{int(f[('TL_BAN', 2019)]):,}".replace(",", " "), f[("TL_BAN", 2019)]),
        ("PB_CUOC", 2020): (f"{int(f[('PB_CUOC', 2020)])} cuộc", f[("PB_CUOC", 2020)]),
        ("TTV", 2019): (f" {int(f[('TTV', 2019)])} ", f[("TTV", 2019)]),
        ("PT_LUOT", 2018): ("-", 0.0),
        ("TIN_BAI", 2017): ("x", None),
        ("NPL_HD", 2021): (None, None),
    }
    assert f[("PB_LUOT", 2018)] >= 1000 and f[("TL_BAN", 2019)] >= 1000
    cells = {key: set_figure(book, PB, key[0], key[1], text) for key, (text, _) in typed.items()}
    batch = stage(tmp_path, book)
    expected = expected_figures(report)
    for (code, period), (_, value) in typed.items():
        expected[(PB, code, period)] = value
    assert figures(batch) == expected
    totals = {code: address(book, PB, code, 0) for code in ("PB_LUOT", "TL_BAN", "PB_CUOC")}
    assert issues(batch) == sorted(
        [
            ("R14", PB, cells[("PB_CUOC", 2020)], "warning"),
            ("R17", PB, cells[("NPL_HD", 2021)], "warning"),
            *[("R11", PB, cell, "warning") for cell in totals.values()],
        ]
    )
    assert messages(batch, "R14") == [
        f"Ô chứa nội dung không phải số hoặc không xác định được cách đọc: PB_CUOC: "
        f"'{int(f[('PB_CUOC', 2020)])} cuộc' được đọc là {int(f[('PB_CUOC', 2020)])}"
    ]
    staged = batch.figures[batch.figures["sheet"] == PB].set_index("cell")
    assert staged.loc[cells[("PB_LUOT", 2018)], "raw_value"] == typed[("PB_LUOT", 2018)][0]
    assert staged.loc[cells[("TIN_BAI", 2017)], "value_status"] == "not_applicable"
    assert staged.loc[cells[("NPL_HD", 2021)], "value_status"] == "blank"


def test_a_thousands_number_in_a_decimal_indicator_is_ambiguous_and_rejected(tmp_path):
    report, book = book_for(COMMUNE)
    cell = set_figure(book, PB, "KP_PBGDPL", 2019, "1.300")
    batch = stage(tmp_path, book)
    expected = expected_figures(report)
    del expected[(PB, "KP_PBGDPL", 2019)]
    assert figures(batch) == expected
    assert issues(batch) == [("R14", PB, cell, "error")]
    assert messages(batch, "R14") == [
        "Ô chứa nội dung không phải số hoặc không xác định được cách đọc: KP_PBGDPL: "
        "'1.300' có thể đọc là 1300 hoặc 1,3"
    ]


def test_1300_typed_as_text_in_a_count_is_1300_never_1_3(tmp_path):
    report, book = book_for(COMMUNE)
    report.figures[("TL_BAN", 2018)] = 1300.0
    set_figure(book, PB, "TL_BAN", 2018, "1.300")
    batch = stage(tmp_path, book)
    assert figures(batch)[(PB, "TL_BAN", 2018)] == 1300.0
    assert figures(batch) == expected_figures(report)


def _with_formulas(book, cached: bool) -> dict[tuple[str, int], str]:
    """Figures computed in the sheet: a SUM over quarterly helper cells right of the table,
    and an `a+b` formula; the flow rows' Tổng stays a SUM."""
    sheet = book.sheet(PB)
    helper = sheet.width + 1
    r = sheet.row_of(("code", PB, "PB_CUOC"))
    value = sheet.get(*sheet.find(fig_tag(PB, "PB_CUOC", 2019))).value
    quarters = [value // 4, value // 4, value // 4, value - 3 * (value // 4)]
    for i, q in enumerate(quarters):
        sheet.put(r, helper + i, q, tag=("q", i))
    sheet.put(
        *sheet.find(fig_tag(PB, "PB_CUOC", 2019)), Cell(formula=Formula("SUM", (("q", 0), ("q", 3)), cached=cached))
    )
    r = sheet.row_of(("code", PB, "TIN_BAI"))
    value = sheet.get(*sheet.find(fig_tag(PB, "TIN_BAI", 2018))).value
    sheet.put(r, helper, value - 3, tag=("part", 0))
    sheet.put(
        *sheet.find(fig_tag(PB, "TIN_BAI", 2018)),
        Cell(formula=Formula("+", (("part", 0),), constants=(3,), cached=cached)),
    )
    for indicator in indicators_of_sheet(PB):
        cell = sheet.get(*sheet.find(fig_tag(PB, indicator.code, 0)))
        if cell.formula is not None:
            cell.formula = Formula("SUM", cell.formula.tags, cached=cached)
    return {key: address(book, PB, *key) for key in (("PB_CUOC", 2019), ("TIN_BAI", 2018))}


@pytest.mark.parametrize("cached", [True, False], ids=["cached", "no-cached-value"])
def test_formulas_with_and_without_a_cached_value(tmp_path, cached):
    report, book = book_for(COMMUNE)
    cells = _with_formulas(book, cached)
    path = write_book(book, tmp_path / "f.xlsx")
    grid = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(PB).to_python()
    r, c = book.sheet(PB).find(fig_tag(PB, "PB_CUOC", 2019))
    assert grid[r][c] == ("" if not cached else report.figures[("PB_CUOC", 2019)])
    batch = stage(tmp_path, path)
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == []
    staged = batch.figures[batch.figures["sheet"] == PB].set_index("cell")
    expected_raw = "=SUM" if not cached else str(int(report.figures[("PB_CUOC", 2019)]))
    assert staged.loc[cells[("PB_CUOC", 2019)], "raw_value"].startswith(expected_raw)


def test_a_formula_without_a_cached_value_that_cannot_be_computed_is_rejected(tmp_path):
    report, book = book_for(COMMUNE)
    path = write_book(book, tmp_path / "f.xlsx")
    # A formula we do not evaluate, saved with no cached value (openpyxl saves every formula so).
    workbook = openpyxl.load_workbook(path)
    cell = address(book, PB, "TTV", 2019)
    first, second = address(book, PB, "TTV", 2017), address(book, PB, "TTV", 2018)
    workbook[PB][cell] = f"=ROUND(AVERAGE({first}:{second}),0)"
    workbook.save(path)
    batch = stage(tmp_path, path)
    expected = expected_figures(report)
    del expected[(PB, "TTV", 2019)]
    assert figures(batch) == expected
    assert issues(batch) == [("R14", PB, cell, "error")]
    assert messages(batch, "R14") == [
        "Ô chứa nội dung không phải số hoặc không xác định được cách đọc: TTV: "
        f"công thức '=ROUND(AVERAGE({first}:{second}),0)' chưa có kết quả và không tự tính được"
    ]


@pytest.mark.parametrize(
    "typed",
    [
        "15/08/2021",
        "15-08-2021",
        " 15/8/2021 ",
        44423,  # the Excel serial of 15/08/2021, in a cell without a date format
        dt.datetime(2021, 8, 15),
        "ngày 15 tháng 8 năm 2021",
    ],
    ids=["text", "dashes", "spaces", "serial", "date", "words"],
)
def test_report_date_as_text_serial_or_date(tmp_path, typed):
    report, book = book_for(COMMUNE)
    info = book.sheet("00_THONGTIN")
    info.put(*info.find(("info", "reported_on")), Cell(value=typed))
    batch = stage(tmp_path, book)
    assert batch.files.iloc[0]["reported_on"] == pd.Timestamp(2021, 8, 15)
    assert issues(batch) == []
    assert figures(batch) == expected_figures(report)


def test_an_unreadable_report_date_is_an_error_on_its_cell(tmp_path):
    _, book = book_for(COMMUNE)
    info = book.sheet("00_THONGTIN")
    info.put(*info.find(("info", "reported_on")), "31/02/2021")
    batch = stage(tmp_path, book)
    assert issues(batch) == [("R14", "00_THONGTIN", "B9", "error")]
    assert pd.isna(batch.files.iloc[0]["reported_on"])
    assert messages(batch, "R14") == [
        "Ô chứa nội dung không phải số hoặc không xác định được cách đọc: Ngày lập báo cáo: "
        "'31/02/2021' không phải là ngày hợp lệ (ghi theo dd/mm/yyyy)"
    ]


def test_vietnamese_text_in_nfd_form(tmp_path):
    report, book = book_for(COMMUNE)
    for sheet in book.sheets:
        for _, _, cell in sheet.cells():
            if isinstance(cell.value, str):
                cell.value = _nfd(cell.value)
    report.figures[("PB_CUOC", 2020)] = 12.0
    cell = set_figure(book, PB, "PB_CUOC", 2020, _nfd("12 cuộc"))
    info = book.sheet("00_THONGTIN")
    info.put(*info.find(("info", "unit_code")), None)
    batch = stage(tmp_path, book)
    assert figures(batch) == expected_figures(report)
    assert batch.files.iloc[0]["unit_code"] == COMMUNE
    assert batch.files.iloc[0]["unit_name_typed"] == "Xã Tân Lập"  # stored in NFC
    assert [i for i in issues(batch) if i[0] != "R11"] == [("R14", PB, cell, "warning")]


@pytest.mark.parametrize("typed", ["UBND xã Tân Lập", "Xã Tân Lập", "xa tan lap", "UỶ BAN NHÂN DÂN XÃ TÂN LẬP"])
def test_unit_name_typed_without_the_code(tmp_path, typed):
    report, book = book_for(COMMUNE)
    info = book.sheet("00_THONGTIN")
    info.put(*info.find(("info", "unit_code")), None)
    info.put(*info.find(("info", "unit_name")), typed)
    batch = stage(tmp_path, book)
    file = batch.files.iloc[0]
    assert (file["unit_code"], file["matched_by"], file["read_status"]) == (COMMUNE, "name", "readable")
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == []


def test_agency_name_typed_without_the_code(tmp_path):
    report, book = book_for(AGENCY)
    info = book.sheet("00_THONGTIN")
    info.put(*info.find(("info", "unit_code")), None)
    info.put(*info.find(("info", "unit_name")), "PHÒNG TƯ PHÁP HUYỆN LẠC SƠN")
    batch = stage(tmp_path, book)
    assert batch.files.iloc[0]["unit_code"] == AGENCY
    assert figures(batch) == expected_figures(report)


def test_a_unit_code_stored_as_a_number_loses_no_unit(tmp_path):
    report, book = book_for(COMMUNE)
    info = book.sheet("00_THONGTIN")
    info.put(*info.find(("info", "unit_code")), 5287)  # Excel drops the leading zero
    batch = stage(tmp_path, book)
    assert (batch.files.iloc[0]["unit_code"], batch.files.iloc[0]["matched_by"]) == (COMMUNE, "code")


@pytest.mark.parametrize("name", ["Xã Tân", "UBND xã Nghĩa", "Xã Tân Lạc"])
def test_a_name_that_is_unknown_or_close_to_two_units_is_r15(tmp_path, name):
    _, book = book_for(COMMUNE)
    info = book.sheet("00_THONGTIN")
    info.put(*info.find(("info", "unit_code")), None)
    info.put(*info.find(("info", "unit_name")), name)
    batch = stage(tmp_path, book)
    assert batch.files.iloc[0]["read_status"] == "rejected"
    assert pd.isna(batch.files.iloc[0]["unit_code"])
    assert ("R15", "00_THONGTIN", "B3", "error") in issues(batch)


@pytest.mark.parametrize("suffix", [".xls", ".ods", ".xlsm"])
def test_saved_as_xls_ods_or_xlsm(tmp_path, suffix):
    report, book = book_for(AGENCY)
    batch = stage(tmp_path, (f"bao cao{suffix}", book))
    assert batch.files.iloc[0]["file_format"] == suffix[1:]
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == []


@pytest.mark.parametrize("written, named", [(".xlsx", ".xls"), (".xls", ".xlsx"), (".ods", ".xlsx"), (".xlsx", "")])
def test_a_workbook_saved_under_another_suffix_is_read_by_its_content(tmp_path, written, named):
    report, book = book_for(COMMUNE)
    path = write_book(book, tmp_path / f"u{written}")
    renamed = path.rename(tmp_path / f"bao cao{named}")
    batch = stage(tmp_path, renamed)
    assert batch.files.iloc[0]["file_format"] == written[1:]
    assert figures(batch) == expected_figures(report)
    assert issues(batch) == []
