"""`tongket templates`: one blank template workbook per unit of the registry."""

from __future__ import annotations

from pathlib import Path

from tasks.registry import read_registry
from tongket.sample.content import UnitReport
from tongket.text import fold_key
from tongket.workbook_writer import write_unit_workbook


def template_file_name(unit_code: str, unit_name: str) -> str:
    return f"mau-bao-cao_{unit_code}_{fold_key(unit_name).replace(' ', '-')}.xlsx"


def write_templates(registry_path: Path, out: Path) -> list[Path]:
    """Write a protected blank template for every active unit; returns the files written."""
    registry, _ = read_registry(registry_path)
    written = []
    for unit in registry[registry["active"]].itertuples():
        report = UnitReport(unit_code=unit.unit_code, unit_name=unit.unit_name, unit_type=unit.unit_type)
        written.append(write_unit_workbook(out / template_file_name(unit.unit_code, unit.unit_name), report))
    return written
