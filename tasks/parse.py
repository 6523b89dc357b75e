"""Turn raw cells into typed values by our own rules, never by a library's guess.

The rules (rules.csv R14, R17): a blank cell is "not reported" (NULL); `-` and `0` are zero;
`x` is "not applicable"; `1.234` and `1 234` in a count are 1234; `12 cuộc` is 12 with a
warning; anything with two readings, or none, is rejected with its cell address.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from openpyxl.utils import get_column_letter, range_boundaries

from tongket.text import clean_text, fold, fold_key

REPORTED, BLANK, NOT_APPLICABLE, UNREADABLE = "reported", "blank", "not_applicable", "unreadable"
VALUE_STATUSES = (REPORTED, BLANK, NOT_APPLICABLE, UNREADABLE)

_DASHES = {"-", "–", "—", "--"}
_SIGN_NUMBER_UNIT = re.compile(r"^(?P<sign>[-+]?)\s*(?P<num>\d[\d., ]*\d|\d)\s*(?P<unit>[^\d\s].*)?$")
_INT = re.compile(r"^\d+$")
# Thousands groups: a leading group of 1-3 digits that does not start with 0, then groups of 3.
_DOT_THOUSANDS = re.compile(r"^[1-9]\d{0,2}(\.\d{3})+$")
_SPACE_THOUSANDS = re.compile(r"^[1-9]\d{0,2}( \d{3})+$")
_COMMA_THOUSANDS = re.compile(r"^[1-9]\d{0,2}(,\d{3})+$")
_VN_DECIMAL = re.compile(r"^(?P<int>[1-9]\d{0,2}(?:[. ]\d{3})+|\d+),(?P<frac>\d+)$")
_EN_DECIMAL = re.compile(r"^(?P<int>[1-9]\d{0,2}(?:[, ]\d{3})+|\d+)\.(?P<frac>\d+)$")


@dataclass(frozen=True)
class ParsedValue:
    """A cell read by our rules: a value and its status, and why when it is not plain."""

    value: float | None
    status: str
    problem: str | None = None  # why it is unreadable (Vietnamese), for R14
    note: str | None = None  # a tolerated reading the unit should still see (warning)


def cell_ref(row: int, col: int) -> str:
    """Excel address of a 0-based (row, col): (11, 5) -> 'F12'."""
    return f"{get_column_letter(col + 1)}{row + 1}"


def describe_raw(raw: object) -> str:
    """How a raw cell value is quoted back to the unit."""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return clean_text(raw)


def _two_readings(text: str, thousands: str, decimal: str) -> str:
    as_decimal = describe_raw(float(decimal)).replace(".", ",")
    return f"'{text}' có thể đọc là {thousands} hoặc {as_decimal}"


def _reading_of_number_text(text: str, value_type: str) -> tuple[float | None, str | None]:
    """The number a text means, or (None, reason) when it has no reading or two."""
    if _INT.match(text):
        return float(text), None
    if _SPACE_THOUSANDS.match(text):
        return float(text.replace(" ", "")), None
    if _DOT_THOUSANDS.match(text):
        groups = text.count(".")
        if value_type == "int" or groups > 1:
            return float(text.replace(".", "")), None
        return None, _two_readings(text, text.replace(".", ""), text)
    if _COMMA_THOUSANDS.match(text):
        if text.count(",") > 1:
            return float(text.replace(",", "")), None
        return None, _two_readings(text, text.replace(",", ""), text.replace(",", "."))
    match = _VN_DECIMAL.match(text)
    if match:
        whole = match["int"].replace(".", "").replace(" ", "")
        return float(f"{whole}.{match['frac']}"), None
    match = _EN_DECIMAL.match(text)
    if match:
        whole = match["int"].replace(",", "").replace(" ", "")
        return float(f"{whole}.{match['frac']}"), None
    return None, f"'{text}' không phải là số"


def _unit_words(unit_vi: str) -> set[str]:
    """Units of measure a unit may type after a number: the full unit or its first word."""
    key = fold_key(unit_vi)
    return {key, key.split(" ")[0]} if key else set()


def parse_number(raw: object, value_type: str, unit_vi: str = "") -> ParsedValue:
    """Read one cell of a numeric indicator by the R14/R17 rules."""
    if raw is None or raw == "":
        return ParsedValue(None, BLANK)
    if isinstance(raw, bool):
        return ParsedValue(None, UNREADABLE, f"ô chứa giá trị logic {raw}, không phải số")
    if isinstance(raw, (int, float)):
        value = float(raw)
        if math.isnan(value) or math.isinf(value):
            return ParsedValue(None, UNREADABLE, "ô chứa giá trị lỗi, không phải số")
        return ParsedValue(value, REPORTED)
    if isinstance(raw, (dt.date, dt.time, dt.timedelta)):
        return ParsedValue(None, UNREADABLE, f"ô có định dạng ngày giờ ({raw}), không phải số")
    text = clean_text(raw)
    if text == "":
        return ParsedValue(None, BLANK)
    if text in _DASHES:
        return ParsedValue(0.0, REPORTED)
    if fold(text) == "x":
        return ParsedValue(None, NOT_APPLICABLE)
    if text.startswith("#"):
        return ParsedValue(None, UNREADABLE, f"ô chứa lỗi công thức '{text}'")
    match = _SIGN_NUMBER_UNIT.match(text)
    if not match:
        return ParsedValue(None, UNREADABLE, f"'{text}' không phải là số")
    number_text = re.sub(r" +", " ", match["num"]).strip()
    value, reason = _reading_of_number_text(number_text, value_type)
    if value is None:
        return ParsedValue(None, UNREADABLE, reason)
    if match["sign"] == "-":
        value = -value
    note = None
    if match["unit"]:
        unit_typed = fold_key(match["unit"])
        if unit_typed not in _unit_words(unit_vi):
            return ParsedValue(None, UNREADABLE, f"'{text}' có chữ '{match['unit'].strip()}' đi kèm số")
        note = f"'{text}' được đọc là {describe_raw(value)}"
    return ParsedValue(value, REPORTED, note=note)


# --- formulas without a cached value ---------------------------------------------------
# Only what units type to add figures up: `=SUM(E7:I7)`, `=E7+F7+12`, `=SUM(N7:Q7)+3`. The
# reader evaluates them the way Excel would have stored the result (see `SimpleFormula`);
# anything else is an R14 error, never a guess.
_REF = r"\$?[A-Z]{1,3}\$?\d{1,7}"
_FORMULA_TERM = re.compile(rf"^(?:SUM\((?P<args>[^()]*)\)|(?P<ref>{_REF})|(?P<num>\d+(?:\.\d+)?))$")
_ARG = re.compile(rf"^(?:(?P<range>{_REF}:{_REF})|(?P<ref>{_REF})|(?P<num>\d+(?:\.\d+)?))$")
MAX_FORMULA_CELLS = 10_000


@dataclass(frozen=True)
class SimpleFormula:
    """A formula that adds cells of its own sheet, as Excel computes it.

    Cells inside `SUM(...)` are `summed`: Excel skips text and blanks there. Cells joined by
    `+` are `added`: a blank is 0, and a text cell would be converted by Excel's locale (or
    give #VALUE!), which we do not guess. Cells are 0-based (row, col).
    """

    summed: tuple[tuple[int, int], ...]
    added: tuple[tuple[int, int], ...]
    constant: float


def _split_plus(formula: str) -> list[str] | None:
    """Split `a+b+SUM(c:d)` on top-level '+'; None when a term is empty (`a++b`)."""
    terms, depth, current = [], 0, ""
    for ch in formula:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "+" and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    terms.append(current)
    terms = [t.strip() for t in terms]
    return None if any(not t for t in terms) else terms


def _cells_of(span: str) -> list[tuple[int, int]] | None:
    min_col, min_row, max_col, max_row = range_boundaries(span.replace("$", ""))
    if (max_row - min_row + 1) * (max_col - min_col + 1) > MAX_FORMULA_CELLS:
        return None
    return [(r - 1, c - 1) for r in range(min_row, max_row + 1) for c in range(min_col, max_col + 1)]


def parse_simple_formula(formula: str) -> SimpleFormula | None:
    """The cells and constant a `SUM`/`+` formula adds up; None if it is anything else."""
    text = formula.strip().lstrip("=").replace(" ", "").upper()
    terms = _split_plus(text) if text else None
    if not terms:
        return None
    summed: list[tuple[int, int]] = []
    added: list[tuple[int, int]] = []
    constant = 0.0
    for term in terms:
        match = _FORMULA_TERM.match(term)
        if not match:
            return None
        if match["num"]:
            constant += float(match["num"])
        elif match["ref"]:
            added.extend(_cells_of(match["ref"]) or [])
        else:
            for arg in (a for a in match["args"].split(",") if a):
                arg_match = _ARG.match(arg)
                if not arg_match:
                    return None
                if arg_match["num"]:
                    constant += float(arg_match["num"])
                    continue
                cells = _cells_of(arg_match["range"] or arg_match["ref"])
                if cells is None:
                    return None
                summed.extend(cells)
    return SimpleFormula(tuple(summed), tuple(added), constant)


# --- dates -----------------------------------------------------------------------------
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY_WORDS = re.compile(r"ngay (\d{1,2}) thang (\d{1,2}) nam (\d{4})")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def parse_date(raw: object) -> tuple[dt.date | None, str | None]:
    """A report date typed as a date, an Excel serial or `dd/mm/yyyy` text; else (None, why)."""
    if raw is None or raw == "":
        return None, None
    if isinstance(raw, dt.datetime):
        return raw.date(), None
    if isinstance(raw, dt.date):
        return raw, None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if float(raw).is_integer() and 20_000 <= raw <= 80_000:
            return _EXCEL_EPOCH + dt.timedelta(days=int(raw)), None
        return None, f"'{describe_raw(raw)}' không phải là ngày"
    text = clean_text(raw)
    for pattern, order in ((_DMY, "dmy"), (_YMD, "ymd")):
        match = pattern.match(text)
        if match:
            parts = [int(x) for x in match.groups()]
            day, month, year = parts if order == "dmy" else parts[::-1]
            try:
                return dt.date(year, month, day), None
            except ValueError:
                return None, f"'{text}' không phải là ngày hợp lệ (ghi theo dd/mm/yyyy)"
    match = _DMY_WORDS.search(fold_key(text))
    if match:
        day, month, year = (int(x) for x in match.groups())
        try:
            return dt.date(year, month, day), None
        except ValueError:
            pass
    return None, f"'{text}' không phải là ngày (ghi theo dd/mm/yyyy)"
