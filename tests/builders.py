"""Build a small warehouse straight from rows (no workbooks), through the real load, SQL and
award code: for "given these figures, expect these marts" tests with hand-computed values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from tasks import awards, load, marts
from tasks.ingest import FIGURE_COLUMNS, FILE_COLUMNS, MODEL_COLUMNS, NOMINATION_COLUMNS
from tongket.reference import indicators
from tongket.rubric import Rubric, load_rubric
from tongket.settings import load_settings

DEADLINE = dt.date(2021, 8, 20)


@dataclass
class UnitRows:
    """One unit and the current report it sent."""

    code: str
    unit_type: str
    population: int | None = None
    figures: dict[tuple[str, int], float | None] = field(default_factory=dict)
    on_time: bool = True
    has_error: bool = False
    models: list[dict] = field(default_factory=list)  # {"model_name": ..., "is_replicated": bool}
    nominations: list[dict] = field(default_factory=list)
    sends_report: bool = True

    @property
    def name(self) -> str:
        return f"Đơn vị {self.code}"


def _sha(code: str) -> str:
    return f"{code:0>64}"[-64:]


def build_warehouse(path: Path, units: list[UnitRows], rubric: Rubric | None = None) -> duckdb.DuckDBPyConnection:
    """A warehouse whose staging holds exactly these units' figures; marts and awards built."""
    rubric = rubric or load_rubric()
    settings = load_settings()
    settings = settings.model_copy(update={"district": settings.district.model_copy(update={"deadline": DEADLINE})})
    con = load.connect_new(path)
    registry = pd.DataFrame(
        {
            "unit_code": [u.code for u in units],
            "unit_name": [u.name for u in units],
            "unit_type": [u.unit_type for u in units],
            "population": pd.array([u.population for u in units], dtype="Int64"),
            "active": True,
        }
    )
    load.load_reference(con, registry, settings, rubric, "test-run", dt.datetime(2021, 9, 1, 8, 0))
    raw, files, figures, models, nominations, issues = [], [], [], [], [], []
    catalogue = indicators()
    for unit in units:
        if not unit.sends_report:
            continue
        sha = _sha(unit.code)
        received = dt.datetime(2021, 8, 10, 9, 0) if unit.on_time else dt.datetime(2021, 9, 1, 9, 0)
        raw.append(
            {
                "file_sha256": sha,
                "file_name": f"{unit.code}.xlsx",
                "file_size": 1,
                "received_at": received,
                "first_seen_at": received,
                "archive_path": None,
            }
        )
        files.append(
            dict.fromkeys(FILE_COLUMNS)
            | {
                "file_sha256": sha,
                "read_status": "readable",
                "unit_code": unit.code,
                "unit_type": unit.unit_type,
                "reported_on": pd.Timestamp(received.date()),
                "parser_version": "test",
                "matched_by": "code",
            }
        )
        for n, ((code, period), value) in enumerate(sorted(unit.figures.items())):
            figures.append(
                {
                    "file_sha256": sha,
                    "sheet": catalogue[code].sheet,
                    "indicator_code": code,
                    "period": period,
                    "cell": f"E{n + 6}",
                    "raw_value": "" if value is None else str(value),
                    "value": value,
                    "value_status": "blank" if value is None else "reported",
                    "is_in_scope": catalogue[code].is_reported_by(unit.unit_type),
                    "is_rejected": False,
                }
            )
        for n, model in enumerate(unit.models):
            models.append(
                dict.fromkeys(MODEL_COLUMNS) | {"file_sha256": sha, "row_number": n + 4, "is_rejected": False} | model
            )
        for n, person in enumerate(unit.nominations):
            nominations.append(
                dict.fromkeys(NOMINATION_COLUMNS)
                | {
                    "file_sha256": sha,
                    "row_number": n + 4,
                    "kind": "Cá nhân",
                    "is_disciplined": False,
                    "is_rejected": False,
                }
                | person
            )
        if unit.has_error:
            issues.append(
                {
                    "file_sha256": sha,
                    "file_name": f"{unit.code}.xlsx",
                    "rule_id": "R01",
                    "severity": "error",
                    "message": "Giá trị phải là số không âm",
                    "sheet": "01_PBGDPL",
                    "cell": "E6",
                    "indicator_code": "PB_CUOC",
                    "period": 2018,
                }
            )
    load.load_raw(con, pd.DataFrame(raw), pd.DataFrame())
    for table, rows, columns in (
        ("stg_file", files, FILE_COLUMNS),
        ("stg_figure", figures, FIGURE_COLUMNS),
        ("stg_model", models, MODEL_COLUMNS),
        ("stg_nomination", nominations, NOMINATION_COLUMNS),
    ):
        frame = pd.DataFrame(rows, columns=list(columns))
        if table == "stg_figure":
            frame["value"] = frame["value"].astype(float)
        load.insert_frame(con, table, frame)
    if issues:
        load.insert_frame(con, "stg_issue", pd.DataFrame(issues))
    marts.run_layers(con, marts.MODEL_LAYERS)
    awards.score_awards(con, rubric)
    return con


def rubric_with(**changes) -> Rubric:
    """The default rubric with some values replaced: `rubric_with(collective={"propose": 1})`."""
    base = load_rubric().model_dump()
    for section, values in changes.items():
        for key, value in values.items():
            if isinstance(value, dict) and isinstance(base[section].get(key), dict):
                base[section][key] = base[section][key] | value
            else:
                base[section][key] = value
    return Rubric(**base)


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()
