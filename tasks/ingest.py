"""Read, parse and validate a batch of workbooks into staged frames.

This is the pure, parallel part of a run: it takes archived files (immutable, named by
their hash) and returns frames; it never touches the warehouse. One bad file yields its
issues and nothing else; it never stops the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from schemas.rules import ISSUE_COLUMNS, Issue, make_issue
from schemas.workbook import (
    INDICATOR_SHEETS,
    SHEET_INFO,
    SHEET_MODELS,
    SHEET_NARRATIVE,
    SHEET_NOMINATIONS,
    required_sheets,
)
from tasks.extract import (
    FileContext,
    extract_indicator_sheet,
    extract_info,
    extract_list_sheet,
    extract_narrative,
    read_report_date,
)
from tasks.guard import guard_file
from tasks.identify import UnitMatcher
from tasks.read import WorkbookReadError, read_workbook
from tasks.validate import validate_figures, validate_list_records
from tongket.settings import LimitsConfig, ValidationConfig
from tongket.text import clean_text

log = logging.getLogger("tongket.ingest")

READABLE, REJECTED = "readable", "rejected"
FILE_COLUMNS = (
    "file_sha256",
    "read_status",
    "file_format",
    "unit_code",
    "matched_by",
    "unit_code_typed",
    "unit_name_typed",
    "unit_type_typed",
    "unit_type",
    "reported_on",
    "template_version",
    "preparer",
    "phone",
    "email",
    "parser_version",
)
FIGURE_COLUMNS = (
    "file_sha256",
    "sheet",
    "indicator_code",
    "period",
    "cell",
    "raw_value",
    "value",
    "value_status",
    "is_in_scope",
    "is_rejected",
)
MODEL_COLUMNS = (
    "file_sha256",
    "row_number",
    "cell",
    "model_name",
    "field",
    "target_group",
    "start_year",
    "result",
    "is_replicated",
    "is_rejected",
)
NOMINATION_COLUMNS = (
    "file_sha256",
    "row_number",
    "cell",
    "kind",
    "full_name",
    "gender",
    "position",
    "sessions",
    "materials",
    "cases_settled",
    "years",
    "prior_awards",
    "is_disciplined",
    "summary",
    "is_rejected",
)
NARRATIVE_COLUMNS = ("file_sha256", "question_code", "answer", "cell")


@dataclass(frozen=True)
class WorkbookToRead:
    """An archived file to read: its content hash, the name it arrived under, where it is."""

    file_sha256: str
    file_name: str
    path: str
    problem: str | None = None  # set when the inbox entry could not be archived (R16)


@dataclass(frozen=True)
class IngestContext:
    """Everything reading needs besides the file: small, picklable, the same for a run."""

    registry: pd.DataFrame
    registry_sha256: str
    district_name: str
    limits: LimitsConfig
    validation: ValidationConfig
    parser_version: str


@dataclass
class StagedWorkbook:
    file: dict[str, Any]
    figures: list[dict[str, Any]] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)
    nominations: list[dict[str, Any]] = field(default_factory=list)
    narratives: list[dict[str, Any]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


@dataclass
class StagedBatch:
    """The staged frames of a batch of workbooks, ready for one bulk insert each."""

    files: pd.DataFrame
    figures: pd.DataFrame
    models: pd.DataFrame
    nominations: pd.DataFrame
    narratives: pd.DataFrame
    issues: pd.DataFrame

    @property
    def workbook_count(self) -> int:
        return len(self.files)


_MATCHERS: dict[tuple[Any, ...], UnitMatcher] = {}


def unit_matcher(ctx: IngestContext) -> UnitMatcher:
    """One matcher per registry per process (building it folds every registered name)."""
    v = ctx.validation
    key = (ctx.registry_sha256, ctx.district_name, v.unit_name_min_similarity, v.unit_name_min_margin)
    if key not in _MATCHERS:
        _MATCHERS[key] = UnitMatcher(ctx.registry, *key[1:])
    return _MATCHERS[key]


def _text_or_none(raw: Any) -> str | None:
    text = clean_text(raw)
    return text or None


def stage_workbook(item: WorkbookToRead, ctx: IngestContext) -> StagedWorkbook:
    """Guard, read and extract one workbook. Never raises for anything in the file."""
    file = {column: None for column in FILE_COLUMNS}
    file.update(file_sha256=item.file_sha256, read_status=REJECTED, parser_version=ctx.parser_version)
    staged = StagedWorkbook(file=file)
    fctx = FileContext(item.file_sha256, item.file_name)

    def reject(rule: str, detail: str, **where: Any) -> StagedWorkbook:
        staged.issues.append(fctx.issue(rule, detail, **where))
        return staged

    if item.problem:
        return reject("R16", item.problem)
    guard = guard_file(Path(item.path), ctx.limits)
    if guard.problem:
        return reject("R16", guard.problem)
    file["file_format"] = guard.file_format
    try:
        workbook = read_workbook(
            Path(item.path), guard.file_format, ctx.limits.max_sheet_rows, ctx.limits.max_sheet_cols
        )
    except WorkbookReadError as exc:
        return reject("R16", str(exc), sheet=exc.sheet)
    if SHEET_INFO not in workbook.sheets:
        return reject("R16", f"thiếu biểu {SHEET_INFO} (thông tin đơn vị)")
    info = extract_info(workbook.sheets[SHEET_INFO])
    value = lambda key: info.get(key, ("", None))[0]  # noqa: E731
    identification = unit_matcher(ctx).identify(value("unit_code"), value("unit_name"))
    reported_on, date_issues = read_report_date(info, fctx)
    staged.issues.extend(date_issues)
    unit_type = unit_matcher(ctx).unit_type.get(identification.unit_code) if identification.unit_code else None
    file.update(
        unit_code=identification.unit_code,
        matched_by=identification.matched_by,
        unit_code_typed=_text_or_none(value("unit_code")),
        unit_name_typed=_text_or_none(value("unit_name")),
        unit_type_typed=_text_or_none(value("unit_type")),
        unit_type=unit_type,
        reported_on=pd.Timestamp(reported_on) if reported_on else None,
        template_version=_text_or_none(value("template_version")),
        preparer=_text_or_none(value("preparer")),
        phone=_text_or_none(value("phone")),
        email=_text_or_none(value("email")),
    )
    file_level_error = False
    if identification.unit_code is None:
        ref = info.get("unit_code", ("", None))[1]
        staged.issues.append(fctx.issue("R15", identification.problem, sheet=SHEET_INFO, cell=ref))
        file_level_error = True
    for sheet in required_sheets(unit_type or "agency"):
        if sheet not in workbook.sheets:
            staged.issues.append(fctx.issue("R16", f"thiếu biểu {sheet}"))
            file_level_error = True
    fctx.unit_type = unit_type
    for sheet in INDICATOR_SHEETS:
        if sheet in workbook.sheets:
            content = extract_indicator_sheet(workbook.sheets[sheet], sheet, fctx)
            staged.figures.extend(content.records)
            staged.issues.extend(content.issues)
            file_level_error |= content.is_structurally_broken
    for sheet, target in ((SHEET_MODELS, staged.models), (SHEET_NOMINATIONS, staged.nominations)):
        if sheet in workbook.sheets:
            content = extract_list_sheet(workbook.sheets[sheet], sheet, fctx)
            target.extend(content.records)
            staged.issues.extend(content.issues)
    if SHEET_NARRATIVE in workbook.sheets:
        staged.narratives.extend(extract_narrative(workbook.sheets[SHEET_NARRATIVE], fctx).records)
    file["read_status"] = REJECTED if file_level_error else "readable"
    return staged


def _frame(records: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=list(columns))
    return frame.reset_index(drop=True)


def stage_batch(
    items: list[WorkbookToRead],
    ctx: IngestContext,
    stage_one: Callable[[WorkbookToRead, IngestContext], StagedWorkbook] | None = None,
) -> StagedBatch:
    """Stage a batch of workbooks, validating all their figures in one call per sheet model.

    `stage_one` reads one workbook (default: in this process; `tasks.reader_process` reads it
    in a child process with a time-out)."""
    staged = []
    for item in items:
        try:
            staged.append((stage_one or stage_workbook)(item, ctx))
        except Exception as exc:  # a bug of ours must not stop the other files either
            log.exception("Unexpected failure reading %s (%s)", item.file_name, item.file_sha256[:12])
            broken = StagedWorkbook(
                file={c: None for c in FILE_COLUMNS}
                | {
                    "file_sha256": item.file_sha256,
                    "read_status": REJECTED,
                    "parser_version": ctx.parser_version,
                }
            )
            broken.issues.append(
                make_issue("R16", item.file_sha256, item.file_name, f"lỗi khi đọc tệp ({type(exc).__name__})")
            )
            staged.append(broken)
    file_names = {item.file_sha256: item.file_name for item in items}
    unit_types = {s.file["file_sha256"]: s.file["unit_type"] for s in staged}
    issues = [issue for s in staged for issue in s.issues]

    figures = _frame([r | {"is_rejected": False} for s in staged for r in s.figures], FIGURE_COLUMNS)
    figures["value"] = figures["value"].astype(float)
    figures["period"] = figures["period"].astype(int)
    figures["is_in_scope"] = figures["is_in_scope"].astype(bool)
    figure_issues, rejected = validate_figures(
        figures, file_names, unit_types, dict(ctx.validation.legal_access_pass_mark)
    )
    issues.extend(figure_issues)
    already = _rejected_cells(issues)
    keys = list(zip(figures["file_sha256"], figures["sheet"], figures["cell"]))
    figures["is_rejected"] = rejected | pd.Series([k in already for k in keys], index=figures.index, dtype=bool)
    figures["is_rejected"] |= figures["value_status"].eq("unreadable")

    list_frames = {}
    for sheet, records, columns in (
        (SHEET_MODELS, [r for s in staged for r in s.models], MODEL_COLUMNS),
        (SHEET_NOMINATIONS, [r for s in staged for r in s.nominations], NOMINATION_COLUMNS),
    ):
        frame = _frame(records, (*columns, "field_cells", "invalid_fields"))
        list_issues, list_rejected = validate_list_records(frame, sheet, file_names)
        issues.extend(list_issues)
        frame["is_rejected"] = frame["is_rejected"].astype(bool) | list_rejected
        list_frames[sheet] = frame[list(columns)]

    return StagedBatch(
        files=_frame([s.file for s in staged], FILE_COLUMNS),
        figures=figures,
        models=list_frames[SHEET_MODELS],
        nominations=list_frames[SHEET_NOMINATIONS],
        narratives=_frame([r for s in staged for r in s.narratives], NARRATIVE_COLUMNS),
        issues=pd.DataFrame([i.as_row() for i in issues], columns=list(ISSUE_COLUMNS)),
    )


def _rejected_cells(issues: list[Issue]) -> set[tuple[str, str, str]]:
    return {(i.file_sha256, i.sheet, i.cell) for i in issues if i.severity == "error" and i.sheet and i.cell}


def empty_batch() -> StagedBatch:
    return StagedBatch(
        files=_frame([], FILE_COLUMNS),
        figures=_frame([], FIGURE_COLUMNS),
        models=_frame([], MODEL_COLUMNS),
        nominations=_frame([], NOMINATION_COLUMNS),
        narratives=_frame([], NARRATIVE_COLUMNS),
        issues=pd.DataFrame(columns=list(ISSUE_COLUMNS)),
    )
