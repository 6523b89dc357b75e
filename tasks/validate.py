"""Validate typed frames of many workbooks with the pandera models, lazily, and turn each
failure into an Issue with its cell address and a Vietnamese message.

An error rejects the figures it concerns (for a cross-indicator rule, every figure the rule
names in that period), never the whole file; warnings reject nothing.
"""

from __future__ import annotations

import re

import pandas as pd
import pandera.pandas as pa

from schemas.indicator_sheets import (
    RULE_INDICATORS,
    SHEET_MODELS,
    IndicatorFigures,
    computed_totals,
)
from schemas.list_sheets import NOMINATION_FIGURES, ModelRows, NominationRows
from schemas.rules import ERROR, Issue, make_issue
from schemas.workbook import LIST_COLUMNS, SHEET_NOMINATIONS, TOTAL_PERIOD, UNIT_TYPE_LABELS
from tongket.reference import indicators, periods

_RULE_ID = re.compile(r"^[rR](\d\d)_")  # check methods are named r02_..., r11_...
PERIOD_LABELS = {p.period: p.label_vi for p in periods()} | {TOTAL_PERIOD: "Tổng"}


def _fmt(value: float | None) -> str:
    if value is None or pd.isna(value):
        return "(trống)"
    return str(int(value)) if float(value).is_integer() else f"{value:g}".replace(".", ",")


def failures(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> pd.DataFrame:
    """pandera's failure cases for `frame` (empty when it passes): check, row index, and the
    column for a field check (None for a data-frame check, which pandera lists per column)."""
    if frame.empty:
        return pd.DataFrame(columns=["check", "index", "column"])
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        cases = cases[cases["index"].notna()].copy()
        cases["column"] = cases["column"].where(cases["schema_context"] == "Column", None)
        return cases[["check", "index", "column"]].drop_duplicates(["check", "index", "column"])
    return pd.DataFrame(columns=["check", "index", "column"])


def _rule_of(check: str, field_rule: str) -> str:
    """The rule id of a check method (`r02_...` -> R02); field checks take the sheet's rule."""
    match = _RULE_ID.match(str(check))
    return f"R{match[1]}" if match else field_rule


# --- indicator figures --------------------------------------------------------------------
def with_reference_columns(figures: pd.DataFrame, pass_marks: dict[int, float]) -> pd.DataFrame:
    """Add each figure's kind and value type (from the catalogue) and the year's pass mark."""
    catalogue = indicators()
    out = figures.copy()
    out["kind"] = out["indicator_code"].map(lambda c: catalogue[c].kind)
    out["value_type"] = out["indicator_code"].map(lambda c: catalogue[c].value_type)
    out["pass_mark"] = out["period"].map(lambda p: float(pass_marks.get(p, 80.0)))
    return out


def _figure_detail(rule: str, row: pd.Series, frame: pd.DataFrame, unit_type: str | None) -> str:
    code, period = row["indicator_code"], int(row["period"])
    label = indicators()[code].label_vi
    where = PERIOD_LABELS.get(period, str(period))
    if rule in ("R01", "R09"):
        return f"{code} ({label}), {where}: '{row['raw_value']}'"
    if rule == "R11":
        expected = computed_totals(frame[(frame["file_sha256"] == row["file_sha256"])]).get((row["file_sha256"], code))
        return f"{code}: cột Tổng ghi {_fmt(row['value'])}, tính được {_fmt(expected)}"
    if rule == "R12":
        type_label = UNIT_TYPE_LABELS.get(unit_type or "", "đơn vị")
        return f"{code} ({label}) không thuộc phạm vi báo cáo của {type_label}; số liệu không được tính"
    if rule == "R17":
        return f"{code} ({label}), {where} để trống"
    named = frame[
        (frame["file_sha256"] == row["file_sha256"])
        & (frame["period"] == period)
        & frame["indicator_code"].isin(RULE_INDICATORS[rule])
    ]
    values = {r.indicator_code: r.value for r in named.itertuples()}
    listed = ", ".join(f"{c} = {_fmt(values.get(c))}" for c in RULE_INDICATORS[rule])
    if rule == "R10":
        listed += f" (mức đạt {_fmt(row['pass_mark'])} điểm)"
    return f"{where}: {listed}"


def validate_figures(
    figures: pd.DataFrame,
    file_names: dict[str, str],
    unit_types: dict[str, str | None],
    pass_marks: dict[int, float],
) -> tuple[list[Issue], pd.Series]:
    """Issues for every rule broken by the figures, and a mask of the figures rejected.

    `figures` holds many workbooks; it is validated one sheet model at a time.
    """
    issues: list[Issue] = []
    rejected = pd.Series(False, index=figures.index)
    if figures.empty:
        return issues, rejected
    frame = with_reference_columns(figures, pass_marks)
    for sheet, model in SHEET_MODELS.items():
        part = frame[frame["sheet"] == sheet]
        cases = failures(model, part)
        r12_seen: set[tuple[str, str]] = set()
        for case in cases.itertuples():
            rule = _rule_of(case.check, "R14")
            row = part.loc[case.index]
            if rule in ("R12", "R17") and unit_types.get(row["file_sha256"]) is None:
                continue  # which figures a unit must report depends on its type: unknown (R15)
            if rule == "R12":  # one warning per indicator row, not per cell
                key = (row["file_sha256"], row["indicator_code"])
                if key in r12_seen:
                    continue
                r12_seen.add(key)
            issue = make_issue(
                rule,
                row["file_sha256"],
                file_names.get(row["file_sha256"], ""),
                _figure_detail(rule, row, part, unit_types.get(row["file_sha256"])),
                sheet=sheet,
                cell=row["cell"],
                indicator_code=row["indicator_code"],
                period=int(row["period"]) or None,
            )
            issues.append(issue)
            if issue.severity == ERROR:
                rejected.loc[case.index] = True
    return issues, rejected


# --- list sheets ----------------------------------------------------------------------------
# The field a record-level check concerns (field checks name their column themselves).
_CHECK_FIELDS = {"r19_has_name": "full_name", "r19_has_kind": "kind", "r14_has_name": "model_name"}
_MISSING = {
    "full_name": "thiếu họ tên hoặc tên tập thể",
    "kind": "thiếu loại đề xuất (Tập thể hoặc Cá nhân)",
    "model_name": "mô hình chưa có tên",
}


def _list_detail(sheet: str, field: str, value: object) -> str:
    if field in _MISSING and (value is None or pd.isna(value) or str(value).strip() == ""):
        return _MISSING[field]
    header = next((c.header_key for c in LIST_COLUMNS[sheet] if c.key == field), field)
    shown = _fmt(value) if isinstance(value, float) else str(value)
    if field == "start_year":
        return f"'{header}' ghi '{shown}': năm bắt đầu phải từ 1975 đến 2021"
    if field in NOMINATION_FIGURES:
        return f"'{header}' ghi '{shown}': phải là số nguyên không âm"
    return f"'{header}' ghi '{shown}' không hợp lệ"


def validate_list_records(
    records: pd.DataFrame, sheet: str, file_names: dict[str, str]
) -> tuple[list[Issue], pd.Series]:
    """Issues for good-model or nomination rows, and the mask of rows rejected.

    One issue per wrong field, at that field's cell; a field the extraction already reported
    (text where a number belongs, a kind that is neither Tập thể nor Cá nhân) is not repeated.
    `records` may carry `field_cells` (field -> cell) and `invalid_fields` per row.
    """
    model, field_rule = (NominationRows, "R19") if sheet == SHEET_NOMINATIONS else (ModelRows, "R14")
    rejected = pd.Series(False, index=records.index)
    issues: list[Issue] = []
    if records.empty:
        return issues, rejected
    frame = records.copy()
    for column in ("sessions", "materials", "cases_settled", "years", "start_year"):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    seen: set[tuple[int, str]] = set()
    for case in failures(model, frame).itertuples():
        row = frame.loc[case.index]
        field = _CHECK_FIELDS.get(str(case.check), case.column)
        if (case.index, field) in seen or field in (row.get("invalid_fields") or ()):
            continue
        seen.add((case.index, field))
        cells = row.get("field_cells") or {}
        issues.append(
            make_issue(
                _rule_of(case.check, field_rule),
                row["file_sha256"],
                file_names.get(row["file_sha256"], ""),
                f"dòng {row['row_number']}: {_list_detail(sheet, field, row.get(field))}",
                sheet=sheet,
                cell=cells.get(field, row["cell"]),
            )
        )
        rejected.loc[case.index] = True
    return issues, rejected


__all__ = ["IndicatorFigures", "failures", "validate_figures", "validate_list_records"]
