"""`tongket templates`: blank templates that make the usual mistakes hard, read back with
openpyxl exactly as Excel would see them."""

from __future__ import annotations

import openpyxl
import pytest
from openpyxl.utils import range_boundaries
from typer.testing import CliRunner

from schemas.workbook import INDICATOR_SHEETS, LIST_COLUMNS, SHEETS
from tests.workbooks import UNITS, issues, stage
from tongket.cli import app
from tongket.reference import indicators_of_sheet
from tongket.workbook_writer import INSTRUCTIONS_SHEET

PERIOD_COLS = "EFGHI"
# An absent attribute takes the OOXML default: errorStyle "stop" (the entry is refused, not just
# warned about) and operator "between".


def _style(rule) -> str:
    return rule.errorStyle or "stop"


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    folder = tmp_path_factory.mktemp("templates")
    registry = folder / "registry.csv"
    registry.write_text(
        "unit_code,unit_name,unit_type,population\n"
        + "".join(f"{u['unit_code']},{u['unit_name']},{u['unit_type']},{u['population'] or ''}\n" for u in UNITS),
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["templates", "--registry", str(registry), "--out", str(folder / "out")])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{len(UNITS)} templates written to {folder / 'out'}"
    return {path.name: path for path in (folder / "out").iterdir()}


@pytest.fixture(scope="module")
def commune(templates):
    return openpyxl.load_workbook(templates["mau-bao-cao_05287_xa-tan-lap.xlsx"])


def _validation_at(sheet, ref: str):
    """The data validation covering a cell (None if there is none)."""
    for validation in sheet.data_validations.dataValidation:
        for rng in str(validation.sqref).split():
            min_col, min_row, max_col, max_row = range_boundaries(rng)
            cell = sheet[ref]
            if min_row <= cell.row <= max_row and min_col <= cell.column <= max_col:
                return validation
    return None


def test_one_template_per_unit_named_for_it(templates):
    assert sorted(templates) == sorted(
        [
            "mau-bao-cao_05266_thi-tran-vu-ban.xlsx",
            "mau-bao-cao_05287_xa-tan-lap.xlsx",
            "mau-bao-cao_05290_xa-nhan-nghia.xlsx",
            "mau-bao-cao_05344_xa-tan-my.xlsx",
            "mau-bao-cao_05347_xa-an-nghia.xlsx",
            "mau-bao-cao_157-CQ01_phong-tu-phap.xlsx",
            "mau-bao-cao_157-CQ06_huyen-doan.xlsx",
        ]
    )


def test_sheets_in_order_with_a_vietnamese_instructions_sheet_and_a_locked_structure(commune):
    assert commune.sheetnames == [INSTRUCTIONS_SHEET, *SHEETS]
    assert commune.security.lockStructure is True
    lines = [row[0] for row in commune[INSTRUCTIONS_SHEET].iter_rows(values_only=True)]
    assert lines[0] == "HƯỚNG DẪN ĐIỀN BIỂU MẪU TỔNG KẾT PHỔ BIẾN, GIÁO DỤC PHÁP LUẬT GIAI ĐOẠN 2017-2021"
    text = "\n".join(line or "" for line in lines)
    for phrase in ("Không có hoạt động ghi 0", "ghi x", "dd/mm/yyyy", "số thập phân dùng dấu phẩy", "đã được khóa"):
        assert phrase in text
    assert commune.active.title == "00_THONGTIN"


def test_unit_code_and_name_are_filled_and_locked(commune):
    info = commune["00_THONGTIN"]
    assert info.protection.sheet is True
    assert (info["A3"].value, info["B3"].value, info["B3"].data_type) == ("Mã đơn vị", "05287", "s")
    assert (info["A4"].value, info["B4"].value) == ("Tên đơn vị", "Xã Tân Lập")
    assert info["B5"].value == "UBND xã, thị trấn"
    for ref in ("A3", "B3", "B4", "B5", "B10"):
        assert info[ref].protection.locked is True, ref
    for ref in ("B6", "B7", "B8", "B9"):  # preparer, phone, email, report date
        assert info[ref].protection.locked is False, ref
    date_rule = _validation_at(info, "B9")
    assert (date_rule.type, date_rule.showErrorMessage, _style(date_rule)) == ("date", True, "stop")


@pytest.mark.parametrize("sheet_name", INDICATOR_SHEETS)
def test_indicator_sheets_lock_headers_and_codes_and_validate_every_figure_cell(commune, sheet_name):
    sheet = commune[sheet_name]
    assert sheet.protection.sheet is True
    assert sheet.protection.insertRows is True and sheet.protection.deleteColumns is True  # both forbidden
    assert [c.value for c in sheet[5] if c.value][:2] == ["STT", "Mã số"]
    for cell in sheet[5]:
        assert cell.protection.locked is True
    periods = PERIOD_COLS
    for row, indicator in enumerate(indicators_of_sheet(sheet_name), start=6):
        assert sheet[f"B{row}"].value == indicator.code
        assert sheet[f"C{row}"].value == indicator.label_vi
        for col in "ABCD":
            assert sheet[f"{col}{row}"].protection.locked is True
        for col in periods:
            cell = sheet[f"{col}{row}"]
            assert cell.value is None and cell.protection.locked is False, cell.coordinate
            rule = _validation_at(sheet, cell.coordinate)
            assert rule is not None and rule.showErrorMessage is True and _style(rule) == "stop", cell.coordinate
            if indicator.value_type == "flag":
                assert (rule.type, rule.formula1) == ("list", '"1,0"')
            else:
                assert (rule.type, rule.operator, rule.formula1) == (
                    "whole" if indicator.value_type == "int" else "decimal",
                    "greaterThanOrEqual",
                    "0",
                )
            assert rule.error.startswith("Ghi ")
        if sheet_name != "03_CTCPL":
            total = sheet[f"J{row}"]
            if indicator.kind == "flow":
                assert total.value == f"=SUM(E{row}:I{row})" and total.protection.locked is True
            else:
                assert total.protection.locked is False
                assert _validation_at(sheet, total.coordinate).showErrorMessage is True


@pytest.mark.parametrize("sheet_name", ["04_MOHINH", "05_DEXUAT_KT"])
def test_list_sheets_have_drop_downs_for_fixed_values_and_whole_numbers_elsewhere(commune, sheet_name):
    sheet = commune[sheet_name]
    assert sheet.protection.sheet is True
    for col, column in enumerate(LIST_COLUMNS[sheet_name], start=2):
        letter = openpyxl.utils.get_column_letter(col)
        assert sheet[f"{letter}3"].value == column.header
        for row in (4, 13):
            rule = _validation_at(sheet, f"{letter}{row}")
            assert sheet[f"{letter}{row}"].protection.locked is False
            if column.choices:
                assert (rule.type, rule.formula1, rule.showDropDown) == ("list", f'"{",".join(column.choices)}"', False)
                assert rule.showErrorMessage is True
            elif column.kind in ("int", "year"):
                assert (rule.type, rule.operator or "between", rule.showErrorMessage) == ("whole", "between", True)
                assert _style(rule) == "stop"
            else:
                assert rule is None


def test_a_blank_template_is_read_as_the_unit_with_nothing_reported(templates, tmp_path):
    batch = stage(tmp_path, templates["mau-bao-cao_157-CQ01_phong-tu-phap.xlsx"])
    file = batch.files.iloc[0]
    assert (file["read_status"], file["unit_code"], file["matched_by"]) == ("readable", "157-CQ01", "code")
    in_scope = batch.figures[batch.figures["is_in_scope"] & (batch.figures["period"] != 0)]
    assert in_scope["value_status"].eq("blank").all() and len(in_scope) == 14 * 5
    assert {i[0] for i in issues(batch)} == {"R17"} and len(issues(batch)) == 14 * 5
