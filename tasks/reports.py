"""Write the report-ready tables (Excel) from the warehouse's marts.

Every figure comes from a mart; nothing is computed here but layout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import xlsxwriter

from tongket.reference import periods

REPORT_FILE = "bao-cao-tong-ket-pbgdpl-2017-2021.xlsx"
PERIOD_TEXT = "Thời kỳ số liệu: từ 01/6/2017 đến 01/6/2021"
UNIT_TYPE_VI = {"commune": "UBND xã, thị trấn", "agency": "Cơ quan, ban, ngành, đoàn thể huyện", "all": "Toàn huyện"}


def write_report_tables(warehouse: Path, outputs: Path, run_id: str) -> Path:
    """Write the report workbook of a run into outputs/<run_id>/ and copy it to outputs/latest/."""
    run_dir = outputs / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / REPORT_FILE
    with duckdb.connect(str(warehouse), read_only=True) as con:
        book = xlsxwriter.Workbook(
            str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
        )
        base = {"font_name": "Times New Roman", "font_size": 12}
        title = book.add_format(base | {"bold": True, "font_size": 14})
        header = book.add_format(
            base | {"bold": True, "align": "center", "valign": "vcenter", "border": 1, "text_wrap": True}
        )
        text = book.add_format(base | {"border": 1})
        number = book.add_format(base | {"border": 1, "num_format": "#,##0"})
        sheet = book.add_worksheet("Phu luc 1")
        sheet.write_string(0, 0, "Phụ lục 1 - Kết quả phổ biến, giáo dục pháp luật 2017-2021", title)
        sheet.write_string(1, 0, PERIOD_TEXT, book.add_format(base | {"italic": True}))
        columns = ["Mã số", "Chỉ tiêu", "Đơn vị tính", "Khối", *[p.label_vi for p in periods()], "Cả giai đoạn"]
        for col, name in enumerate(columns):
            sheet.write_string(3, col, name, header)
        rows = con.execute(
            """
            select d.indicator_code, i.label_vi, i.unit_vi, d.unit_type,
                   list(d.value order by d.period) filter (where d.period > 0) as by_year,
                   any_value(d.value) filter (where d.period = 0) as window_value
            from mart_district_indicator d join dim_indicator i using (indicator_code)
            where i.sheet = '01_PBGDPL'
            group by all
            order by any_value(i.sort_order), d.unit_type
            """
        ).fetchall()
        for r, (code, label, unit, unit_type, by_year, window_value) in enumerate(rows, start=4):
            sheet.write_string(r, 0, code, text)
            sheet.write_string(r, 1, label, text)
            sheet.write_string(r, 2, unit or "", text)
            sheet.write_string(r, 3, UNIT_TYPE_VI[unit_type], text)
            for c, value in enumerate(by_year or []):
                sheet.write_number(r, 4 + c, value or 0, number)
            if window_value is not None:
                sheet.write_number(r, 9, window_value, number)
        sheet.set_column(1, 1, 50)
        sheet.set_column(3, 3, 28)
        sheet.set_column(4, 9, 14)
        book.close()
    latest = outputs / "latest"
    latest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, latest / REPORT_FILE)
    return path
