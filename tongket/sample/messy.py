"""`tongket sample --messy`: the inbox a district really receives.

Starting from the clean sample, a deterministic share of the units' files shows each deviation
of the spec's "What real submissions do" (rows and columns inserted, hidden or moved, headers
split over merged cells, labels edited, codes left blank, numbers typed as text, formulas with
and without cached values, dates as text or serials, NFD text, unit names typed without the
code, corrections, .xls/.ods/.xlsm files), a few files must be rejected (empty, a PDF renamed
.xlsx, encrypted, zip bombs, far too large, an unknown unit, a file lacking 01_PBGDPL), and a
few figures break the validation rules.

Beside the inbox it writes what a correct pipeline must load and raise:
- `expected_figures.csv` (`unit_code,indicator_code,period,value`): the figures of each unit's
  current report (a correction supersedes; a rejected file loads nothing; a rejected figure
  has no value);
- `expected_issues.csv` (`file_name,sheet,cell,rule_id`): every issue the files must raise,
  derived from what was planted: the rules that read one file (R01-R12, R14-R17, R19), R18
  (arrival after the configured deadline), R20 (a correction), and the R13 outliers planted
  (R13 may also flag genuine peaks of the clean figures, which are not listed).
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import os
import random
import struct
import unicodedata
import zlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path

from schemas.workbook import (
    INDICATOR_SHEETS,
    SHEET_CTCPL,
    SHEET_HGCS,
    SHEET_INFO,
    SHEET_NOMINATIONS,
    SHEET_PBGDPL,
    TOTAL_PERIOD,
    has_total_column,
    period_headers,
)
from tongket.reference import PERIOD_YEARS, indicators, indicators_of_sheet
from tongket.sample.book_model import BookModel, Cell, Formula, SheetModel, book_from_report, fig_tag, write_book
from tongket.sample.content import UnitReport, generate_unit_report
from tongket.text import fold_key

EXPECTED_ISSUES_FILE = "expected_issues.csv"
ISSUE_FIELDS = ["file_name", "sheet", "cell", "rule_id"]
VN = dt.timezone(dt.timedelta(hours=7))
EXCEL_EPOCH = dt.date(1899, 12, 30)
# Blank cells that are not missing figures (schemas.indicator_sheets.BLANK_ALLOWED says why).
BLANK_ALLOWED = {("CT_DAT", 2021), ("CT_DIEM", 2021)}
PB, HG, CT = SHEET_PBGDPL, SHEET_HGCS, SHEET_CTCPL
REPORTED, BLANK, NOT_APPLICABLE, UNREADABLE = "reported", "blank", "not_applicable", "unreadable"


@dataclass
class Reading:
    """How a correct reader reads one figure cell, before validation."""

    value: float | None
    status: str = REPORTED


@dataclass
class MessyFile:
    """One file of the messy inbox: the workbook model and the truth about it."""

    unit: dict
    report: UnitReport
    book: BookModel
    file_name: str
    received_at: dt.datetime
    readings: dict[tuple[str, str, int], Reading] = field(default_factory=dict)
    rejected: set[tuple[str, str, int]] = field(default_factory=set)
    planted: list[tuple[str | None, Hashable | None, str]] = field(default_factory=list)  # sheet, tag, rule
    deviations: list[str] = field(default_factory=list)
    is_rejected_file: bool = False
    write: Callable[[MessyFile, Path], None] | None = None  # how to write it, when not write_book

    @property
    def unit_type(self) -> str:
        return self.unit["unit_type"]

    @property
    def reported_on(self) -> dt.date | None:
        return self.report.reported_on

    def figure_tag(self, code: str, period: int) -> tuple:
        return fig_tag(indicators()[code].sheet, code, period)

    def value(self, code: str, period: int) -> float | None:
        return self.readings[(indicators()[code].sheet, code, period)].value

    def retype(self, code: str, period: int, typed: object, reading: Reading) -> None:
        """Put `typed` in a figure cell and record how it must be read."""
        sheet = indicators()[code].sheet
        model = self.book.sheet(sheet)
        model.put(*model.find(fig_tag(sheet, code, period)), typed)
        self.readings[(sheet, code, period)] = reading

    def set_number(self, code: str, period: int, value: float) -> None:
        self.retype(code, period, value, Reading(float(value)))

    def plant(self, rule: str, code: str | None = None, period: int | None = None, sheet: str | None = None) -> None:
        """An issue the file must raise: at a figure's cell, or on a sheet or the whole file."""
        if code is not None:
            sheet = indicators()[code].sheet
            self.planted.append((sheet, fig_tag(sheet, code, period), rule))
        else:
            self.planted.append((sheet, None, rule))

    def plant_cross_rule(self, rule: str, codes: tuple[str, ...], period: int, error: bool) -> None:
        """A rule across indicators flags (and, for an error, rejects) every figure it names."""
        for code in codes:
            self.plant(rule, code, period)
            if error:
                self.rejected.add((indicators()[code].sheet, code, period))


def start_file(unit: dict, report: UnitReport, file_name: str, received_at: dt.datetime) -> MessyFile:
    report = copy.deepcopy(report)
    messy = MessyFile(unit, report, book_from_report(report), file_name, received_at)
    for code, indicator in indicators().items():
        for period in PERIOD_YEARS:
            value = report.figures.get((code, period))
            status = REPORTED if value is not None else BLANK
            messy.readings[(indicator.sheet, code, period)] = Reading(value, status)
    return messy


# --- tolerated deviations: the figures read are the figures the unit meant -----------------
def present(sheet: SheetModel) -> list[str]:
    """The codes of the indicator rows still in a sheet (delete_rows may have removed some)."""
    return [i.code for i in indicators_of_sheet(sheet.name) if sheet.find(("code", sheet.name, i.code))]


def insert_title_rows(messy: MessyFile, rng: random.Random) -> None:
    """Title and blank rows above the header, and blank rows inside the table."""
    for name in INDICATOR_SHEETS:
        sheet = messy.book.sheet(name)
        sheet.insert_rows(0, 2)
        sheet.put(0, 0, "ỦY BAN NHÂN DÂN HUYỆN", style="bold")
        sheet.put(0, 5, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", style="bold")
        codes = present(sheet)
        between = sheet.row_of(("code", name, codes[rng.randrange(1, len(codes))]))
        sheet.insert_rows(between)
        sheet.insert_rows(sheet.row_of(("code", name, codes[0])))


def insert_and_hide_columns(messy: MessyFile, rng: random.Random) -> None:
    """A column before STT and one after the label, a plan column after the table; STT, the
    unit of measure and the first period column hidden, and one indicator row hidden."""
    for name in INDICATOR_SHEETS:
        sheet = messy.book.sheet(name)
        header = sheet.row_of(("header", name, "code"))
        sheet.insert_cols(0)
        sheet.put(header, 0, "TT")
        label_col = sheet.col_of(("header", name, "label"))
        sheet.insert_cols(label_col + 1)
        sheet.put(header, label_col + 1, "Căn cứ số liệu")
        plan_col = sheet.width
        sheet.put(header, plan_col, "Kế hoạch năm 2021")
        for code in present(sheet):
            sheet.put(sheet.row_of(("code", name, code)), plan_col, rng.randint(1, 50))
        first_period = next(iter(period_headers(name)))
        sheet.hidden_cols |= {
            1,
            sheet.col_of(("header", name, "unit")),
            sheet.col_of(("header", name, first_period)),
        }
        sheet.hidden_rows.add(sheet.row_of(("code", name, rng.choice(present(sheet)))))


def reorder_sheets_and_add_extras(messy: MessyFile, rng: random.Random) -> None:
    """Sheets in another order, plus a draft copy of 01_PBGDPL with other figures, an empty
    Sheet1 and a hidden working sheet."""
    book = messy.book
    draft_report = generate_unit_report(messy.unit, rng.randint(10_000, 99_999))
    draft = book_from_report(draft_report).sheet(PB)
    draft.name = f"{PB} (2)"
    working = book_from_report(draft_report).sheet(HG)
    working.name, working.hidden = "Tinh toan", True
    rng.shuffle(book.sheets)
    book.sheets.insert(rng.randrange(len(book.sheets) + 1), draft)
    book.sheets.append(SheetModel("Sheet1"))
    book.sheets.append(working)
    book.active = next(i for i, s in enumerate(book.sheets) if s.name == SHEET_INFO)


def split_header(messy: MessyFile, rng: random.Random) -> None:
    """The header over two rows: a merged group title above the period columns, the other
    headers merged vertically."""
    for name in INDICATOR_SHEETS:
        sheet = messy.book.sheet(name)
        header = sheet.row_of(("header", name, "code"))
        sheet.insert_rows(header + 1)
        period_cols = [sheet.col_of(("header", name, p)) for p in period_headers(name)]
        first, last = min(period_cols), max(period_cols)
        for c in range(sheet.width):
            cell = sheet.get(header, c)
            if cell is None:
                continue
            if first <= c <= last:
                sheet.put(header + 1, c, cell)
                sheet.rows[header][c] = None
            else:
                sheet.merges.append((header, c, header + 1, c))
        sheet.put(header, first, "Kết quả thực hiện qua các năm", style="header")
        sheet.merges.append((header, first, header, last))


def reorder_period_columns(messy: MessyFile, rng: random.Random) -> None:
    """The period columns in another order (2021 first, say): found by their header text."""
    for name in INDICATOR_SHEETS:
        sheet = messy.book.sheet(name)
        periods = list(period_headers(name))
        cols = [sheet.col_of(("header", name, p)) for p in periods]
        order = cols[:]
        while order == cols:
            rng.shuffle(order)
        sheet.permute_cols(cols, order)


def reorder_rows(messy: MessyFile, rng: random.Random) -> None:
    for name in INDICATOR_SHEETS:
        sheet = messy.book.sheet(name)
        codes = present(sheet)
        order = list(range(len(codes)))
        while order == sorted(order):
            rng.shuffle(order)
        sheet.reorder_rows(min(sheet.row_of(("code", name, code)) for code in codes), order)


def delete_rows(messy: MessyFile, rng: random.Random) -> None:
    """The rows of two indicators deleted: not reported (R17 says so for a required one)."""
    for code in ("TSPL_DAUSACH", "HG_KP"):
        sheet_name = indicators()[code].sheet
        sheet = messy.book.sheet(sheet_name)
        row = sheet.find(("code", sheet_name, code)) or sheet.find(("label", sheet_name, code))
        sheet.delete_row(row[0])
        for period in PERIOD_YEARS:
            messy.readings.pop((sheet_name, code, period), None)
        if indicators()[code].is_reported_by(messy.unit_type):
            messy.plant("R17", sheet=sheet_name)


def edit_labels(messy: MessyFile, rng: random.Random) -> None:
    """Every label rewritten, the code left intact."""
    for name in INDICATOR_SHEETS:
        sheet = messy.book.sheet(name)
        for code in present(sheet):
            r, c = sheet.find(("label", name, code))
            label = indicators()[code].label_vi
            sheet.put(r, c, rng.choice([label.upper(), f"{label} (lũy kế)", f"- {label.lower()}"]))


def blank_codes(messy: MessyFile, rng: random.Random) -> None:
    """Every other code cell left blank; the label is exactly the template's."""
    for name in INDICATOR_SHEETS:
        sheet = messy.book.sheet(name)
        for code in present(sheet)[rng.randrange(2) :: 2]:
            sheet.put(*sheet.find(("code", name, code)), None)


def _thousands(value: float, separator: str) -> str:
    return f"{int(value):,}".replace(",", separator)


def numbers_as_text(messy: MessyFile, rng: random.Random) -> None:
    """`1.234`, `1 234`, `12 cuộc`, ` 45 ` typed as text: read as the numbers they are."""
    big = [
        (code, period)
        for code in ("PB_LUOT", "TL_BAN", "PB_LUOT_DTTS", "THI_LUOT")
        for period in PERIOD_YEARS
        if (messy.value(code, period) or 0) >= 1000
    ]
    rng.shuffle(big)
    for (code, period), separator in zip(big, (".", " ")):
        value = messy.value(code, period)
        messy.retype(code, period, _thousands(value, separator), Reading(value))
    period = rng.choice(PERIOD_YEARS)
    value = messy.value("PB_CUOC", period)
    messy.retype("PB_CUOC", period, f"{int(value)} cuộc", Reading(value))
    messy.plant("R14", "PB_CUOC", period)  # tolerated reading: loaded, with a warning
    stock = "TTV" if messy.unit_type == "commune" else "BCV"
    period = rng.choice(PERIOD_YEARS[:-1])
    value = messy.value(stock, period)
    messy.retype(stock, period, f" {int(value)} ", Reading(value))


def dashes_x_and_blanks(messy: MessyFile, rng: random.Random) -> None:
    """`-` is zero, `x` is not applicable, a blank is not reported (R17)."""
    messy.retype("PT_LUOT", rng.choice(PERIOD_YEARS), "-", Reading(0.0))
    messy.retype("TIN_BAI", rng.choice(PERIOD_YEARS), "x", Reading(None, NOT_APPLICABLE))
    messy.retype("NPL_HD", rng.choice(PERIOD_YEARS), None, Reading(None, BLANK))


def _formulas(messy: MessyFile, rng: random.Random, cached: bool) -> None:
    sheet = messy.book.sheet(PB)
    helper = sheet.width + 1
    period = rng.choice(PERIOD_YEARS)
    value = messy.value("TL_LOAI", period)
    row = sheet.row_of(("code", PB, "TL_LOAI"))
    parts = [value // 2, value - value // 2]
    for i, part in enumerate(parts):
        sheet.put(row, helper + i, part, tag=("helper", "TL_LOAI", i))
    formula = Formula("SUM", (("helper", "TL_LOAI", 0), ("helper", "TL_LOAI", 1)), cached=cached)
    sheet.put(*sheet.find(fig_tag(PB, "TL_LOAI", period)), Cell(formula=formula))
    period = rng.choice(PERIOD_YEARS)
    value = messy.value("KP_PBGDPL", period)
    row = sheet.row_of(("code", PB, "KP_PBGDPL"))
    sheet.put(row, helper, round(value - 1.5, 2), tag=("helper", "KP", 0))
    formula = Formula("+", (("helper", "KP", 0),), constants=(1.5,), cached=cached)
    sheet.put(*sheet.find(fig_tag(PB, "KP_PBGDPL", period)), Cell(formula=formula))
    if not cached:
        for name in (PB, HG):
            model = messy.book.sheet(name)
            for _, _, cell in model.cells():
                if cell.formula is not None:
                    cell.formula = Formula(cell.formula.op, cell.formula.tags, cell.formula.constants, cached=False)


def formulas_cached(messy: MessyFile, rng: random.Random) -> None:
    """Figures computed by `=SUM(...)` and `=a+1.5`, saved with their cached values."""
    _formulas(messy, rng, cached=True)


def formulas_not_cached(messy: MessyFile, rng: random.Random) -> None:
    """The same formulas, and every Tổng, saved with no cached value (as openpyxl saves)."""
    _formulas(messy, rng, cached=False)


def _set_report_date(messy: MessyFile, typed: object) -> None:
    info = messy.book.sheet(SHEET_INFO)
    info.put(*info.find(("info", "reported_on")), Cell(value=typed))


def date_as_text(messy: MessyFile, rng: random.Random) -> None:
    _set_report_date(messy, messy.reported_on.strftime(rng.choice(["%d/%m/%Y", "%d-%m-%Y", " %d/%m/%Y "])))


def date_as_serial(messy: MessyFile, rng: random.Random) -> None:
    _set_report_date(messy, (messy.reported_on - EXCEL_EPOCH).days)


def _nfd(value: object) -> object:
    return unicodedata.normalize("NFD", value) if isinstance(value, str) else value


def nfd_text(messy: MessyFile, rng: random.Random) -> None:
    """Every text in NFD (decomposed) form, as some Vietnamese keyboard tools type it."""
    for sheet in messy.book.sheets:
        for _, _, cell in sheet.cells():
            cell.value = _nfd(cell.value)


def name_forms(name: str) -> list[str]:
    """How units type a commune's name: 'UBND xã Tân Lập', 'Xã Tân Lập', 'xa tan lap'."""
    bare = name.split(" ", 1)[1]
    return [f"UBND xã {bare}", f"Xã {bare}", "xa " + fold_key(bare)]


def name_without_code(form: int) -> Callable[[MessyFile, random.Random], None]:
    def deviation(messy: MessyFile, rng: random.Random) -> None:
        info = messy.book.sheet(SHEET_INFO)
        info.put(*info.find(("info", "unit_code")), None)
        info.put(*info.find(("info", "unit_name")), name_forms(messy.unit["unit_name"])[form])

    deviation.__name__ = f"name_without_code_{form}"
    deviation.__doc__ = "The unit code removed; the name typed the way units type it."
    return deviation


# --- figures that break the rules ------------------------------------------------------------
def r01_negative_and_fractional(messy: MessyFile, rng: random.Random) -> None:
    for code, period, value in (("TIN_BAI", 2018, -5.0), ("NPL_HD", 2020, 2.5)):
        messy.set_number(code, period, value)
        messy.plant("R01", code, period)
        messy.rejected.add((PB, code, period))


def r02_sessions_above_attendances(messy: MessyFile, rng: random.Random) -> None:
    messy.set_number("PB_CUOC", 2019, messy.value("PB_LUOT", 2019) + 5)
    messy.plant_cross_rule("R02", ("PB_CUOC", "PB_LUOT"), 2019, error=True)


def r03_minority_above_attendances(messy: MessyFile, rng: random.Random) -> None:
    messy.set_number("PB_LUOT_DTTS", 2018, messy.value("PB_LUOT", 2018) + 10)
    messy.plant_cross_rule("R03", ("PB_LUOT_DTTS", "PB_LUOT"), 2018, error=True)


def r04_contests_without_entries(messy: MessyFile, rng: random.Random) -> None:
    held = [p for p in PERIOD_YEARS if (messy.value("THI_CUOC", p) or 0) > 0]
    period = held[0] if held else 2019
    messy.set_number("THI_LUOT", period, 0 if held else 150)
    messy.plant_cross_rule("R04", ("THI_CUOC", "THI_LUOT"), period, error=True)


def r05_fewer_copies_than_titles(messy: MessyFile, rng: random.Random) -> None:
    messy.set_number("TL_BAN", 2020, max(0.0, messy.value("TL_LOAI", 2020) - 1))
    messy.plant_cross_rule("R05", ("TL_BAN", "TL_LOAI"), 2020, error=True)


def r06_cases_do_not_add_up(messy: MessyFile, rng: random.Random) -> None:
    messy.set_number("HG_VV_THANH", 2019, messy.value("HG_VV_THANH", 2019) + 2)
    messy.plant_cross_rule("R06", ("HG_VV_TIEPNHAN", "HG_VV_THANH", "HG_VV_KHONGTHANH", "HG_VV_DANGGQ"), 2019, True)


def r07_more_women_than_mediators(messy: MessyFile, rng: random.Random) -> None:
    messy.set_number("HG_HGV_NU", 2018, messy.value("HG_HGV", 2018) + 1)
    messy.plant_cross_rule("R07", ("HG_HGV_NU", "HG_HGV"), 2018, error=True)


def r08_too_few_mediators(messy: MessyFile, rng: random.Random) -> None:
    mediators = 3 * messy.value("HG_TO", 2019) - 1
    messy.set_number("HG_HGV", 2019, mediators)
    messy.set_number("HG_HGV_NU", 2019, min(messy.value("HG_HGV_NU", 2019), mediators))
    messy.plant_cross_rule("R08", ("HG_HGV", "HG_TO", "HG_HGV_NU"), 2019, error=False)


def r09_score_out_of_range(messy: MessyFile, rng: random.Random) -> None:
    messy.set_number("CT_DIEM", 2019, 120.0)
    messy.plant("R09", "CT_DIEM", 2019)
    messy.rejected.add((CT, "CT_DIEM", 2019))


def r10_met_standard_below_pass_mark(messy: MessyFile, rng: random.Random) -> None:
    messy.set_number("CT_DAT", 2018, 1.0)
    messy.set_number("CT_DIEM", 2018, 72.5)
    messy.plant_cross_rule("R10", ("CT_DAT", "CT_DIEM"), 2018, error=False)


def r11_typed_total_wrong(messy: MessyFile, rng: random.Random) -> None:
    """The unit typed its own PB_LUOT total over the formula, and got it wrong (R11 is derived)."""
    total = sum(messy.value("PB_LUOT", p) or 0 for p in PERIOD_YEARS)
    sheet = messy.book.sheet(PB)
    sheet.put(*sheet.find(fig_tag(PB, "PB_LUOT", TOTAL_PERIOD)), Cell(value=total + 100))


def r12_figures_outside_the_unit_type(messy: MessyFile, rng: random.Random) -> None:
    """An agency filled a mediation figure (R12 is derived: kept apart, never loaded)."""
    messy.set_number("HG_TO", 2019, 3.0)


def r13_outlier(messy: MessyFile, rng: random.Random) -> None:
    messy.set_number("TIN_BAI", 2019, 1500.0)
    messy.plant("R13", "TIN_BAI", 2019)


def r14_text_and_ambiguous_numbers(messy: MessyFile, rng: random.Random) -> None:
    messy.retype("NPL_HD", 2019, "khoảng 20", Reading(None, UNREADABLE))
    messy.retype("KP_PBGDPL", 2018, "1.300", Reading(None, UNREADABLE))  # 1300 or 1,3 million?
    messy.plant("R14", "NPL_HD", 2019)
    messy.plant("R14", "KP_PBGDPL", 2018)


def r19_nomination_without_kind(messy: MessyFile, rng: random.Random) -> None:
    sheet = messy.book.sheet(SHEET_NOMINATIONS)
    index = len(messy.report.nominations)
    row = sheet.height
    sheet.put(row, 0, index + 1)
    values = {"full_name": "Đinh Thị Hoa", "gender": "Nữ", "position": "Trưởng thôn", "sessions": 12, "years": 6}
    columns = [cell.tag[2] for cell in sheet.rows[2] if cell is not None and cell.tag]
    for col, key in enumerate(columns, start=1):
        sheet.put(row, col, values.get(key), tag=("list", SHEET_NOMINATIONS, index, key))
    messy.planted.append((SHEET_NOMINATIONS, ("list", SHEET_NOMINATIONS, index, "kind"), "R19"))


# --- the truth: figures to load, issues to raise --------------------------------------------
def _typed_total(book: BookModel, sheet: SheetModel, code: str) -> float | None:
    place = sheet.find(fig_tag(sheet.name, code, TOTAL_PERIOD))
    if place is None:
        return None
    cell = sheet.get(*place)
    if cell.formula is not None:
        return book.evaluate(sheet, cell.formula)
    return float(cell.value) if isinstance(cell.value, (int, float)) else None


def _computed_total(messy: MessyFile, sheet: str, code: str) -> float | None:
    values = [messy.readings[(sheet, code, p)].value for p in PERIOD_YEARS if (sheet, code, p) in messy.readings]
    reported = [v for v in values if v is not None]
    if not reported:
        return None
    return sum(reported) if indicators()[code].kind == "flow" else reported[-1]


def derive_truth(messy: MessyFile) -> tuple[dict[tuple[str, int], float | None], list[tuple[str, Hashable, str]]]:
    """The figures a correct pipeline loads from this file ((code, period) -> value, for the
    unit type's indicators) and the issues it raises ((sheet, tag or None, rule))."""
    issues = list(messy.planted)
    values: dict[tuple[str, int], float | None] = {
        (code, period): None
        for code, indicator in indicators().items()
        if indicator.is_reported_by(messy.unit_type)
        for period in PERIOD_YEARS
    }
    for name in INDICATOR_SHEETS:
        if not messy.book.has_sheet(name):
            continue
        sheet = messy.book.sheet(name)
        for indicator in indicators_of_sheet(name):
            code = indicator.code
            if sheet.find(("code", name, code)) is None:
                continue  # the row was deleted: delete_rows planted its R17
            in_scope = indicator.is_reported_by(messy.unit_type)
            r12_done = False
            for period in PERIOD_YEARS:
                reading = messy.readings[(name, code, period)]
                tag = fig_tag(name, code, period)
                if in_scope:
                    rejected = (name, code, period) in messy.rejected or reading.status == UNREADABLE
                    values[(code, period)] = None if rejected else reading.value
                    if reading.status == BLANK and (code, period) not in BLANK_ALLOWED:
                        issues.append((name, tag, "R17"))
                elif reading.value is not None and not r12_done:
                    issues.append((name, tag, "R12"))
                    r12_done = True
            if has_total_column(name):
                typed, computed = _typed_total(messy.book, sheet, code), _computed_total(messy, name, code)
                if typed is not None and computed is not None and abs(typed - computed) > 0.005:
                    issues.append((name, fig_tag(name, code, TOTAL_PERIOD), "R11"))
    return values, issues


def _resolve(messy: MessyFile, issues: list[tuple[str | None, Hashable | None, str]]) -> list[dict]:
    rows = []
    for sheet, tag, rule in issues:
        cell = messy.book.sheet(sheet).address(tag) if tag is not None else ""
        rows.append({"file_name": messy.file_name, "sheet": sheet or "", "cell": cell, "rule_id": rule})
    return rows


# --- files that must be rejected -------------------------------------------------------------
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def write_encrypted(source: Path, target: Path, password: str = "123456") -> Path:
    """The workbook encrypted with a password (msoffcrypto-tool, ECMA-376 agile encryption)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    with source.open("rb") as plain, target.open("wb") as out:
        OOXMLFile(plain).encrypt(password, out)
    return target


def _zip_bytes(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip written by hand from (name, deflated data, crc, size the directory declares)."""
    local, central = bytearray(), bytearray()
    for name, data, crc, declared in members:
        raw_name = name.encode()
        offset = len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), declared, len(raw_name), 0)
        local += raw_name + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            8,
            0,
            0,
            crc,
            len(data),
            declared,
            len(raw_name),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += raw_name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(local), 0)
    return bytes(local + central + end)


def _deflated(data: bytes) -> tuple[bytes, int, int]:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data)


def write_zip_bomb(target: Path, inflated_mb: int, declared_bytes: int | None = None) -> Path:
    """An .xlsx-looking zip whose sheet inflates to `inflated_mb` MiB of spaces. With
    `declared_bytes` its zip directory lies and declares that size instead (a bomb that hides
    its size from a guard that trusts the directory)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    chunk = b" " * (1 << 20)
    parts, crc = [], 0
    for _ in range(inflated_mb):
        parts.append(compressor.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    bomb = b"".join(parts) + compressor.flush()
    size = inflated_mb << 20
    members = [
        ("[Content_Types].xml", *_deflated(b"<Types/>")),
        ("xl/workbook.xml", *_deflated(b"<workbook/>")),
        ("xl/worksheets/sheet1.xml", bomb, crc, size if declared_bytes is None else declared_bytes),
    ]
    target.write_bytes(_zip_bytes(members))
    return target


def write_oversized(target: Path, megabytes: int) -> Path:
    """A file far larger than any report (sparse: it takes no disk space)."""
    with target.open("wb") as handle:
        handle.write(b"PK\x03\x04")
        handle.truncate(megabytes * 1_000_000)
    return target


# --- the messy inbox ---------------------------------------------------------------------------
TOLERATED: list[tuple[Callable, str]] = [
    (numbers_as_text, "any"),
    (numbers_as_text, "commune"),
    (dashes_x_and_blanks, "any"),
    (dashes_x_and_blanks, "commune"),
    (formulas_cached, "any"),
    (formulas_not_cached, "any"),
    (formulas_not_cached, "commune"),
    (date_as_text, "any"),
    (date_as_serial, "any"),
    (nfd_text, "commune"),
    (nfd_text, "agency"),
    (name_without_code(0), "commune"),
    (name_without_code(1), "commune"),
    (name_without_code(2), "commune"),
]
RULE_BREAKS: list[tuple[Callable, str]] = [
    (r01_negative_and_fractional, "any"),
    (r02_sessions_above_attendances, "any"),
    (r03_minority_above_attendances, "any"),
    (r04_contests_without_entries, "any"),
    (r05_fewer_copies_than_titles, "any"),
    (r06_cases_do_not_add_up, "commune"),
    (r07_more_women_than_mediators, "commune"),
    (r08_too_few_mediators, "commune"),
    (r09_score_out_of_range, "commune"),
    (r10_met_standard_below_pass_mark, "commune"),
    (r11_typed_total_wrong, "any"),
    (r12_figures_outside_the_unit_type, "agency"),
    (r13_outlier, "commune"),
    (r14_text_and_ambiguous_numbers, "any"),
    (r19_nomination_without_kind, "any"),
]
LAYOUTS = [
    insert_title_rows,
    insert_and_hide_columns,
    reorder_sheets_and_add_extras,
    split_header,
    reorder_period_columns,
    reorder_rows,
    delete_rows,
    edit_labels,
    blank_codes,
]
FORMATS = [".xls", ".ods", ".xlsm", ".xls", ".ods"]


def _received_on_mtime(path: Path) -> dt.datetime:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, VN).replace(tzinfo=None)


def _set_mtime(path: Path, moment: dt.datetime) -> None:
    stamp = moment.replace(tzinfo=VN).timestamp()
    os.utime(path, (stamp, stamp))


def _pick(pools: dict[str, list[dict]], kind: str, taken: set[str]) -> dict | None:
    """The next untaken unit of a kind; for "any", of the kind with more units left."""
    left = {k: [u for u in pool if u["unit_code"] not in taken] for k, pool in pools.items()}
    if kind == "any":
        kind = max(left, key=lambda k: len(left[k]))
    if not left[kind]:
        return None
    taken.add(left[kind][0]["unit_code"])
    return left[kind][0]


def _unique_name_communes(units: list[dict]) -> set[str]:
    """Communes whose name, without its prefix, no other unit shares (the name forms of
    `name_forms` then point at exactly one unit)."""
    keys = [fold_key(u["unit_name"].split(" ", 1)[-1]) for u in units]
    return {
        u["unit_code"]
        for u, key in zip(units, keys)
        if u["unit_type"] == "commune" and u["unit_name"].startswith("Xã ") and keys.count(key) == 1
    }


def make_messy(
    reports: list[tuple[dict, UnitReport, Path]],
    inbox: Path,
    out: Path,
    seed: int,
    expected: list[dict],
    deadline: dt.date | None = None,
) -> tuple[list[dict], str]:
    """Turn the clean inbox messy; returns the expected figures and a summary, and writes
    `expected_issues.csv` beside the inbox."""
    if deadline is None:
        from tongket.settings import load_settings

        deadline = load_settings().district.deadline
    rng = random.Random(f"messy-{seed}")
    units = [unit for unit, _, _ in reports]
    by_code = {unit["unit_code"]: (unit, report, path) for unit, report, path in reports}
    nameable = _unique_name_communes(units)
    pools = {kind: [u for u in units if u["unit_type"] == kind] for kind in ("commune", "agency")}
    for pool in pools.values():
        rng.shuffle(pool)
    # Units whose name can be typed without the code come first for those deviations.
    pools["commune"].sort(key=lambda u: u["unit_code"] not in nameable)
    files: dict[str, list[MessyFile]] = {}  # unit code -> its messy files
    extras: list[tuple[str, list[dict]]] = []  # (file name, issue rows) of files of no unit
    taken: set[str] = set()
    skipped: list[str] = []

    def messy_file(unit: dict, suffix: str = ".xlsx") -> MessyFile:
        _, report, path = by_code[unit["unit_code"]]
        name = Path(path.name).with_suffix(suffix).name
        return start_file(unit, report, name, _received_on_mtime(path))

    # Content: each file shows one tolerated deviation or breaks one rule (the scenarios that
    # need a named commune, then those that need a commune or an agency, choose first).
    scenarios = sorted(
        TOLERATED + RULE_BREAKS, key=lambda item: (not item[0].__name__.startswith("name_without"), item[1] == "any")
    )
    for deviation, kind in scenarios:
        unit = _pick(pools, kind, taken)
        if unit is None or (deviation.__name__.startswith("name_without") and unit["unit_code"] not in nameable):
            skipped.append(deviation.__name__)
            continue
        messy = messy_file(unit)
        deviation(messy, random.Random(f"{seed}-{deviation.__name__}-{unit['unit_code']}"))
        messy.deviations.append(deviation.__name__)
        files[unit["unit_code"]] = [messy]
    # Layout deviations, three files each, over files that already carry content: each of
    # the first carriers gets two or three, so they are seen combined as well as alone.
    carriers = [files[code][0] for code in sorted(files, key=lambda c: rng.random())]
    spread = max(1, min(len(carriers), len(LAYOUTS) * 3 // 2))
    for i, layout in enumerate(LAYOUTS * 3):
        messy = carriers[(i * 7) % spread]
        # A row with no code and an edited label cannot be identified: never both in a file.
        clash = {"edit_labels": "blank_codes", "blank_codes": "edit_labels"}.get(layout.__name__)
        if layout.__name__ in messy.deviations or clash in messy.deviations:
            continue
        layout(messy, random.Random(f"{seed}-{layout.__name__}-{messy.unit['unit_code']}"))
        messy.deviations.append(layout.__name__)
    # Other formats, for files whose formulas all have cached values.
    formats = iter(FORMATS)
    for messy in carriers:
        if "formulas_not_cached" in messy.deviations or "formulas_cached" in messy.deviations:
            continue
        suffix = next(formats, None)
        if suffix is None:
            break
        messy.file_name = Path(messy.file_name).with_suffix(suffix).name
        messy.deviations.append(f"saved as {suffix}")

    # Corrections: a second file of the same unit, with other figures and a later report date.
    # The second keeps the report date: it supersedes by arriving later.
    for index, unit in enumerate([u for u in [_pick(pools, "any", taken), _pick(pools, "commune", taken)] if u]):
        first = messy_file(unit)
        second = messy_file(unit)
        second.report.reported_on = first.reported_on + dt.timedelta(days=3 if index == 0 else 0)
        _set_report_date(second, second.report.reported_on)
        second.file_name = f"{Path(first.file_name).stem} - bản sửa lại.xlsx"
        second.received_at = first.received_at + dt.timedelta(days=3, hours=2)
        second.set_number("TIN_BAI", 2019, (second.value("TIN_BAI", 2019) or 0) + 3)
        second.set_number("PT_LUOT", 2020, (second.value("PT_LUOT", 2020) or 0) + 5)
        second.plant("R20")
        second.deviations.append("correction")
        files[unit["unit_code"]] = [first, second]
    # A correction that is itself rejected (no 01_PBGDPL): the first file stays current.
    unit = _pick(pools, "commune", taken)
    if unit:
        first = messy_file(unit)
        second = messy_file(unit)
        second.report.reported_on = first.reported_on + dt.timedelta(days=2)
        _set_report_date(second, second.report.reported_on)
        second.book.remove_sheet(PB)
        second.file_name = f"{unit['unit_code']}_bo_sung.xlsx"
        second.received_at = first.received_at + dt.timedelta(days=2)
        second.planted = [(None, None, "R16")]
        second.is_rejected_file = True
        second.deviations.append("lacks 01_PBGDPL")
        files[unit["unit_code"]] = [first, second]
    # A unit whose only file is encrypted: it has no report.
    unit = _pick(pools, "agency", taken)
    if unit:
        encrypted = messy_file(unit)
        encrypted.file_name = f"{Path(encrypted.file_name).stem} (mat khau).xlsx"
        encrypted.planted = [(None, None, "R16")]
        encrypted.is_rejected_file = True
        encrypted.deviations.append("encrypted")

        def write_locked(messy: MessyFile, path: Path) -> None:
            plain = path.with_name(".plain-" + path.name)
            write_book(messy.book, plain)
            write_encrypted(plain, path)
            plain.unlink()

        encrypted.write = write_locked
        files[unit["unit_code"]] = [encrypted]

    # Write every messy file in place of the unit's clean one.
    issue_rows: list[dict] = []
    for code, unit_files in files.items():
        by_code[code][2].unlink()
        for messy in unit_files:
            path = inbox / messy.file_name
            (messy.write or (lambda m, p: write_book(m.book, p)))(messy, path)
            _set_mtime(path, messy.received_at)

    # Files of no unit.
    late = dt.datetime.combine(deadline, dt.time(8)) - dt.timedelta(days=1)
    stranger = generate_unit_report(
        {"unit_code": "THCS-KD", "unit_name": "Trường Trung học cơ sở Kim Đồng", "unit_type": "commune"}, seed
    )
    unknown = start_file({"unit_type": "commune", "unit_code": None}, stranger, "bao cao truong THCS.xlsx", late)
    write_book(unknown.book, inbox / unknown.file_name)
    _set_mtime(inbox / unknown.file_name, late)
    code_cell = unknown.book.sheet(SHEET_INFO).address(("info", "unit_code"))
    extras.append((unknown.file_name, [{"sheet": SHEET_INFO, "cell": code_cell, "rule_id": "R15"}]))
    specials = {
        "Báo cáo tổng kết (1).xlsx": lambda p: p.write_bytes(b""),
        "BC tong ket PBGDPL.pdf.xlsx": lambda p: p.write_bytes(MINIMAL_PDF),
        "tong hop so lieu.xlsx": lambda p: write_zip_bomb(p, 200),
        "so lieu day du.xlsx": lambda p: write_zip_bomb(p, 64, declared_bytes=4096),
        "Ban scan bao cao.xlsx": lambda p: write_oversized(p, 60),
    }
    for name, writer in specials.items():
        writer(inbox / name)
        _set_mtime(inbox / name, late)
        extras.append((name, [{"sheet": "", "cell": "", "rule_id": "R16"}]))

    # The truth.
    expected_rows = [row for row in expected if row["unit_code"] not in files]
    for code, unit_files in files.items():
        loadable = [m for m in unit_files if not m.is_rejected_file]
        for messy in unit_files:
            values, issues = derive_truth(messy) if not messy.is_rejected_file else ({}, messy.planted)
            issue_rows += _resolve(messy, issues)
        if not loadable:
            continue
        current = max(loadable, key=lambda m: (m.reported_on, m.received_at))
        values, _ = derive_truth(current)
        for code_period, value in sorted(values.items(), key=lambda kv: (list(indicators()).index(kv[0][0]), kv[0][1])):
            expected_rows.append(
                {
                    "unit_code": code,
                    "indicator_code": code_period[0],
                    "period": code_period[1],
                    "value": "" if value is None else value,
                }
            )
    for name, rows in extras:
        issue_rows += [{"file_name": name} | row for row in rows]
    # R18: every loadable file that arrived after the deadline, messy or not.
    loadable_names = {m.file_name for fs in files.values() for m in fs if not m.is_rejected_file}
    loadable_names |= {path.name for code, (_, _, path) in by_code.items() if code not in files}
    for path in sorted(inbox.iterdir()):
        if path.name in loadable_names and _received_on_mtime(path).date() > deadline:
            issue_rows.append({"file_name": path.name, "sheet": "", "cell": "", "rule_id": "R18"})
    expected_rows.sort(key=lambda r: (r["unit_code"], list(indicators()).index(r["indicator_code"]), r["period"]))
    issue_rows.sort(key=lambda r: (r["file_name"], r["sheet"], r["cell"], r["rule_id"]))
    with (out / EXPECTED_ISSUES_FILE).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ISSUE_FIELDS)
        writer.writeheader()
        writer.writerows(issue_rows)

    lines = [f"\nMessy: {sum(len(f) for f in files.values()) + len(extras)} files changed or added"]
    for code in sorted(files):
        for messy in files[code]:
            lines.append(f"  {messy.file_name}: {', '.join(messy.deviations)}")
    for name, _ in extras:
        lines.append(f"  {name}: must be rejected")
    if skipped:
        lines.append(f"  Not enough units for: {', '.join(skipped)}")
    lines.append(f"Expected issues: {out / EXPECTED_ISSUES_FILE} ({len(issue_rows)})")
    return expected_rows, "\n".join(lines)
