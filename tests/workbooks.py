"""Tiny unit workbooks built in code, and the real staging code run on them.

A test takes a clean unit report (`report_for`), turns it into a workbook model
(`book_from_report`), changes what it wants to test, writes it (`write_book`) and stages it
with the real reader and validator (`stage`). Helpers then give the figures and issues in
forms a test can compare exactly.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.ingest import IngestContext, StagedBatch, WorkbookToRead, stage_batch
from tongket.reference import PERIOD_YEARS, indicators
from tongket.sample.book_model import BookModel, book_from_report, fig_tag, write_book
from tongket.sample.content import UnitReport, generate_unit_report
from tongket.settings import load_settings

DISTRICT = "Huyện Lạc Sơn"
UNITS = [
    {"unit_code": "05266", "unit_name": "Thị trấn Vụ Bản", "unit_type": "commune", "population": 20939},
    {"unit_code": "05287", "unit_name": "Xã Tân Lập", "unit_type": "commune", "population": 8776},
    {"unit_code": "05344", "unit_name": "Xã Tân Mỹ", "unit_type": "commune", "population": 6109},
    {"unit_code": "05347", "unit_name": "Xã Ân Nghĩa", "unit_type": "commune", "population": 4245},
    {"unit_code": "05290", "unit_name": "Xã Nhân Nghĩa", "unit_type": "commune", "population": 3555},
    {"unit_code": "157-CQ01", "unit_name": "Phòng Tư pháp", "unit_type": "agency", "population": None},
    {"unit_code": "157-CQ06", "unit_name": "Huyện đoàn", "unit_type": "agency", "population": None},
]
COMMUNE, AGENCY = "05287", "157-CQ01"
PB, HG, CT = "01_PBGDPL", "02_HGCS", "03_CTCPL"


def registry_frame() -> pd.DataFrame:
    frame = pd.DataFrame(UNITS)
    frame["population"] = frame["population"].astype("Int64")
    frame["active"] = True
    return frame


def ingest_context(**validation: Any) -> IngestContext:
    settings = load_settings()
    return IngestContext(
        registry=registry_frame(),
        registry_sha256="tests-registry",
        district_name=DISTRICT,
        limits=settings.limits,
        validation=settings.validation.model_copy(update=validation),
        parser_version="tests",
    )


def report_for(unit_code: str = COMMUNE, seed: int = 3) -> UnitReport:
    """A clean, rule-abiding report of one registry unit (the demo generator's content)."""
    unit = next(u for u in UNITS if u["unit_code"] == unit_code)
    return generate_unit_report(unit, seed, DISTRICT)


def book_for(unit_code: str = COMMUNE, seed: int = 3) -> tuple[UnitReport, BookModel]:
    report = report_for(unit_code, seed)
    return report, book_from_report(report)


def stage(
    tmp_path: Path, *books: BookModel | tuple[str, BookModel] | Path, ctx: IngestContext | None = None
) -> StagedBatch:
    """Write each workbook (a model, a (file name, model) pair, or a file already written)
    and stage them all in one batch with the real code."""
    items = []
    for i, book in enumerate(books):
        if isinstance(book, Path):
            path = book
        else:
            name, model = book if isinstance(book, tuple) else (f"unit_{i}.xlsx", book)
            path = write_book(model, tmp_path / name)
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        items.append(WorkbookToRead(sha, path.name, str(path)))
    return stage_batch(items, ctx or ingest_context())


def figures(batch: StagedBatch, accepted_only: bool = True) -> dict[tuple[str, str, int], float | None]:
    """(sheet, indicator, period) -> value of the period figures a batch of one file would load:
    in scope, not rejected (None for blank, 'x' and other NULLs)."""
    frame = batch.figures[(batch.figures["period"] != 0) & batch.figures["is_in_scope"]]
    if accepted_only:
        frame = frame[~frame["is_rejected"]]
    return {
        (r.sheet, r.indicator_code, int(r.period)): (None if pd.isna(r.value) else float(r.value))
        for r in frame.itertuples()
    }


def expected_figures(report: UnitReport) -> dict[tuple[str, str, int], float | None]:
    """What a correct reading of the clean report loads: its type's indicators, every period."""
    out = {}
    for code, indicator in indicators().items():
        if indicator.is_reported_by(report.unit_type):
            for period in PERIOD_YEARS:
                value = report.figures.get((code, period))
                out[(indicator.sheet, code, period)] = None if value is None else float(value)
    return out


def issues(
    batch: StagedBatch, *, rules: tuple[str, ...] | None = None
) -> list[tuple[str, str | None, str | None, str]]:
    """(rule id, sheet, cell, severity) of every issue, sorted."""
    frame = batch.issues
    if rules:
        frame = frame[frame["rule_id"].isin(rules)]
    rows = [
        (r.rule_id, None if pd.isna(r.sheet) else r.sheet, None if pd.isna(r.cell) else r.cell, r.severity)
        for r in frame.itertuples()
    ]
    return sorted(rows, key=lambda t: tuple("" if v is None else str(v) for v in t))


def messages(batch: StagedBatch, rule: str) -> list[str]:
    return sorted(batch.issues.loc[batch.issues["rule_id"] == rule, "message"])


def address(book: BookModel, sheet: str, code: str, period: int) -> str:
    return book.sheet(sheet).address(fig_tag(sheet, code, period))


def set_figure(book: BookModel, sheet: str, code: str, period: int, value: Any) -> str:
    """Retype one figure cell (a number, a text, None); returns its address."""
    model = book.sheet(sheet)
    r, c = model.find(fig_tag(sheet, code, period))
    model.put(r, c, value)
    return model.address(fig_tag(sheet, code, period))


def copy_report(report: UnitReport) -> UnitReport:
    return copy.deepcopy(report)
