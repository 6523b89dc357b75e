"""The project's reference data (folder `reference/`), loaded once.

This is the only place that reads the indicator catalogue, the rule catalogue, the periods
and the narrative questions; everything else asks here (or the warehouse's `dim_*` tables,
which are loaded from the same files).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tongket.settings import REFERENCE_DIR

UNIT_TYPES = ("commune", "agency")


def _read_csv(name: str) -> list[dict[str, str]]:
    path: Path = REFERENCE_DIR / name
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@dataclass(frozen=True)
class Indicator:
    """One row of `reference/indicators.csv`."""

    code: str
    sheet: str
    label_vi: str
    label_en: str
    unit_vi: str
    kind: str  # flow | stock | status
    value_type: str  # int | decimal | flag
    reported_by: str  # all | commune | agency
    typical_min: float
    typical_max: float
    note: str

    def is_reported_by(self, unit_type: str) -> bool:
        """True when units of this type must report the indicator."""
        return self.reported_by in ("all", unit_type)


@dataclass(frozen=True)
class Rule:
    """One row of `reference/rules.csv`."""

    id: str
    severity: str  # error | warning
    applies_to: str
    rule: str
    message_vi: str


@dataclass(frozen=True)
class Period:
    period: int
    label_vi: str
    starts_on: str
    ends_on: str
    months: int


@cache
def indicators() -> dict[str, Indicator]:
    """Indicators by code, in catalogue order."""
    out = {}
    for row in _read_csv("indicators.csv"):
        row["typical_min"] = float(row["typical_min"])
        row["typical_max"] = float(row["typical_max"])
        out[row["code"]] = Indicator(**row)
    return out


@cache
def indicators_of_sheet(sheet: str) -> tuple[Indicator, ...]:
    return tuple(ind for ind in indicators().values() if ind.sheet == sheet)


@cache
def rules() -> dict[str, Rule]:
    return {row["id"]: Rule(**row) for row in _read_csv("rules.csv")}


@cache
def periods() -> tuple[Period, ...]:
    return tuple(
        Period(int(r["period"]), r["label_vi"], r["starts_on"], r["ends_on"], int(r["months"]))
        for r in _read_csv("periods.csv")
    )


PERIOD_YEARS: tuple[int, ...] = tuple(p.period for p in periods())
WINDOW_YEARS = sum(p.months for p in periods()) / 12  # 01/6/2017 - 01/6/2021: 4 years


@cache
def narrative_questions() -> dict[str, str]:
    """Question code -> Vietnamese question of sheet 06_DANHGIA, in template order."""
    return {r["question_code"]: r["question_vi"] for r in _read_csv("narrative_questions.csv")}


@cache
def award_component_labels() -> dict[tuple[str, str], str]:
    """(audience, component) -> Vietnamese label of an award component."""
    return {(r["audience"], r["component"]): r["label_vi"] for r in _read_csv("award_components.csv")}


@cache
def district_agencies() -> tuple[tuple[str, str], ...]:
    """(agency number, name) of the usual district agencies, for the demo registry."""
    return tuple((r["agency_no"], r["unit_name"]) for r in _read_csv("district_agencies.csv"))
