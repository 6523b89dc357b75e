"""The naive pipeline the benchmark compares tongket with: how the job is usually written first.

Per file, as one Prefect task each: `pandas.read_excel` with openpyxl, once per sheet (each call
opens the workbook again); the figures melted from pandas' inferred frames; the project's own
pandera models called on that one file; every row INSERTed with `executemany`, row by row.
Then the same warehouse SQL (marts, awards, checks) and report as tongket, so the end-to-end
times compare like with like.

It knows the template's layout by position (header rows, columns), which is fine for the
clean benchmark corpus; it is not a reader for units' real files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from openpyxl.utils import get_column_letter
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from schemas.workbook import (
    INDICATOR_SHEETS,
    INFO_FIELDS,
    LIST_COLUMNS,
    SHEET_INFO,
    SHEET_MODELS,
    SHEET_NARRATIVE,
    SHEET_NOMINATIONS,
    TOTAL_PERIOD,
    YES,
    has_total_column,
    period_headers,
)
from tasks import awards, load, marts
from tasks.discover import VN_TZ
from tasks.ingest import FIGURE_COLUMNS, FILE_COLUMNS, MODEL_COLUMNS, NARRATIVE_COLUMNS, NOMINATION_COLUMNS
from tasks.reports import write_report_tables
from tasks.steps import RunContext, now_vn, prepare_run
from tasks.validate import validate_figures, validate_list_records
from tongket.reference import indicators_of_sheet
from tongket.run_parameters import RunParameters

HEADER_ROW = 4  # 0-based header row of the indicator sheets (the writer's layout)
LIST_HEADER_ROW = 2
ISSUE_TABLE_COLUMNS = (
    "file_sha256",
    "file_name",
    "rule_id",
    "severity",
    "message",
    "sheet",
    "cell",
    "indicator_code",
    "period",
)
# Seconds spent per stage, summed over the files of the process.
TIMES: dict[str, float] = defaultdict(float)
COUNTS: dict[str, int] = defaultdict(int)
_CON: duckdb.DuckDBPyConnection | None = None


@dataclass(frozen=True)
class NaiveFile:
    """What the naive reader got from one workbook."""

    file: dict[str, Any]
    raw: dict[str, Any]
    figures: pd.DataFrame
    models: pd.DataFrame
    nominations: pd.DataFrame
    narratives: pd.DataFrame


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or value == ""


def _raw_text(value: Any) -> str | None:
    if _blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _figures(frame: pd.DataFrame, sheet: str, sha: str, unit_type: str) -> list[dict]:
    """Melt an indicator sheet (pandas' frame, header at HEADER_ROW) into figure rows."""
    catalogue = {i.code: i for i in indicators_of_sheet(sheet)}
    columns = {label: period for period, label in period_headers(sheet).items()}
    if has_total_column(sheet):
        columns["Tổng"] = TOTAL_PERIOD
    position = {str(name): i for i, name in enumerate(frame.columns)}
    rows = []
    for offset, record in enumerate(frame.to_dict("records")):
        code = record.get("Mã số")
        if code not in catalogue:
            continue
        excel_row = HEADER_ROW + 2 + offset
        in_scope = catalogue[code].is_reported_by(unit_type)
        for label, period in columns.items():
            value = record.get(label)
            blank = _blank(value)
            rows.append(
                {
                    "file_sha256": sha,
                    "sheet": sheet,
                    "indicator_code": code,
                    "period": period,
                    "cell": f"{get_column_letter(position[label] + 1)}{excel_row}",
                    "raw_value": _raw_text(value) or "",
                    "value": None if blank else float(value),
                    "value_status": "blank" if blank else "reported",
                    "is_in_scope": in_scope,
                    "is_rejected": False,
                }
            )
    return rows


def _list_rows(frame: pd.DataFrame, sheet: str, sha: str) -> list[dict]:
    columns = LIST_COLUMNS[sheet]
    rows = []
    for offset, record in enumerate(frame.to_dict("records")):
        values = {c.key: record.get(c.header) for c in columns}
        if all(_blank(v) for v in values.values()):
            continue
        for column in columns:
            if column.kind == "yes_no":
                values[column.key] = None if _blank(values[column.key]) else values[column.key] == YES
            elif _blank(values[column.key]):
                values[column.key] = None
        excel_row = LIST_HEADER_ROW + 2 + offset
        rows.append(
            {"file_sha256": sha, "row_number": excel_row, "cell": f"B{excel_row}", **values, "is_rejected": False}
        )
    return rows


def read_naive(path: Path, inbox: Path, registry: dict[str, str], parser_version: str) -> NaiveFile:
    """Read every sheet of one workbook with pandas + openpyxl, one read_excel call a sheet."""
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    info = pd.read_excel(path, sheet_name=SHEET_INFO, engine="openpyxl", header=None)
    by_label = {str(r[0]).strip(): r[1] for r in info.itertuples(index=False) if len(r) > 1}
    typed = {f.key: by_label.get(f.label) for f in INFO_FIELDS}
    unit_code = str(typed["unit_code"]) if typed["unit_code"] in registry else None
    unit_type = registry.get(unit_code or "", "agency")
    reported_on = typed["reported_on"]
    file = dict.fromkeys(FILE_COLUMNS) | {
        "file_sha256": sha,
        "read_status": "readable" if unit_code else "rejected",
        "file_format": "xlsx",
        "unit_code": unit_code,
        "matched_by": "code" if unit_code else None,
        "unit_code_typed": _raw_text(typed["unit_code"]),
        "unit_name_typed": _raw_text(typed["unit_name"]),
        "unit_type_typed": _raw_text(typed["unit_type"]),
        "unit_type": unit_type if unit_code else None,
        "reported_on": None if _blank(reported_on) else pd.Timestamp(reported_on).date(),
        "template_version": _raw_text(typed["template_version"]),
        "preparer": _raw_text(typed["preparer"]),
        "phone": _raw_text(typed["phone"]),
        "email": _raw_text(typed["email"]),
        "parser_version": parser_version,
    }
    figures: list[dict] = []
    for sheet in INDICATOR_SHEETS:
        frame = pd.read_excel(path, sheet_name=sheet, engine="openpyxl", header=HEADER_ROW)
        figures.extend(_figures(frame, sheet, sha, unit_type))
    lists = {}
    for sheet in (SHEET_MODELS, SHEET_NOMINATIONS):
        frame = pd.read_excel(path, sheet_name=sheet, engine="openpyxl", header=LIST_HEADER_ROW)
        lists[sheet] = _list_rows(frame, sheet, sha)
    narrative = pd.read_excel(path, sheet_name=SHEET_NARRATIVE, engine="openpyxl", header=LIST_HEADER_ROW)
    narratives = [
        {"file_sha256": sha, "question_code": r["Mã"], "answer": _raw_text(r["Ý kiến của đơn vị"]), "cell": f"D{i + 4}"}
        for i, r in enumerate(narrative.to_dict("records"))
        if not _blank(r.get("Mã"))
    ]
    stat = path.stat()
    raw = {
        "file_sha256": sha,
        "file_name": path.relative_to(inbox).as_posix(),
        "file_size": stat.st_size,
        "received_at": dt.datetime.fromtimestamp(stat.st_mtime, VN_TZ).replace(tzinfo=None, microsecond=0),
        "first_seen_at": now_vn(),
        "archive_path": str(path),
    }
    figure_frame = pd.DataFrame(figures, columns=list(FIGURE_COLUMNS))
    figure_frame["value"] = figure_frame["value"].astype(float)
    figure_frame["period"] = figure_frame["period"].astype(int)
    figure_frame["is_in_scope"] = figure_frame["is_in_scope"].astype(bool)
    return NaiveFile(
        file=file,
        raw=raw,
        figures=figure_frame,
        models=pd.DataFrame(lists[SHEET_MODELS], columns=list(MODEL_COLUMNS)),
        nominations=pd.DataFrame(lists[SHEET_NOMINATIONS], columns=list(NOMINATION_COLUMNS)),
        narratives=pd.DataFrame(narratives, columns=list(NARRATIVE_COLUMNS)),
    )


def validate_naive(read: NaiveFile, pass_marks: dict[int, float]) -> list[dict]:
    """The project's pandera models, called on this one file; returns issue rows."""
    sha, name = read.file["file_sha256"], read.raw["file_name"]
    issues, rejected = validate_figures(read.figures, {sha: name}, {sha: read.file["unit_type"]}, pass_marks)
    read.figures["is_rejected"] = rejected
    for sheet, frame in ((SHEET_MODELS, read.models), (SHEET_NOMINATIONS, read.nominations)):
        list_issues, list_rejected = validate_list_records(frame, sheet, {sha: name})
        issues.extend(list_issues)
        frame["is_rejected"] = list_rejected
    return [i.as_row() for i in issues]


def _none_if_na(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and pd.isna(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...], rows: list[dict]) -> int:
    """Row-by-row INSERT (executemany): how a first version loads a database."""
    if not rows:
        return 0
    sql = f"insert into {table} ({', '.join(columns)}) values ({', '.join('?' for _ in columns)})"
    con.executemany(sql, [[_none_if_na(row.get(c)) for c in columns] for row in rows])
    return len(rows)


def load_naive(con: duckdb.DuckDBPyConnection, read: NaiveFile, issues: list[dict]) -> int:
    """Insert one file's rows into the staging tables, row by row."""
    raw_columns = ("file_sha256", "file_name", "file_size", "received_at", "first_seen_at", "archive_path")
    inserted = insert_rows(con, "raw_file", raw_columns, [read.raw])
    inserted += insert_rows(con, "stg_file", FILE_COLUMNS, [read.file])
    inserted += insert_rows(con, "stg_figure", FIGURE_COLUMNS, read.figures.to_dict("records"))
    inserted += insert_rows(con, "stg_model", MODEL_COLUMNS, read.models.to_dict("records"))
    inserted += insert_rows(con, "stg_nomination", NOMINATION_COLUMNS, read.nominations.to_dict("records"))
    inserted += insert_rows(con, "stg_narrative", NARRATIVE_COLUMNS, read.narratives.to_dict("records"))
    inserted += insert_rows(con, "stg_issue", ISSUE_TABLE_COLUMNS, issues)
    return inserted


@dataclass(frozen=True)
class NaiveRun:
    """What every file's task needs besides its path (kept out of the task's parameters:
    Prefect walks every parameter of every task run, and the registry is 24,562 entries)."""

    inbox: Path
    unit_types: dict[str, str]
    parser_version: str
    pass_marks: dict[int, float]


_RUN: NaiveRun | None = None


@task(name="naive-file", cache_policy=NO_CACHE)
def naive_file_task(path: str) -> int:
    """Returns the rows inserted for one file (read, validate, insert row by row)."""
    assert _CON is not None and _RUN is not None
    started = time.perf_counter()
    read = read_naive(Path(path), _RUN.inbox, _RUN.unit_types, _RUN.parser_version)
    read_done = time.perf_counter()
    issues = validate_naive(read, _RUN.pass_marks)
    validated = time.perf_counter()
    cursor = _CON.cursor()
    try:
        inserted = load_naive(cursor, read, issues)
    finally:
        cursor.close()
    loaded = time.perf_counter()
    TIMES["read"] += read_done - started
    TIMES["validate"] += validated - read_done
    TIMES["load"] += loaded - validated
    COUNTS["files"] += 1
    COUNTS["figures"] += len(read.figures)
    COUNTS["rows"] += inserted
    return inserted


@task(name="naive-build", cache_policy=NO_CACHE)
def naive_build_task(ctx: RunContext, building: str) -> dict[str, int]:
    """Returns the failing checks after the same marts and awards as tongket."""
    assert _CON is not None
    started = time.perf_counter()
    load.load_reference(_CON, ctx.registry, ctx.settings, ctx.rubric, ctx.run_id, ctx.started_at)
    marts.run_layers(_CON, ("20_core", "30_marts"))
    marts_done = time.perf_counter()
    awards.score_awards(_CON, ctx.rubric)
    awards_done = time.perf_counter()
    failing = marts.run_checks(_CON)
    load.write_meta(_CON, {"run_id": ctx.run_id})
    _CON.execute("checkpoint")
    TIMES["marts"] += marts_done - started
    TIMES["awards"] += awards_done - marts_done
    TIMES["publish"] += time.perf_counter() - awards_done
    return failing


@flow(name="naive")
def naive_flow(files: list[str], inbox: str, registry: str, warehouse: str, outputs: str) -> dict[str, Any]:
    """One task per file, then the same SQL as tongket; returns the stage times."""
    global _CON, _RUN
    ctx = prepare_run(RunParameters(inbox=inbox, registry=registry, warehouse=warehouse, outputs=outputs))
    _RUN = NaiveRun(
        inbox=Path(inbox),
        unit_types=dict(zip(ctx.registry["unit_code"], ctx.registry["unit_type"])),
        parser_version=ctx.staging_key,
        pass_marks=dict(ctx.settings.validation.legal_access_pass_mark),
    )
    building = Path(warehouse)
    _CON = load.connect_new(building)
    started = time.perf_counter()
    try:
        for path in files:
            naive_file_task(path)
        TIMES["files_wall"] = time.perf_counter() - started
        failing = naive_build_task(ctx, str(building))
    finally:
        _CON.close()
        _CON = None
    outputs_started = time.perf_counter()
    write_report_tables(building, Path(outputs) / ctx.run_id)
    TIMES["outputs"] += time.perf_counter() - outputs_started
    return {"times": dict(TIMES), "counts": dict(COUNTS), "failing_checks": failing}
