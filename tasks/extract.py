"""Find the contract's content in a workbook's raw cells, wherever the unit moved it.

Header rows are found by their text, indicator rows by the `Mã số` code (or, failing that, a
label that names exactly one indicator), period columns by their header text. Every value is
read by `tasks.parse`; every problem becomes an Issue with its cell address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from schemas.rules import TOLERATED_READING_SEVERITY, Issue, make_issue
from schemas.workbook import (
    CODE_HEADER_KEYS,
    INFO_FIELDS,
    LABEL_HEADER_KEYS,
    LIST_COLUMNS,
    NARRATIVE_ANSWER_HEADER_KEYS,
    NARRATIVE_CODE_HEADER_KEYS,
    SHEET_INFO,
    SHEET_MODELS,
    SHEET_NOMINATIONS,
    TOTAL_HEADER_KEYS,
    TOTAL_PERIOD,
    ListColumn,
    has_total_column,
    period_headers,
)
from tasks.parse import (
    REPORTED,
    UNREADABLE,
    ParsedValue,
    cell_ref,
    describe_raw,
    parse_date,
    parse_number,
    parse_simple_formula,
)
from tasks.read import SheetGrid
from tongket.reference import Indicator, indicators, indicators_of_sheet, narrative_questions
from tongket.text import clean_text, fold_key, nfc

HEADER_SCAN_ROWS = 40  # a header row further down than this is not a template header
_YEAR_HEADER = re.compile(r"^(?:nam )?(\d{4})(?: |$)")


@dataclass
class FileContext:
    """What the extractor needs to know about the file it reads."""

    file_sha256: str
    file_name: str
    unit_type: str | None = None

    def issue(self, rule_id: str, detail: str | None = None, **where: Any) -> Issue:
        return make_issue(rule_id, self.file_sha256, self.file_name, detail, **where)


@dataclass
class SheetContent:
    """What one sheet yielded: record dicts and the problems found on the way."""

    records: list[dict[str, Any]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    is_structurally_broken: bool = False


# --- cells and formulas -----------------------------------------------------------------
def read_cell(grid: SheetGrid, row: int, col: int, value_type: str, unit_vi: str) -> tuple[ParsedValue, str]:
    """A numeric cell read by our rules, formulas without a cached value evaluated.

    Returns the parsed value and the raw text as the unit typed it (for provenance).
    """
    raw = grid.value(row, col)
    formula = grid.uncached_formulas.get((row, col)) if raw == "" else None
    if formula is None:
        return parse_number(raw, value_type, unit_vi), describe_raw(raw)
    return _evaluate_formula(grid, row, col, value_type, unit_vi, set()), f"={formula}"


def _evaluate_formula(
    grid: SheetGrid, row: int, col: int, value_type: str, unit_vi: str, visiting: set[tuple[int, int]]
) -> ParsedValue:
    """The value Excel would have cached for a simple `SUM`/`+` formula, or UNREADABLE."""
    formula = grid.uncached_formulas[(row, col)]
    simple = parse_simple_formula(formula)
    if simple is None:
        return ParsedValue(None, UNREADABLE, f"công thức '={formula}' chưa có kết quả và không tự tính được")
    if (row, col) in visiting:
        return ParsedValue(None, UNREADABLE, f"công thức '={formula}' tham chiếu vòng")
    visiting = visiting | {(row, col)}
    total = simple.constant
    for cells, is_sum in ((simple.summed, True), (simple.added, False)):
        for r, c in cells:
            raw = grid.value(r, c)
            if raw == "" and (r, c) in grid.uncached_formulas:
                part = _evaluate_formula(grid, r, c, value_type, unit_vi, visiting)
                if part.status == UNREADABLE:
                    return ParsedValue(
                        None, UNREADABLE, f"công thức '={formula}' cộng ô {cell_ref(r, c)} không tính được"
                    )
                total += part.value or 0.0
            elif isinstance(raw, bool) or not isinstance(raw, (int, float)):
                if raw == "" or (is_sum and isinstance(raw, (str, bool)) and not str(raw).startswith("#")):
                    continue  # a blank adds 0; SUM skips text, as Excel does
                return ParsedValue(
                    None,
                    UNREADABLE,
                    f"công thức '={formula}' cộng ô {cell_ref(r, c)} có nội dung '{describe_raw(raw)}'",
                )
            else:
                total += float(raw)
    return ParsedValue(total, REPORTED)


def _has_content(grid: SheetGrid, row: int, col: int) -> bool:
    return grid.value(row, col) != "" or (row, col) in grid.uncached_formulas


# --- 00_THONGTIN ------------------------------------------------------------------------
def extract_info(grid: SheetGrid) -> dict[str, tuple[Any, str]]:
    """Label/value pairs: key -> (raw value, cell of the value). A value sits right of its label."""
    wanted = {fold_key(f.label): f.key for f in INFO_FIELDS}
    found: dict[str, tuple[Any, str]] = {}
    for r, row in enumerate(grid.rows[:200]):
        for c, raw in enumerate(row):
            if not isinstance(raw, str) or not raw:
                continue
            key = wanted.get(fold_key(raw.split(":")[0].split("(")[0]))
            if key is None or key in found:
                continue
            value, value_col = "", c
            for cc in range(c + 1, len(row)):
                if row[cc] != "":
                    value, value_col = row[cc], cc
                    break
            if value == "" and ":" in raw:  # "Mã đơn vị: 05287" typed in one cell
                value = raw.split(":", 1)[1].strip()
            found[key] = (value, cell_ref(r, value_col if value_col != c else c + 1))
    return found


# --- indicator sheets ---------------------------------------------------------------------
@dataclass
class IndicatorLayout:
    header_row: int
    last_header_row: int
    code_col: int
    label_col: int | None
    period_cols: dict[int, int]  # period (TOTAL_PERIOD for Tổng) -> column


def _find_header_row(grid: SheetGrid, keys: tuple[str, ...]) -> tuple[int, int] | None:
    for r, row in enumerate(grid.rows[:HEADER_SCAN_ROWS]):
        for c, raw in enumerate(row):
            if isinstance(raw, str) and raw and fold_key(raw) in keys:
                return r, c
    return None


def _period_of_header(raw: Any, wanted: set[int]) -> int | None:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        year = int(raw) if float(raw).is_integer() else None
        return year if year in wanted and year != TOTAL_PERIOD else None
    if not isinstance(raw, str) or not raw:
        return None
    key = fold_key(raw)
    if key in TOTAL_HEADER_KEYS:
        return TOTAL_PERIOD
    match = _YEAR_HEADER.match(key)
    if match and int(match[1]) in wanted:
        return int(match[1])
    return None


def find_indicator_layout(
    grid: SheetGrid, sheet: str, ctx: FileContext, content: SheetContent
) -> IndicatorLayout | None:
    """Locate the code column and the period columns; R16 when the code column is missing."""
    found = _find_header_row(grid, CODE_HEADER_KEYS)
    if found is None:
        content.issues.append(ctx.issue("R16", f"biểu {sheet} không có cột 'Mã số'", sheet=sheet))
        content.is_structurally_broken = True
        return None
    header_row, code_col = found
    wanted = set(period_headers(sheet))
    if has_total_column(sheet):
        wanted.add(TOTAL_PERIOD)
    label_col = next(
        (c for c in range(grid.width) if fold_key(clean_text(grid.value(header_row, c))) in LABEL_HEADER_KEYS), None
    )
    # A header may span more than one row (a group title merged above the period columns, the
    # other headers merged vertically). Rows above count only when they name several periods
    # (a title such as "Năm 2021" names one); rows below continue the header while their code
    # cell is empty and their label names no indicator, i.e. until the first indicator row.
    # Only there may a period header be a number (2018 typed as a number): below, a number
    # that looks like a year is a figure.
    sheet_indicators = indicators_of_sheet(sheet)
    candidates: dict[int, list[tuple[int, int]]] = {}
    last_header_row = header_row
    for r in range(max(0, header_row - 2), min(grid.height, header_row + 3)):
        if r > header_row:
            label = grid.value(r, label_col) if label_col is not None else ""
            if clean_text(grid.value(r, code_col)) or _match_label(label, sheet_indicators) is not None:
                break
        found_here = [
            (period, c)
            for c in range(grid.width)
            if c != code_col and (period := _period_of_header(grid.value(r, c), wanted)) is not None
        ]
        if r < header_row and len(found_here) < 2:
            continue
        for period, c in found_here:
            candidates.setdefault(period, []).append((r, c))
            last_header_row = max(last_header_row, r)
    period_cols: dict[int, int] = {}
    for period, places in candidates.items():
        columns = sorted({c for _, c in places})
        if len(columns) > 1:
            used = [
                c for c in columns if any(_has_content(grid, r, c) for r in range(last_header_row + 1, grid.height))
            ]
            if len(used) > 1:
                label = "Tổng" if period == TOTAL_PERIOD else str(period)
                refs = ", ".join(cell_ref(r, c) for r, c in places)
                content.issues.append(
                    ctx.issue(
                        "R16",
                        f"cột '{label}' xuất hiện nhiều lần ({refs})",
                        sheet=sheet,
                        cell=cell_ref(*places[0]),
                    )
                )
                content.is_structurally_broken = True
                continue
            columns = used or columns[:1]
        period_cols[period] = columns[0]
    return IndicatorLayout(header_row, last_header_row, code_col, label_col, period_cols)


def _match_label(label: object, candidates: tuple[Indicator, ...]) -> Indicator | None:
    """The one indicator a row label names, or None when it names none or several."""
    key = fold_key(str(label)) if label != "" else ""
    if not key:
        return None
    exact = [ind for ind in candidates if fold_key(ind.label_vi) == key]
    if len(exact) == 1:
        return exact[0]
    scored = sorted(
        ((fuzz.token_sort_ratio(key, fold_key(ind.label_vi)), ind) for ind in candidates), key=lambda x: -x[0]
    )
    if scored and scored[0][0] >= 90 and (len(scored) == 1 or scored[0][0] - scored[1][0] >= 10):
        return scored[0][1]
    return None


def extract_indicator_sheet(grid: SheetGrid, sheet: str, ctx: FileContext) -> SheetContent:
    """Every figure of an indicator sheet as a record with its cell, plus reading problems."""
    content = SheetContent()
    layout = find_indicator_layout(grid, sheet, ctx, content)
    if layout is None or content.is_structurally_broken:
        return content  # the file is rejected (R16): its figures would only add noise
    sheet_indicators = indicators_of_sheet(sheet)
    by_code = {ind.code: ind for ind in sheet_indicators}
    catalogue = indicators()
    rows_of: dict[str, list[int]] = {}
    unidentified: list[tuple[int, str]] = []
    for r in range(layout.last_header_row + 1, grid.height):
        code = clean_text(grid.value(r, layout.code_col)).upper()
        indicator = by_code.get(code)
        if indicator is None and layout.label_col is not None:
            indicator = _match_label(grid.value(r, layout.label_col), sheet_indicators)
        if indicator is not None:
            rows_of.setdefault(indicator.code, []).append(r)
            continue
        has_number = any(
            (r, c) in grid.uncached_formulas or parse_number(grid.value(r, c), "decimal").status == REPORTED
            for c in layout.period_cols.values()
        )
        if has_number:
            reason = (
                f"mã số '{code}' thuộc biểu {catalogue[code].sheet}"
                if code in catalogue
                else f"mã số '{code}' không có trong danh mục chỉ tiêu"
                if code
                else "dòng có số liệu nhưng không có mã số, tên chỉ tiêu không khớp danh mục"
            )
            unidentified.append((r, reason))
    for r, reason in unidentified:
        content.issues.append(
            ctx.issue(
                "R14",
                f"{reason}; số liệu của dòng {r + 1} không được tiếp nhận",
                sheet=sheet,
                cell=cell_ref(r, layout.code_col),
            )
        )
    for code, rows in rows_of.items():
        indicator = by_code[code]
        if len(rows) > 1:
            places = ", ".join(str(r + 1) for r in rows)
            for r in rows:
                content.issues.append(
                    ctx.issue(
                        "R14",
                        f"chỉ tiêu {code} xuất hiện ở nhiều dòng ({places}); không xác định được dòng đúng",
                        sheet=sheet,
                        cell=cell_ref(r, layout.code_col),
                        indicator_code=code,
                    )
                )
        _extract_indicator_row(grid, sheet, indicator, rows[0], layout, ctx, content, ambiguous=len(rows) > 1)
    _report_missing(sheet, sheet_indicators, rows_of, layout, ctx, content)
    return content


def _extract_indicator_row(
    grid: SheetGrid,
    sheet: str,
    indicator: Indicator,
    row: int,
    layout: IndicatorLayout,
    ctx: FileContext,
    content: SheetContent,
    ambiguous: bool,
) -> None:
    in_scope = ctx.unit_type is None or indicator.is_reported_by(ctx.unit_type)
    for period, col in sorted(layout.period_cols.items()):
        parsed, raw_text = read_cell(grid, row, col, indicator.value_type, indicator.unit_vi)
        ref = cell_ref(row, col)
        status = UNREADABLE if ambiguous else parsed.status
        content.records.append(
            {
                "file_sha256": ctx.file_sha256,
                "sheet": sheet,
                "indicator_code": indicator.code,
                "period": period,
                "cell": ref,
                "raw_value": raw_text,
                "value": None if ambiguous else parsed.value,
                "value_status": status,
                "is_in_scope": in_scope,
            }
        )
        where = {"sheet": sheet, "cell": ref, "indicator_code": indicator.code, "period": period or None}
        if parsed.status == UNREADABLE and not ambiguous:
            content.issues.append(ctx.issue("R14", f"{indicator.code}: {parsed.problem}", **where))
        elif parsed.note and not ambiguous:
            content.issues.append(
                ctx.issue("R14", f"{indicator.code}: {parsed.note}", severity=TOLERATED_READING_SEVERITY, **where)
            )


def _report_missing(
    sheet: str,
    sheet_indicators: tuple[Indicator, ...],
    rows_of: dict[str, list[int]],
    layout: IndicatorLayout,
    ctx: FileContext,
    content: SheetContent,
) -> None:
    """R17 for required rows and period columns the unit deleted: nothing missing goes unsaid."""
    if ctx.unit_type is None:
        return
    for ind in sheet_indicators:
        if ind.is_reported_by(ctx.unit_type) and ind.code not in rows_of:
            content.issues.append(
                ctx.issue(
                    "R17",
                    f"không có dòng chỉ tiêu {ind.code} ({ind.label_vi})",
                    sheet=sheet,
                    indicator_code=ind.code,
                )
            )
    for period, label in period_headers(sheet).items():
        if period not in layout.period_cols:
            content.issues.append(
                ctx.issue(
                    "R17",
                    f"không có cột '{label}'",
                    sheet=sheet,
                    cell=cell_ref(layout.header_row, layout.code_col),
                    period=period,
                )
            )


# --- list sheets: good models and nominations -------------------------------------------
def _yes_no(raw: Any) -> tuple[bool | None, bool]:
    """(value, ok): Có -> True, Không -> False, blank -> None; anything else is not ok."""
    key = fold_key(clean_text(raw))
    if key == "":
        return None, True
    if key in ("co", "c", "yes", "1", "x"):
        return True, True
    if key in ("khong", "k", "no", "0"):
        return False, True
    return None, False


def _choice(raw: Any, choices: tuple[str, ...]) -> tuple[str | None, bool]:
    key = fold_key(clean_text(raw))
    if key == "":
        return None, True
    for choice in choices:
        if fold_key(choice) == key:
            return choice, True
    return None, False


def extract_list_sheet(grid: SheetGrid, sheet: str, ctx: FileContext) -> SheetContent:
    """One record a filled row of 04_MOHINH or 05_DEXUAT_KT, typed by the column kinds."""
    content = SheetContent()
    columns: tuple[ListColumn, ...] = LIST_COLUMNS[sheet]
    name_column = columns[0] if sheet == SHEET_MODELS else columns[1]
    found = _find_header_row(grid, (fold_key(name_column.header_key), fold_key(name_column.header)))
    if found is None:
        if any(any(v != "" for v in row) for row in grid.rows):
            content.issues.append(
                ctx.issue("R16", f"biểu {sheet} không có cột '{name_column.header_key}'", sheet=sheet)
            )
        return content
    header_row, _ = found
    col_of: dict[str, int] = {}
    for c in range(grid.width):
        key = fold_key(clean_text(grid.value(header_row, c)))
        for column in columns:
            if (
                column.key not in col_of
                and key
                and (key == fold_key(column.header) or key.startswith(fold_key(column.header_key)))
            ):
                col_of[column.key] = c
    rule = "R19" if sheet == SHEET_NOMINATIONS else "R14"
    for r in range(header_row + 1, grid.height):
        if not any(_has_content(grid, r, c) for c in col_of.values()):
            continue
        record: dict[str, Any] = {"file_sha256": ctx.file_sha256, "row_number": r + 1}
        problems: dict[str, tuple[str, str]] = {}  # column key -> (cell, what is wrong)
        for column in columns:
            c = col_of.get(column.key)
            raw = grid.value(r, c) if c is not None else ""
            value, ok = _typed_list_value(raw, column)
            if not ok:
                problems[column.key] = (
                    cell_ref(r, c),
                    f"'{column.header_key}' ghi '{describe_raw(raw)}' không hợp lệ",
                )
            record[column.key] = value
        record["cell"] = cell_ref(r, col_of.get(name_column.key, 0))
        record["is_rejected"] = bool(problems)
        # For the validation step: where each field is, and which ones were already reported.
        record["field_cells"] = {key: cell_ref(r, c) for key, c in col_of.items()}
        record["invalid_fields"] = tuple(problems)
        for ref, detail in problems.values():
            content.issues.append(ctx.issue(rule, f"dòng {r + 1}: {detail}", sheet=sheet, cell=ref))
        content.records.append(record)
    return content


def _typed_list_value(raw: Any, column: ListColumn) -> tuple[Any, bool]:
    """The typed value of a list cell, and whether it could be typed at all. Values that are
    typed but wrong (negative, out of range, missing) are left to the pandera models."""
    if column.kind == "text":
        return (nfc(str(raw)).strip() or None) if raw != "" else None, True
    if column.kind == "yes_no":
        return _yes_no(raw)
    if column.kind == "choice":
        return _choice(raw, column.choices)
    parsed = parse_number(raw, "int")
    if parsed.status == UNREADABLE:
        return None, False
    return parsed.value, True


# --- 06_DANHGIA -----------------------------------------------------------------------------
def extract_narrative(grid: SheetGrid, ctx: FileContext) -> SheetContent:
    """The unit's answer to each question, found by question code or question text."""
    content = SheetContent()
    questions = narrative_questions()
    by_text = {fold_key(text): code for code, text in questions.items()}
    answer_header = _find_header_row(grid, NARRATIVE_ANSWER_HEADER_KEYS)
    code_header = _find_header_row(grid, NARRATIVE_CODE_HEADER_KEYS)
    if answer_header is None:
        return content
    header_row, answer_col = answer_header
    code_col = code_header[1] if code_header and code_header[0] == header_row else None
    seen: set[str] = set()
    for r in range(header_row + 1, grid.height):
        code = clean_text(grid.value(r, code_col)).upper() if code_col is not None else ""
        if code not in questions:
            code = next(
                (
                    by_text[fold_key(clean_text(v))]
                    for v in grid.rows[r][:answer_col]
                    if isinstance(v, str) and fold_key(clean_text(v)) in by_text
                ),
                "",
            )
        if not code or code in seen:
            continue
        seen.add(code)
        raw = grid.value(r, answer_col)
        answer = nfc(str(raw)).strip() if raw != "" else None
        content.records.append(
            {
                "file_sha256": ctx.file_sha256,
                "question_code": code,
                "answer": answer,
                "cell": cell_ref(r, answer_col),
            }
        )
    return content


def read_report_date(info: dict[str, tuple[Any, str]], ctx: FileContext) -> tuple[Any, list[Issue]]:
    """`Ngày lập báo cáo` as a date; an unreadable one is an R14 error on its cell."""
    raw, ref = info.get("reported_on", ("", None))
    value, problem = parse_date(raw)
    if problem:
        return None, [ctx.issue("R14", f"Ngày lập báo cáo: {problem}", sheet=SHEET_INFO, cell=ref)]
    return value, []
