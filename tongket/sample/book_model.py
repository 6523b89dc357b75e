"""A unit workbook as plain data that can be rearranged the way units do, then written out.

The messy sample generator and the tests build workbooks in this form: the template layout
(`book_from_report`), then rows and columns inserted, deleted, moved or hidden, headers split,
cells retyped; then one writer per format (.xlsx/.xlsm with xlsxwriter, .xls with xlwt, .ods
with odfpy). Every cell the generator cares about carries a tag, e.g. `("fig", "01_PBGDPL",
"PB_CUOC", 2018)`, so wherever it ends up its final address is known, and formulas name the
cells they add up by tag, so they follow them as Excel's references would.

This module is independent of the reader (`tasks/`): it is the other side of the contract.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlsxwriter.utility import xl_rowcol_to_cell

from schemas.workbook import (
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
    TOTAL_PERIOD,
    UNIT_TYPE_LABELS,
    has_total_column,
    indicator_sheet_headers,
    period_headers,
)
from tongket.reference import indicators_of_sheet, narrative_questions
from tongket.sample.content import UnitReport

INSTRUCTIONS_SHEET = "HUONG_DAN"
HEADER_ROW = 4  # 0-based, as in the template v1 (tongket.workbook_writer)
LIST_HEADER_ROW = 2
MACRO_WORKBOOK_TYPE = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
PLAIN_WORKBOOK_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def fig_tag(sheet: str, code: str, period: int) -> tuple:
    """The tag of a figure cell; period TOTAL_PERIOD (0) is the unit's own total (Tổng)."""
    return ("fig", sheet, code, period)


@dataclass(frozen=True)
class Formula:
    """A formula over cells of its own sheet, named by tag.

    `SUM` adds the smallest rectangle holding all its tags (so it grows when a column is
    inserted inside it, as Excel's does); `+` adds the tagged cells and the constants.
    `cached` False writes it with no cached value, as openpyxl and some tools save formulas.
    """

    op: str
    tags: tuple[Hashable, ...]
    constants: tuple[float, ...] = ()
    cached: bool = True


@dataclass
class Cell:
    """One cell: a value (number, text, date, None) or a formula; `style` is a writer hint."""

    value: Any = None
    formula: Formula | None = None
    tag: Hashable | None = None
    style: str | None = None  # None | "header" | "title" | "date" | "bold"


@dataclass
class SheetModel:
    name: str
    rows: list[list[Cell | None]] = field(default_factory=list)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # r1, c1, r2, c2 inclusive
    hidden_rows: set[int] = field(default_factory=set)
    hidden_cols: set[int] = field(default_factory=set)
    hidden: bool = False

    # --- access -------------------------------------------------------------------------
    @property
    def height(self) -> int:
        return len(self.rows)

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)

    def get(self, row: int, col: int) -> Cell | None:
        if 0 <= row < len(self.rows) and 0 <= col < len(self.rows[row]):
            return self.rows[row][col]
        return None

    def put(self, row: int, col: int, value: Any = None, *, tag: Hashable | None = None, **kw: Any) -> Cell:
        """Set a cell (a Cell, or a value made into one); keeps the old tag unless given one."""
        while len(self.rows) <= row:
            self.rows.append([])
        line = self.rows[row]
        while len(line) <= col:
            line.append(None)
        old = line[col]
        cell = value if isinstance(value, Cell) else Cell(value=value, **kw)
        if tag is not None:
            cell.tag = tag
        elif cell.tag is None and old is not None:
            cell.tag = old.tag
        line[col] = cell
        return cell

    def cells(self) -> Iterator[tuple[int, int, Cell]]:
        for r, line in enumerate(self.rows):
            for c, cell in enumerate(line):
                if cell is not None:
                    yield r, c, cell

    def find(self, tag: Hashable) -> tuple[int, int] | None:
        for r, c, cell in self.cells():
            if cell.tag == tag:
                return r, c
        return None

    def address(self, tag: Hashable) -> str:
        place = self.find(tag)
        if place is None:
            raise KeyError(f"{self.name}: no cell tagged {tag!r}")
        return xl_rowcol_to_cell(*place)

    def row_of(self, tag: Hashable) -> int:
        place = self.find(tag)
        if place is None:
            raise KeyError(f"{self.name}: no cell tagged {tag!r}")
        return place[0]

    def col_of(self, tag: Hashable) -> int:
        place = self.find(tag)
        if place is None:
            raise KeyError(f"{self.name}: no cell tagged {tag!r}")
        return place[1]

    # --- the edits units make -----------------------------------------------------------
    def insert_rows(self, at: int, count: int = 1) -> None:
        """Insert blank rows before row `at`; merges and hidden rows below move down."""
        for _ in range(count):
            self.rows.insert(at, [])
        self.merges = [
            (r1 + count if r1 >= at else r1, c1, r2 + count if r2 >= at else r2, c2) for r1, c1, r2, c2 in self.merges
        ]
        self.hidden_rows = {r + count if r >= at else r for r in self.hidden_rows}

    def insert_cols(self, at: int, count: int = 1) -> None:
        """Insert blank columns before column `at`; merges that span it widen, as in Excel."""
        for line in self.rows:
            if len(line) > at:
                line[at:at] = [None] * count
        self.merges = [
            (r1, c1 + count if c1 >= at else c1, r2, c2 + count if c2 >= at else c2) for r1, c1, r2, c2 in self.merges
        ]
        self.hidden_cols = {c + count if c >= at else c for c in self.hidden_cols}

    def delete_row(self, row: int) -> None:
        if any(r1 <= row <= r2 for r1, _, r2, _ in self.merges):
            raise ValueError(f"{self.name}: row {row + 1} is part of a merged range")
        del self.rows[row]
        self.merges = [(r1 - (r1 > row), c1, r2 - (r2 > row), c2) for r1, c1, r2, c2 in self.merges]
        self.hidden_rows = {r - (r > row) for r in self.hidden_rows if r != row}

    def permute_cols(self, cols: list[int], targets: list[int]) -> None:
        """Column cols[i] moves to targets[i] (cut and paste; `targets` is a permutation of
        `cols`). A merged range may span the whole block, not part of it."""
        low, high = min(cols), max(cols)
        for _, c1, _, c2 in self.merges:
            if not (c2 < low or c1 > high or (c1 <= low and c2 >= high)):
                raise ValueError(f"{self.name}: a merged range cuts the columns to move")
        moves = dict(zip(cols, targets))
        for line in self.rows:
            while len(line) <= high:
                line.append(None)
            saved = [line[c] for c in cols]
            for target, cell in zip(targets, saved):
                line[target] = cell
        self.hidden_cols = {moves.get(c, c) for c in self.hidden_cols}

    def reorder_rows(self, first: int, order: list[int]) -> None:
        """Rows first..first+len(order)-1 rearranged: new row first+i is old row first+order[i]."""
        block = self.rows[first : first + len(order)]
        self.rows[first : first + len(order)] = [block[i] for i in order]


@dataclass
class BookModel:
    sheets: list[SheetModel] = field(default_factory=list)
    active: int = 0

    def sheet(self, name: str) -> SheetModel:
        for sheet in self.sheets:
            if sheet.name == name:
                return sheet
        raise KeyError(name)

    def has_sheet(self, name: str) -> bool:
        return any(s.name == name for s in self.sheets)

    def remove_sheet(self, name: str) -> None:
        self.sheets = [s for s in self.sheets if s.name != name]
        self.active = min(self.active, len(self.sheets) - 1)

    # --- what Excel would show ------------------------------------------------------------
    def formula_text(self, sheet: SheetModel, formula: Formula) -> str:
        """The formula as A1 text (no '=')."""
        refs = [sheet.address(tag) for tag in formula.tags]
        constants = [_number_text(v) for v in formula.constants]
        if formula.op == "SUM":
            if len(refs) == 1:
                return f"SUM({refs[0]})"
            (r1, c1), (r2, c2) = _bounds(sheet, formula.tags)
            return f"SUM({xl_rowcol_to_cell(r1, c1)}:{xl_rowcol_to_cell(r2, c2)})"
        return "+".join(refs + constants)

    def evaluate(self, sheet: SheetModel, formula: Formula) -> float:
        """The value Excel computes: SUM skips text and blanks; '+' takes blanks as 0."""
        total = float(sum(formula.constants))
        if formula.op == "SUM":
            (r1, c1), (r2, c2) = _bounds(sheet, formula.tags)
            places = [(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]
        else:
            places = [sheet.find(tag) for tag in formula.tags]
        for r, c in places:
            cell = sheet.get(r, c)
            if cell is None:
                continue
            if cell.formula is not None:
                total += self.evaluate(sheet, cell.formula)
            elif isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                total += cell.value
            elif formula.op == "+" and cell.value not in (None, ""):
                raise ValueError(f"{sheet.name}: '+' over text {cell.value!r} depends on Excel's locale")
        return total


def _bounds(sheet: SheetModel, tags: tuple[Hashable, ...]) -> tuple[tuple[int, int], tuple[int, int]]:
    places = [sheet.find(tag) for tag in tags]
    if None in places:
        raise KeyError(f"{sheet.name}: a formula names a cell that is gone")
    rows, cols = [r for r, _ in places], [c for _, c in places]
    return (min(rows), min(cols)), (max(rows), max(cols))


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# --- the template layout as a model ------------------------------------------------------
def book_from_report(report: UnitReport) -> BookModel:
    """The unit's workbook as the template v1 lays it out, filled with `report`."""
    book = BookModel()
    instructions = SheetModel(INSTRUCTIONS_SHEET)
    instructions.put(0, 0, "HƯỚNG DẪN ĐIỀN BIỂU MẪU", style="bold")
    book.sheets.append(instructions)
    book.sheets.append(_info_sheet(report))
    for sheet in INDICATOR_SHEETS:
        book.sheets.append(_indicator_sheet(sheet, report))
    book.sheets.append(_list_sheet(SHEET_MODELS, report.models))
    book.sheets.append(_list_sheet(SHEET_NOMINATIONS, report.nominations))
    book.sheets.append(_narrative_sheet(report))
    book.active = 1
    return book


def _info_sheet(report: UnitReport) -> SheetModel:
    sheet = SheetModel(SHEET_INFO)
    sheet.put(0, 0, SHEET_TITLES[SHEET_INFO], style="title")
    sheet.merges.append((0, 0, 0, 1))
    values = {
        "unit_code": report.unit_code,
        "unit_name": report.unit_name,
        "unit_type": UNIT_TYPE_LABELS.get(report.unit_type, ""),
        "preparer": report.preparer,
        "phone": report.phone,
        "email": report.email,
        "reported_on": report.reported_on,
        "template_version": TEMPLATE_VERSION,
    }
    for i, info in enumerate(INFO_FIELDS):
        sheet.put(2 + i, 0, info.label, tag=("info_label", info.key))
        value = values.get(info.key) or None
        sheet.put(2 + i, 1, value, tag=("info", info.key), style="date" if info.key == "reported_on" else None)
    return sheet


def _indicator_sheet(name: str, report: UnitReport) -> SheetModel:
    sheet = SheetModel(name)
    headers = indicator_sheet_headers(name)
    periods = list(period_headers(name))
    last_col = len(headers) - 1
    sheet.put(0, 0, f"Đơn vị: {report.unit_name}", style="bold")
    sheet.put(1, 0, SHEET_TITLES[name], style="title")
    sheet.put(2, 0, PERIOD_NOTE)
    sheet.merges += [(1, 0, 1, last_col), (2, 0, 2, last_col)]
    header_tags = ["stt", "code", "label", "unit", *periods]
    if has_total_column(name):
        header_tags.append(TOTAL_PERIOD)
    header_tags.append("note")
    for col, (text, key) in enumerate(zip(headers, header_tags)):
        sheet.put(HEADER_ROW, col, text, tag=("header", name, key), style="header")
    row = HEADER_ROW + 1
    for number, indicator in enumerate(indicators_of_sheet(name), start=1):
        code = indicator.code
        sheet.put(row, 0, number)
        sheet.put(row, 1, code, tag=("code", name, code))
        sheet.put(row, 2, indicator.label_vi, tag=("label", name, code))
        sheet.put(row, 3, indicator.unit_vi or None)
        for i, period in enumerate(periods):
            sheet.put(row, 4 + i, report.figures.get((code, period)), tag=fig_tag(name, code, period))
        col = 4 + len(periods)
        if has_total_column(name):
            tag = fig_tag(name, code, TOTAL_PERIOD)
            if indicator.kind == "flow":
                span = tuple(fig_tag(name, code, p) for p in periods)
                sheet.put(row, col, Cell(formula=Formula("SUM", span), tag=tag))
            else:
                sheet.put(row, col, report.total(code), tag=tag)
            col += 1
        sheet.put(row, col, None, tag=("note", name, code))
        row += 1
    sheet.put(row + 2, 2, "NGƯỜI LẬP BIỂU", style="bold")
    sheet.put(row + 2, 6, "THỦ TRƯỞNG ĐƠN VỊ", style="bold")
    if report.preparer:
        sheet.put(row + 6, 2, report.preparer)
    return sheet


def _list_sheet(name: str, records: list[dict]) -> SheetModel:
    sheet = SheetModel(name)
    columns = LIST_COLUMNS[name]
    sheet.put(0, 0, SHEET_TITLES[name], style="title")
    sheet.merges.append((0, 0, 0, len(columns)))
    sheet.put(LIST_HEADER_ROW, 0, "STT", style="header")
    for col, column in enumerate(columns, start=1):
        sheet.put(LIST_HEADER_ROW, col, column.header, tag=("list_header", name, column.key), style="header")
    for i, record in enumerate(records):
        row = LIST_HEADER_ROW + 1 + i
        sheet.put(row, 0, i + 1)
        for col, column in enumerate(columns, start=1):
            value = record.get(column.key)
            sheet.put(row, col, None if value == "" else value, tag=("list", name, i, column.key))
    return sheet


def _narrative_sheet(report: UnitReport) -> SheetModel:
    sheet = SheetModel(SHEET_NARRATIVE)
    sheet.put(0, 0, SHEET_TITLES[SHEET_NARRATIVE], style="title")
    sheet.merges.append((0, 0, 0, 3))
    for col, header in enumerate(NARRATIVE_HEADERS):
        sheet.put(LIST_HEADER_ROW, col, header, style="header")
    for i, (code, question) in enumerate(narrative_questions().items()):
        row = LIST_HEADER_ROW + 1 + i
        sheet.put(row, 0, i + 1)
        sheet.put(row, 1, code)
        sheet.put(row, 2, question)
        sheet.put(row, 3, report.narratives.get(code), tag=("answer", code))
    return sheet


# --- writers -----------------------------------------------------------------------------
def write_book(book: BookModel, path: Path) -> Path:
    """Write the model in the format its suffix names: .xlsx, .xlsm, .xls or .ods."""
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".xlsx", ".xlsm"):
        return write_xlsx(book, path, macro_enabled=suffix == ".xlsm")
    if suffix == ".xls":
        return write_xls(book, path)
    if suffix == ".ods":
        return write_ods(book, path)
    raise ValueError(f"no writer for {suffix}")


def write_xlsx(book: BookModel, path: Path, macro_enabled: bool = False) -> Path:
    """xlsxwriter; formulas with `cached=False` have their cached value removed afterwards.

    `macro_enabled` marks the package as a macro-enabled workbook (.xlsm), as Excel does when
    a workbook with no macros is saved as .xlsm.
    """
    import xlsxwriter

    from tongket.workbook_writer import REFERENCE_DATE

    target = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        target, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    workbook.set_properties({"created": dt.datetime.combine(REFERENCE_DATE, dt.time(8))})  # not the clock
    base = {"font_name": "Times New Roman", "font_size": 12}
    formats = {
        None: workbook.add_format(base),
        "header": workbook.add_format(base | {"bold": True, "align": "center", "text_wrap": True, "border": 1}),
        "title": workbook.add_format(base | {"bold": True, "align": "center"}),
        "bold": workbook.add_format(base | {"bold": True}),
        "date": workbook.add_format(base | {"num_format": "dd/mm/yyyy"}),
    }
    uncached: dict[int, set[str]] = {}
    for index, model in enumerate(book.sheets):
        sheet = workbook.add_worksheet(model.name)
        tops = {(r1, c1) for r1, c1, _, _ in model.merges}
        inside = {
            (r, c) for r1, c1, r2, c2 in model.merges for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
        } - tops
        for r1, c1, r2, c2 in model.merges:
            top = model.get(r1, c1)
            fmt = formats.get(top.style if top else None, formats[None])
            sheet.merge_range(r1, c1, r2, c2, "", fmt)
            if top is not None and top.formula is None:
                _write_xlsx_value(sheet, r1, c1, top.value, fmt)
        for r, c, cell in model.cells():
            if (r, c) in inside or ((r, c) in tops and cell.formula is None):
                continue
            fmt = formats.get(cell.style, formats[None])
            if cell.formula is not None:
                value = book.evaluate(model, cell.formula)
                sheet.write_formula(r, c, "=" + book.formula_text(model, cell.formula), fmt, value)
                if not cell.formula.cached:
                    uncached.setdefault(index, set()).add(xl_rowcol_to_cell(r, c))
            else:
                _write_xlsx_value(sheet, r, c, cell.value, fmt)
        for r in sorted(model.hidden_rows):
            sheet.set_row(r, None, None, {"hidden": True})
        for c in sorted(model.hidden_cols):
            sheet.set_column(c, c, None, None, {"hidden": True})
    visible = [i for i, s in enumerate(book.sheets) if not s.hidden]
    active = book.active if book.active in visible else visible[0]
    workbook.worksheets()[active].activate()
    for index, model in enumerate(book.sheets):
        if model.hidden and index != active:
            workbook.worksheets()[index].hide()
    workbook.close()
    data = target.getvalue()
    if uncached or macro_enabled:
        data = _patch_package(data, uncached, macro_enabled)
    path.write_bytes(data)
    return path


def _write_xlsx_value(sheet: Any, r: int, c: int, value: Any, fmt: Any) -> None:
    if value is None or value == "":
        sheet.write_blank(r, c, None, fmt)
    elif isinstance(value, bool):
        sheet.write_boolean(r, c, value, fmt)
    elif isinstance(value, (int, float)):
        sheet.write_number(r, c, value, fmt)
    elif isinstance(value, (dt.date, dt.datetime)):
        sheet.write_datetime(r, c, value, fmt)
    else:
        sheet.write_string(r, c, str(value), fmt)


_FORMULA_CELL = re.compile(rb'(<c r="(?P<ref>[A-Z]+\d+)"[^>]*>)(<f>[^<]*</f>)(<v>[^<]*</v>)(</c>)')


def _patch_package(data: bytes, uncached: dict[int, set[str]], macro_enabled: bool) -> bytes:
    """Drop the cached value of the given formula cells; mark the package macro-enabled."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            match = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", info.filename)
            if match and int(match[1]) - 1 in uncached:
                refs = uncached[int(match[1]) - 1]
                content = _FORMULA_CELL.sub(
                    lambda m, refs=refs: m[1] + m[3] + m[5] if m["ref"].decode() in refs else m[0], content
                )
            if info.filename == "[Content_Types].xml" and macro_enabled:
                content = content.replace(PLAIN_WORKBOOK_TYPE, MACRO_WORKBOOK_TYPE)
            target.writestr(info, content)
    return out.getvalue()


def write_xls(book: BookModel, path: Path) -> Path:
    """xlwt (Excel 97-2003). Formulas are written as their values: xlwt stores formulas with
    no cached result, which no real Excel file has."""
    import xlwt

    workbook = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="DD/MM/YYYY")
    plain = xlwt.XFStyle()
    for model in book.sheets:
        sheet = workbook.add_sheet(model.name, cell_overwrite_ok=True)
        for r1, c1, r2, c2 in model.merges:
            sheet.merge(r1, r2, c1, c2)
        for r, c, cell in model.cells():
            value = book.evaluate(model, cell.formula) if cell.formula is not None else cell.value
            if value is None or value == "":
                continue
            if isinstance(value, (dt.date, dt.datetime)):
                sheet.write(r, c, value, date_style)
            else:
                sheet.write(r, c, value, plain)
        for r in model.hidden_rows:
            sheet.row(r).hidden = 1
        for c in model.hidden_cols:
            sheet.col(c).hidden = 1
        if model.hidden:
            sheet.visibility = 1
    workbook.active_sheet = book.active
    workbook.save(str(path))
    return path


def _ods_formula(text: str) -> str:
    """A1 text to OpenFormula: `SUM(E7:I7)` -> `of:=SUM([.E7:.I7])`, `E7+F7` -> `[.E7]+[.F7]`."""
    ranged = re.sub(r"\b([A-Z]+\d+):([A-Z]+\d+)\b", r"[.\1:.\2]", text)
    single = re.sub(r"(?<![.\w])([A-Z]+\d+)\b(?!:)", r"[.\1]", ranged)
    return "of:=" + single


def write_ods(book: BookModel, path: Path) -> Path:
    """odfpy (LibreOffice's format); formulas keep their value, as LibreOffice saves them."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableColumn, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    for model in book.sheets:
        table = Table(name=model.name)
        for c in range(model.width):
            table.addElement(TableColumn(visibility="collapse") if c in model.hidden_cols else TableColumn())
        spans = {(r1, c1): (r2 - r1 + 1, c2 - c1 + 1) for r1, c1, r2, c2 in model.merges}
        covered = {
            (r, c)
            for r1, c1, r2, c2 in model.merges
            for r in range(r1, r2 + 1)
            for c in range(c1, c2 + 1)
            if (r, c) != (r1, c1)
        }
        for r in range(model.height):
            row = TableRow(visibility="collapse") if r in model.hidden_rows else TableRow()
            for c in range(model.width):
                if (r, c) in covered:
                    row.addElement(CoveredTableCell())
                    continue
                cell = model.get(r, c)
                attrs: dict[str, Any] = {}
                if (r, c) in spans:
                    attrs["numberrowsspanned"], attrs["numbercolumnsspanned"] = spans[(r, c)]
                value = None if cell is None else cell.value
                if cell is not None and cell.formula is not None:
                    value = book.evaluate(model, cell.formula)
                    attrs["formula"] = _ods_formula(book.formula_text(model, cell.formula))
                if value is None or value == "":
                    row.addElement(TableCell(**attrs))
                    continue
                if isinstance(value, (dt.date, dt.datetime)):
                    element = TableCell(valuetype="date", datevalue=value.isoformat(), **attrs)
                    text = value.strftime("%d/%m/%Y")
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    element = TableCell(valuetype="float", value=str(value), **attrs)
                    text = _number_text(value)
                else:
                    element = TableCell(valuetype="string", **attrs)
                    text = str(value)
                element.addElement(P(text=text))
                row.addElement(element)
            table.addElement(row)
        document.spreadsheet.addElement(table)
    document.save(str(path))
    _fix_zip_times(path)
    return path


def _fix_zip_times(path: Path) -> None:
    """Rewrite a zip with every member dated REFERENCE_DATE (odfpy stamps the clock's time), so
    the same content always gives the same bytes."""
    from tongket.workbook_writer import REFERENCE_DATE

    stamp = (REFERENCE_DATE.year, REFERENCE_DATE.month, REFERENCE_DATE.day, 8, 0, 0)
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w") as target:
        for info, content in members:
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp)
            fixed.compress_type = info.compress_type
            fixed.external_attr = info.external_attr
            target.writestr(fixed, content)
