"""A real district's registry: its communes and towns from vietnam-provinces, plus the usual
district agencies. Commune populations are not in that package: they are invented
(deterministically from the seed) and the registry says so in `population_note`."""

from __future__ import annotations

import csv
import json
import random
from functools import cache
from pathlib import Path

import vietnam_provinces

from tongket.reference import district_agencies
from tongket.text import nfc

POPULATION_NOTE = "Dân số xã, thị trấn là số liệu giả định cho dữ liệu mẫu (không có trong vietnam-provinces)."


@cache
def divisions() -> tuple[dict, ...]:
    """Every ward of vietnam-provinces' flat list (2019-2024 three-level divisions)."""
    with open(vietnam_provinces.FLAT_DIVISIONS_JSON_PATH, encoding="utf-8") as handle:
        return tuple(row for row in json.load(handle) if row.get("ward_code"))


def district_info(district_code: int) -> tuple[str, str]:
    """(district name, province name) of a GSO district code."""
    for row in divisions():
        if row["district_code"] == district_code:
            return nfc(row["district_name"]), nfc(row["province_name"])
    raise KeyError(district_code)


def district_codes() -> list[int]:
    return sorted({row["district_code"] for row in divisions()})


def agency_code(district_code: int, agency_no: str) -> str:
    return f"{district_code:03d}-CQ{agency_no}"


def registry_rows(district_code: int, seed: int = 2021, agency_count: int | None = None) -> list[dict]:
    """The expected units of a district: communes first (by GSO code), then agencies."""
    rng = random.Random(f"registry-{seed}-{district_code}")
    rows = []
    for ward in sorted((w for w in divisions() if w["district_code"] == district_code), key=lambda w: w["ward_code"]):
        name = nfc(ward["ward_name"])
        is_town = name.startswith(("Thị trấn", "Phường"))
        population = rng.randint(9_000, 22_000) if is_town else rng.randint(2_500, 12_000)
        rows.append(
            {
                "unit_code": f"{ward['ward_code']:05d}",
                "unit_name": name,
                "unit_type": "commune",
                "population": population,
            }
        )
    if not rows:
        raise KeyError(district_code)
    agencies = district_agencies()[: agency_count or None]
    for number, name in agencies:
        rows.append(
            {
                "unit_code": agency_code(district_code, number),
                "unit_name": name,
                "unit_type": "agency",
                "population": "",
            }
        )
    return rows


def write_registry(rows: list[dict], path: Path) -> Path:
    """Write the registry CSV in the contract's columns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["unit_code", "unit_name", "unit_type", "population"])
        writer.writeheader()
        writer.writerows(rows)
    return path
