"""The demo inbox plus the cases the outputs must handle, for the output tests.

- a commune's .xlsx with a text in a number cell (R14) and, typed as text, a model name and
  narrative answers that look like formulas (`=HYPERLINK(...)`, `+...`, `@...`, `-...`);
- a commune's report saved as .xls with a negative figure (R01);
- an agency whose registry name is `=HYPERLINK("http://x","y")`;
- an agency that sent nothing (missing);
- a PDF renamed .xlsx (R16, no unit identified).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import python_calamine
import xlwt

HYPERLINK = '=HYPERLINK("http://x","y")'
NARRATIVE_TEXTS = {"D4": HYPERLINK, "D5": "+84 912 345 678", "D6": "@SUM(A1:A2)", "D7": "-Không có"}
GARBAGE_NAME = "tai lieu gui nham.xlsx"


@dataclass(frozen=True)
class OutputsInbox:
    """Where each planted case is, for the tests to look for it."""

    sample: Path
    text_unit: str  # the .xlsx with R14 and formula-looking text
    text_cell: str  # the R14 cell on 01_PBGDPL
    xls_unit: str  # the .xls with R01
    xls_cell: str  # the R01 cell on 01_PBGDPL
    hyperlink_unit: str  # registry name is HYPERLINK
    missing_unit: str
    missing_name: str


def _unit_files(inbox: Path) -> dict[str, Path]:
    files = {}
    for path in sorted(inbox.iterdir()):
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        rows = book.get_sheet_by_name("00_THONGTIN").to_python(skip_empty_area=False)
        book.close()
        code = next(str(r[1]) for r in rows if r and r[0] == "Mã đơn vị")
        files[code] = path
    return files


def _row_of(path: Path, sheet: str, code: str) -> int:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    book.close()
    return next(i for i, r in enumerate(rows, start=1) if len(r) > 1 and r[1] == code)


def _keep_time(path: Path, like: Path) -> None:
    stat = like.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime))


def _edit_xlsx(path: Path, edits: dict[str, dict[str, object]]) -> None:
    """Edit cells the way a unit types them: strings stay strings, even starting with '='."""
    before = path.stat()
    book = openpyxl.load_workbook(path)
    for sheet, cells in edits.items():
        for ref, value in cells.items():
            cell = book[sheet][ref]
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"
    book.save(path)
    os.utime(path, (before.st_atime, before.st_mtime))


def _save_as_xls(source: Path, target: Path, edits: dict[str, dict[tuple[int, int], object]]) -> None:
    """Rewrite a workbook as .xls (values only), with some cells changed."""
    book = python_calamine.CalamineWorkbook.from_path(str(source))
    out = xlwt.Workbook(encoding="utf-8")
    for name in book.sheet_names:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        sheet = out.add_sheet(name)
        changes = edits.get(name, {})
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                value = changes.get((r, c), value)
                if isinstance(value, dt.date):
                    value = f"{value:%d/%m/%Y}"
                if value != "":
                    sheet.write(r, c, value)
    book.close()
    out.save(str(target))
    _keep_time(target, source)


def make_outputs_inbox(demo: Path, out: Path) -> OutputsInbox:
    """Copy the demo sample to `out` and plant the cases above."""
    sample = out / "sample"
    shutil.copytree(demo, sample)
    inbox = sample / "inbox"
    files = _unit_files(inbox)
    with (sample / "registry.csv").open(encoding="utf-8", newline="") as handle:
        registry = list(csv.DictReader(handle))
    communes = sorted(r["unit_code"] for r in registry if r["unit_type"] == "commune")
    agencies = sorted(r["unit_code"] for r in registry if r["unit_type"] == "agency")
    text_unit, xls_unit = communes[1], communes[2]
    hyperlink_unit, missing_unit = agencies[1], agencies[2]

    path = files[text_unit]
    text_cell = f"G{_row_of(path, '01_PBGDPL', 'PB_CUOC')}"
    _edit_xlsx(
        path,
        {"01_PBGDPL": {text_cell: "abc"}, "04_MOHINH": {"B4": HYPERLINK}, "06_DANHGIA": dict(NARRATIVE_TEXTS)},
    )

    source = files[xls_unit]
    luot_row = _row_of(source, "01_PBGDPL", "PB_LUOT")
    _save_as_xls(source, inbox / f"baocao_{xls_unit}.xls", {"01_PBGDPL": {(luot_row - 1, 5): -5}})
    source.unlink()

    missing_name = next(r["unit_name"] for r in registry if r["unit_code"] == missing_unit)
    files[missing_unit].unlink()

    for row in registry:
        if row["unit_code"] == hyperlink_unit:
            row["unit_name"] = HYPERLINK
    with (sample / "registry.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(registry[0]))
        writer.writeheader()
        writer.writerows(registry)

    garbage = inbox / GARBAGE_NAME
    garbage.write_bytes(b"%PDF-1.4\n% not a workbook\n" + b"0" * 200)
    _keep_time(garbage, files[communes[0]])
    return OutputsInbox(
        sample=sample,
        text_unit=text_unit,
        text_cell=text_cell,
        xls_unit=xls_unit,
        xls_cell=f"F{luot_row}",
        hyperlink_unit=hyperlink_unit,
        missing_unit=missing_unit,
        missing_name=missing_name,
    )
