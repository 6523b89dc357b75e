"""Write a unit workbook in the template v1 layout (schemas.workbook), blank or filled.

`tongket templates` writes it blank, protected, with data validation; `tongket sample`
writes it filled the way a unit would. Both use this one writer so the layout has one home.
xlsxwriter is used because it is fast (the national benchmark writes ~24,000 workbooks) and
because it writes text as text (`strings_to_formulas=False`).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from schemas.workbook import (
    DATE_FORMAT_VI,
    INDICATOR_SHEETS,
    INFO_FIELDS,
    LIST_COLUMNS,
    NARRATIVE_HEADERS,
    PERIOD_NOTE,
    SHEET_INFO,
    SHEET_MODELS,
    SHEET_NARRATIVE,
    SHEET_NOMINATIONS,
    SHEET_TITLES,
    TEMPLATE_VERSION,
    UNIT_TYPE_LABELS,
    has_total_column,
    indicator_sheet_headers,
    period_headers,
)
from tongket.reference import indicators_of_sheet, narrative_questions
from tongket.sample.content import UnitReport

# The creation time written into a workbook without a report date: fixed, so that the same
# content always gives the same file (the same SHA-256, so the pipeline sees it unchanged).
REFERENCE_DATE = dt.date(2021, 8, 1)

INSTRUCTIONS_SHEET = "HUONG_DAN"
HEADER_ROW = 4  # 0-based: row 5 in Excel
FIRST_DATA_ROW = HEADER_ROW + 1
LIST_HEADER_ROW = 2
LIST_BLANK_ROWS = 10
INSTRUCTIONS = [
    "HƯỚNG DẪN ĐIỀN BIỂU MẪU TỔNG KẾT PHỔ BIẾN, GIÁO DỤC PHÁP LUẬT GIAI ĐOẠN 2017-2021",
    "",
    "1. Không đổi tên các biểu (00_THONGTIN ... 06_DANHGIA) và không sửa cột 'Mã số'.",
    "2. Số liệu tính từ ngày 01/6/2017 đến ngày 01/6/2021: cột 2017 tính từ 01/6/2017 (7 tháng),"
    " cột 2021 tính đến 01/6/2021 (5 tháng).",
    "3. Ghi số, không ghi chữ: 1234 hoặc 1.234 (một nghìn hai trăm ba mươi tư); số thập phân dùng dấu phẩy: 12,5.",
    "4. Không có hoạt động ghi 0; chỉ tiêu không áp dụng với đơn vị ghi x; không để trống ô phải báo cáo.",
    "5. Cột 'Tổng': chỉ tiêu cộng dồn (cuộc, lượt, bản, vụ việc, kinh phí) tự tính, không sửa;"
    " chỉ tiêu hiện có (người, tủ, tổ, đầu sách) ghi số của năm cuối có số liệu.",
    "6. Biểu 02_HGCS và 03_CTCPL do UBND xã, thị trấn điền; cơ quan cấp huyện để trống.",
    "7. Biểu 04_MOHINH: mỗi mô hình hay, cách làm hiệu quả một dòng.",
    "8. Biểu 05_DEXUAT_KT: mỗi tập thể, cá nhân đề nghị khen thưởng một dòng; ghi rõ có bị kỷ luật hay không.",
    "9. Ngày lập báo cáo ghi theo dạng dd/mm/yyyy, ví dụ 15/08/2021.",
    "10. Gửi lại tệp Excel (.xlsx) cho Phòng Tư pháp; khi cần sửa, gửi lại toàn bộ tệp.",
    "11. Mã đơn vị, tên đơn vị, mã số và tên chỉ tiêu đã được khóa; ô nhập sai kiểu số sẽ bị từ chối.",
]
# Protected sheets still let units widen columns and rows to read long labels.
PROTECTION = {"format_columns": True, "format_rows": True}


class _Formats:
    def __init__(self, book: xlsxwriter.Workbook) -> None:
        base = {"font_name": "Times New Roman", "font_size": 12}
        self.title = book.add_format(base | {"bold": True, "align": "center", "valign": "vcenter"})
        self.note = book.add_format(base | {"italic": True, "align": "center"})
        self.header = book.add_format(
            base | {"bold": True, "align": "center", "valign": "vcenter", "text_wrap": True, "border": 1}
        )
        self.locked = book.add_format(base | {"border": 1, "text_wrap": True, "valign": "vcenter"})
        self.locked_center = book.add_format(base | {"border": 1, "align": "center", "valign": "vcenter"})
        self.input = book.add_format(base | {"border": 1, "locked": False, "num_format": "#,##0.##"})
        self.input_text = book.add_format(base | {"border": 1, "locked": False, "text_wrap": True, "valign": "top"})
        self.input_date = book.add_format(base | {"border": 1, "locked": False, "num_format": DATE_FORMAT_VI})
        self.total = book.add_format(base | {"border": 1, "bold": True, "num_format": "#,##0.##"})
        self.plain = book.add_format(base)
        self.bold = book.add_format(base | {"bold": True})


def _validation_for(value_type: str) -> dict[str, Any]:
    """Data validation that refuses (error style 'stop') anything but a figure of this type."""
    message = {
        "error_title": "Giá trị không hợp lệ",
        "show_error": True,
        "error_type": "stop",
        "input_title": "Nhập số",
    }
    if value_type == "int":
        return message | {
            "validate": "integer",
            "criteria": ">=",
            "value": 0,
            "input_message": "Số nguyên không âm; không có hoạt động ghi 0.",
            "error_message": "Ghi số nguyên không âm (ví dụ 12). Không có hoạt động ghi 0.",
        }
    if value_type == "flag":
        return message | {
            "validate": "list",
            "source": ["1", "0"],
            "input_message": "1 = đạt chuẩn, 0 = không đạt.",
            "error_message": "Ghi 1 (đạt) hoặc 0 (không đạt).",
        }
    return message | {
        "validate": "decimal",
        "criteria": ">=",
        "value": 0,
        "input_message": "Số không âm, phần thập phân dùng dấu phẩy.",
        "error_message": "Ghi số không âm, phần thập phân dùng dấu phẩy (ví dụ 12,5).",
    }


def _write_value(sheet: Any, row: int, col: int, value: Any, fmt: Any) -> None:
    """Numbers as numbers, text as text (never a formula), None as an unlocked blank."""
    if value is None or value == "":
        sheet.write_blank(row, col, None, fmt)
    elif isinstance(value, str):
        sheet.write_string(row, col, value, fmt)
    else:
        sheet.write_number(row, col, value, fmt)


def _write_instructions(book: xlsxwriter.Workbook, f: _Formats) -> None:
    sheet = book.add_worksheet(INSTRUCTIONS_SHEET)
    sheet.set_column(0, 0, 120)
    for row, line in enumerate(INSTRUCTIONS):
        sheet.write_string(row, 0, line, f.bold if row == 0 else f.plain)
    sheet.protect(options=PROTECTION)


def _write_info(book: xlsxwriter.Workbook, f: _Formats, report: UnitReport, protect: bool) -> None:
    sheet = book.add_worksheet(SHEET_INFO)
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 50)
    sheet.merge_range(0, 0, 0, 1, SHEET_TITLES[SHEET_INFO], f.title)
    values = {
        "unit_code": report.unit_code,
        "unit_name": report.unit_name,
        "unit_type": UNIT_TYPE_LABELS.get(report.unit_type, ""),
        "preparer": report.preparer,
        "phone": report.phone,
        "email": report.email,
        "template_version": TEMPLATE_VERSION,
    }
    for i, field in enumerate(INFO_FIELDS):
        row = 2 + i
        sheet.write_string(row, 0, field.label, f.locked)
        if field.key == "reported_on":
            if report.reported_on:
                sheet.write_datetime(row, 1, report.reported_on, f.input_date)
            else:
                sheet.write_blank(row, 1, None, f.input_date)
            date_rule = {"validate": "date", "criteria": ">", "value": dt.date(2021, 1, 1)}
            sheet.data_validation(
                row,
                1,
                row,
                1,
                date_rule | {"error_message": "Ghi ngày theo dạng dd/mm/yyyy.", "show_error": True},
            )
            continue
        locked = field.key in ("unit_code", "unit_name", "unit_type", "template_version")
        _write_value(sheet, row, 1, values.get(field.key, ""), f.locked if locked else f.input_text)
    if protect:
        sheet.protect(options=PROTECTION)


def _write_indicator_sheet(
    book: xlsxwriter.Workbook, f: _Formats, sheet_name: str, report: UnitReport, protect: bool
) -> None:
    sheet = book.add_worksheet(sheet_name)
    headers = indicator_sheet_headers(sheet_name)
    periods = list(period_headers(sheet_name))
    last_col = len(headers) - 1
    sheet.set_column(0, 0, 5)
    sheet.set_column(1, 1, 16)
    sheet.set_column(2, 2, 55)
    sheet.set_column(3, 3, 11)
    sheet.set_column(4, last_col - 1, 12)
    sheet.set_column(last_col, last_col, 16)
    sheet.write_string(0, 0, f"Đơn vị: {report.unit_name}", f.bold)
    sheet.merge_range(1, 0, 1, last_col, SHEET_TITLES[sheet_name], f.title)
    sheet.merge_range(2, 0, 2, last_col, PERIOD_NOTE, f.note)
    for col, header in enumerate(headers):
        sheet.write_string(HEADER_ROW, col, header, f.header)
    sheet.set_row(HEADER_ROW, 36)
    sheet.freeze_panes(FIRST_DATA_ROW, 4)
    first_period_col = 4
    row = FIRST_DATA_ROW
    for number, indicator in enumerate(indicators_of_sheet(sheet_name), start=1):
        sheet.write_number(row, 0, number, f.locked_center)
        sheet.write_string(row, 1, indicator.code, f.locked_center)
        sheet.write_string(row, 2, indicator.label_vi, f.locked)
        sheet.write_string(row, 3, indicator.unit_vi, f.locked_center)
        for i, period in enumerate(periods):
            _write_value(sheet, row, first_period_col + i, report.figures.get((indicator.code, period)), f.input)
        last_period_col = first_period_col + len(periods) - 1
        sheet.data_validation(row, first_period_col, row, last_period_col, _validation_for(indicator.value_type))
        if has_total_column(sheet_name):
            total_col = last_period_col + 1
            total = report.total(indicator.code)
            if indicator.kind == "flow":
                span = f"{xl_rowcol_to_cell(row, first_period_col)}:{xl_rowcol_to_cell(row, last_period_col)}"
                sheet.write_formula(row, total_col, f"=SUM({span})", f.total, total if total is not None else 0)
            else:
                _write_value(sheet, row, total_col, total, f.input)
                sheet.data_validation(row, total_col, row, total_col, _validation_for(indicator.value_type))
        sheet.write_blank(row, last_col, None, f.input_text)
        row += 1
    sign_row = row + 2
    sheet.write_string(sign_row, 2, "NGƯỜI LẬP BIỂU", f.bold)
    sheet.write_string(sign_row, first_period_col + 2, "THỦ TRƯỞNG ĐƠN VỊ", f.bold)
    sheet.write_string(sign_row + 1, 2, "(Ký, ghi rõ họ tên)", f.plain)
    sheet.write_string(sign_row + 1, first_period_col + 2, "(Ký tên, đóng dấu)", f.plain)
    if report.preparer:
        sheet.write_string(sign_row + 4, 2, report.preparer, f.plain)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    if protect:
        sheet.protect(options=PROTECTION)


def _write_list_sheet(
    book: xlsxwriter.Workbook, f: _Formats, sheet_name: str, records: list[dict], protect: bool
) -> None:
    sheet = book.add_worksheet(sheet_name)
    columns = LIST_COLUMNS[sheet_name]
    sheet.merge_range(0, 0, 0, len(columns), SHEET_TITLES[sheet_name], f.title)
    sheet.write_string(LIST_HEADER_ROW, 0, "STT", f.header)
    sheet.set_column(0, 0, 5)
    for col, column in enumerate(columns, start=1):
        sheet.write_string(LIST_HEADER_ROW, col, column.header, f.header)
        sheet.set_column(col, col, 40 if column.kind == "text" else 16)
    sheet.set_row(LIST_HEADER_ROW, 48)
    rows = max(LIST_BLANK_ROWS, len(records))
    for i in range(rows):
        row = LIST_HEADER_ROW + 1 + i
        record = records[i] if i < len(records) else {}
        sheet.write_number(row, 0, i + 1, f.locked_center)
        for col, column in enumerate(columns, start=1):
            _write_value(sheet, row, col, record.get(column.key), f.input_text)
    first, last = LIST_HEADER_ROW + 1, LIST_HEADER_ROW + rows
    for col, column in enumerate(columns, start=1):
        if column.choices:
            sheet.data_validation(
                first,
                col,
                last,
                col,
                {
                    "validate": "list",
                    "source": list(column.choices),
                    "show_error": True,
                    "error_message": f"Chọn một trong: {', '.join(column.choices)}.",
                },
            )
        elif column.kind in ("int", "year"):
            low, high = (1975, 2021) if column.kind == "year" else (0, 100_000)
            sheet.data_validation(
                first,
                col,
                last,
                col,
                {
                    "validate": "integer",
                    "criteria": "between",
                    "minimum": low,
                    "maximum": high,
                    "show_error": True,
                    "error_message": f"Ghi số nguyên từ {low} đến {high}.",
                },
            )
    if protect:
        sheet.protect(options=PROTECTION)


def _write_narrative(book: xlsxwriter.Workbook, f: _Formats, report: UnitReport, protect: bool) -> None:
    sheet = book.add_worksheet(SHEET_NARRATIVE)
    sheet.merge_range(0, 0, 0, 3, SHEET_TITLES[SHEET_NARRATIVE], f.title)
    for col, header in enumerate(NARRATIVE_HEADERS):
        sheet.write_string(LIST_HEADER_ROW, col, header, f.header)
    sheet.set_column(0, 0, 5)
    sheet.set_column(1, 1, 12)
    sheet.set_column(2, 2, 40)
    sheet.set_column(3, 3, 90)
    for i, (code, question) in enumerate(narrative_questions().items()):
        row = LIST_HEADER_ROW + 1 + i
        sheet.write_number(row, 0, i + 1, f.locked_center)
        sheet.write_string(row, 1, code, f.locked_center)
        sheet.write_string(row, 2, question, f.locked)
        _write_value(sheet, row, 3, report.narratives.get(code), f.input_text)
        sheet.set_row(row, 60)
    if protect:
        sheet.protect(options=PROTECTION)


def write_unit_workbook(path: Path, report: UnitReport, *, protect: bool = True) -> Path:
    """Write one unit's workbook (blank when `report` has no content) in the template layout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    book.set_properties(
        {
            "title": f"Báo cáo tổng kết PBGDPL 2017-2021 - {report.unit_name}",
            "author": "tongket",
            # the report's own date, not the clock: the same seed writes the very same bytes
            "created": dt.datetime.combine(report.reported_on or REFERENCE_DATE, dt.time(8)),
        }
    )
    f = _Formats(book)
    _write_instructions(book, f)
    _write_info(book, f, report, protect)
    for sheet_name in INDICATOR_SHEETS:
        _write_indicator_sheet(book, f, sheet_name, report, protect)
    _write_list_sheet(book, f, SHEET_MODELS, report.models, protect)
    _write_list_sheet(book, f, SHEET_NOMINATIONS, report.nominations, protect)
    _write_narrative(book, f, report, protect)
    book.worksheets()[1].activate()
    book.close()
    if protect:
        _lock_structure(path)
    return path


def _lock_structure(path: Path) -> None:
    """Protect the workbook's structure: sheets cannot be renamed, moved, hidden or deleted
    (their names are the contract). xlsxwriter cannot write this element itself."""
    with zipfile.ZipFile(path) as source:
        parts = [(info, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, content in parts:
            if info.filename == "xl/workbook.xml":
                content = content.replace(b"<bookViews>", b'<workbookProtection lockStructure="1"/><bookViews>', 1)
            target.writestr(info, content)
