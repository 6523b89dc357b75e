"""`tongket sample`: a registry and one filled workbook per unit of a real district.

Beside the inbox it writes `expected_figures.csv`, the figures a correct pipeline must load
(unit, indicator, period, value), so tests and the office can check a run against the truth.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import shutil
from pathlib import Path

from tongket.reference import PERIOD_YEARS, indicators
from tongket.sample.content import UnitReport, generate_unit_report
from tongket.sample.registry import POPULATION_NOTE, district_info, registry_rows, write_registry
from tongket.text import fold_key
from tongket.workbook_writer import write_unit_workbook

VN = dt.timezone(dt.timedelta(hours=7))
EXPECTED_FILE = "expected_figures.csv"


def file_name_for(unit: dict, rng: random.Random) -> str:
    """Units name their files anything; a few habits seen in real inboxes."""
    slug = fold_key(unit["unit_name"]).replace(" ", "_")
    return rng.choice(
        [
            f"BC tong ket PBGDPL - {unit['unit_name']}.xlsx",
            f"baocao_{unit['unit_code']}.xlsx",
            f"{slug}_tongket_2017-2021.xlsx",
            f"Báo cáo tổng kết {unit['unit_name']} (gửi PTP).xlsx",
        ]
    )


def received_at(report: UnitReport, rng: random.Random) -> dt.datetime:
    """When the file reached the office: the report date plus 0-3 days, in office hours."""
    day = report.reported_on + dt.timedelta(days=rng.choice((0, 0, 1, 1, 2, 3)))
    return dt.datetime(day.year, day.month, day.day, rng.randint(7, 16), rng.randint(0, 59), tzinfo=VN)


def set_received_time(path: Path, moment: dt.datetime) -> None:
    stamp = moment.timestamp()
    os.utime(path, (stamp, stamp))


def expected_rows(report: UnitReport) -> list[dict]:
    """The figures a correct pipeline loads from this unit's workbook (its type's indicators)."""
    rows = []
    for code, indicator in indicators().items():
        if not indicator.is_reported_by(report.unit_type):
            continue
        for period in PERIOD_YEARS:
            value = report.figures.get((code, period))
            rows.append(
                {
                    "unit_code": report.unit_code,
                    "indicator_code": code,
                    "period": period,
                    "value": "" if value is None else value,
                }
            )
    return rows


def write_expected(rows: list[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["unit_code", "indicator_code", "period", "value"])
        writer.writeheader()
        writer.writerows(rows)


def generate_sample(district_code: int, out: Path, seed: int = 2021, messy: bool = False) -> str:
    """Write registry.csv, inbox/ and expected_figures.csv under `out`; returns a summary."""
    district_name, province_name = district_info(district_code)
    units = registry_rows(district_code, seed)
    inbox = out / "inbox"
    if inbox.exists():
        shutil.rmtree(inbox)
    inbox.mkdir(parents=True)
    registry_path = write_registry(units, out / "registry.csv")
    expected: list[dict] = []
    reports: list[tuple[dict, UnitReport, Path]] = []
    for unit in units:
        rng = random.Random(f"file-{seed}-{unit['unit_code']}")
        report = generate_unit_report(unit, seed, district_name)
        path = write_unit_workbook(inbox / file_name_for(unit, rng), report, protect=True)
        set_received_time(path, received_at(report, rng))
        reports.append((unit, report, path))
        expected.extend(expected_rows(report))
    summary_extra = ""
    if messy:
        from tongket.sample.messy import make_messy

        expected, summary_extra = make_messy(reports, inbox, out, seed, expected)
    write_expected(expected, out / EXPECTED_FILE)
    (out / "README.txt").write_text(
        f"Dữ liệu mẫu: {district_name}, {province_name} (mã {district_code}), seed {seed}.\n"
        f"{POPULATION_NOTE}\nSố liệu đúng mà hệ thống phải nạp: {EXPECTED_FILE}.\n",
        encoding="utf-8",
    )
    return (
        f"{district_name}, {province_name}: {len(units)} units "
        f"({sum(u['unit_type'] == 'commune' for u in units)} communes and towns, "
        f"{sum(u['unit_type'] == 'agency' for u in units)} agencies)\n"
        f"Registry: {registry_path}\nInbox: {inbox} ({len(list(inbox.iterdir()))} files)\n"
        f"Expected figures: {out / EXPECTED_FILE}{summary_extra}"
    )
