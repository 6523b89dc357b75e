"""Property: for random figures, typed in any of the forms units use, and any combination of
the tolerated deviations in any file format, what is loaded is what was written, and the only
issues are the ones those choices imply (warnings for blanks, `12 cuộc`, totals Excel
computed without the text cells)."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.ingest import WorkbookToRead, stage_batch
from tests.workbooks import UNITS, figures, ingest_context, issues
from tongket.reference import PERIOD_YEARS, indicators
from tongket.sample import messy as m
from tongket.sample.book_model import write_book
from tongket.sample.content import generate_unit_report

# Indicators no cross-indicator rule names: any value (or none) keeps the file valid.
FREE = ("TIN_BAI", "PT_LUOT", "NPL_HD", "TSPL", "TSPL_DAUSACH", "TTV", "BCV", "HG_KP")
LAYOUTS = [
    m.insert_title_rows,
    m.insert_and_hide_columns,
    m.reorder_sheets_and_add_extras,
    m.split_header,
    m.reorder_period_columns,
    m.reorder_rows,
    m.edit_labels,
    m.blank_codes,
    m.nfd_text,
    m.date_as_text,
    m.date_as_serial,
]
NAMEABLE = {"05287", "05344", "05347", "05290"}  # the tests' communes named "Xã ..."


def _free_value(code: str):
    if indicators()[code].value_type == "decimal":
        return st.one_of(st.none(), st.integers(0, 10_000_000).map(lambda n: n / 100))
    return st.one_of(st.none(), st.integers(0, 3_000_000).map(float))


@st.composite
def typed_form(draw, value: float | None, value_type: str, unit_vi: str) -> tuple[object, m.Reading, bool]:
    """How a unit types `value`: (what is in the cell, how it must be read, whether it is the
    tolerated `12 cuộc` reading that raises an R14 warning)."""
    if value is None:
        return draw(
            st.sampled_from([(None, m.Reading(None, m.BLANK), False), ("x", m.Reading(None, m.NOT_APPLICABLE), False)])
        )
    plain = m._thousands(value, "") if value.is_integer() else f"{value:.2f}".replace(".", ",")
    forms: list[tuple[object, bool]] = [(value, False), (f" {plain} ", False)]
    if value_type == "decimal":
        forms.append((f"{value:.2f}".replace(".", ","), False))
    elif value.is_integer():
        forms.append((m._thousands(value, ""), False))
        if value >= 1000:
            forms += [(m._thousands(value, "."), False), (m._thousands(value, " "), False)]
        if unit_vi:
            forms.append((f"{int(value)} {unit_vi}", True))
    if value == 0:
        forms.append(("-", False))
    typed, warned = draw(st.sampled_from(forms))
    return typed, m.Reading(value), warned


@st.composite
def messy_files(draw):
    unit = draw(st.sampled_from(UNITS))
    report = generate_unit_report(unit, draw(st.integers(0, 10_000)), "Huyện Lạc Sơn")
    for code in FREE:
        if indicators()[code].is_reported_by(unit["unit_type"]):
            for period in draw(st.sets(st.sampled_from(PERIOD_YEARS), max_size=2)):
                report.figures[(code, period)] = draw(_free_value(code))
    messy = m.start_file(unit, report, "u.xlsx", None)
    cells = [
        (code, period)
        for code, indicator in indicators().items()
        if indicator.is_reported_by(unit["unit_type"])
        for period in PERIOD_YEARS
    ]
    for code, period in draw(st.lists(st.sampled_from(cells), min_size=5, max_size=40, unique=True)):
        indicator = indicators()[code]
        typed, reading, warned = draw(typed_form(messy.value(code, period), indicator.value_type, indicator.unit_vi))
        messy.retype(code, period, typed, reading)
        if warned:
            messy.plant("R14", code, period)
    chosen = draw(st.lists(st.sampled_from(LAYOUTS), unique=True, max_size=5))
    if m.edit_labels in chosen and m.blank_codes in chosen:
        chosen.remove(m.blank_codes)  # no code and an edited label: unidentifiable by design
    for layout in chosen:
        layout(messy, draw(st.randoms(use_true_random=False)))
    if unit["unit_code"] in NAMEABLE and draw(st.booleans()):
        m.name_without_code(draw(st.integers(0, 2)))(messy, None)
    suffix = draw(st.sampled_from([".xlsx", ".xlsm", ".xls", ".ods"]))
    if suffix == ".xlsx" and draw(st.booleans()):
        formulas = draw(st.sampled_from([m.formulas_cached, m.formulas_not_cached]))
        if messy.value("TL_LOAI", 2017) is not None and all(
            messy.value("KP_PBGDPL", p) is not None for p in PERIOD_YEARS
        ):
            formulas(messy, draw(st.randoms(use_true_random=False)))
    messy.file_name = "u" + suffix
    return messy


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(messy_files())
def test_what_is_loaded_is_what_was_written(messy):
    with tempfile.TemporaryDirectory() as folder:
        path = write_book(messy.book, Path(folder) / messy.file_name)
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        batch = stage_batch([WorkbookToRead(sha, path.name, str(path))], ingest_context())
    values, planted = m.derive_truth(messy)
    file = batch.files.iloc[0]
    assert (file["read_status"], file["unit_code"]) == ("readable", messy.unit["unit_code"])
    assert file["reported_on"].date() == messy.reported_on
    expected = {(indicators()[code].sheet, code, period): value for (code, period), value in values.items()}
    assert figures(batch) == expected
    want = sorted(
        (rule, sheet, messy.book.sheet(sheet).address(tag) if tag is not None else None, rule_severity(rule))
        for sheet, tag, rule in planted
    )
    assert issues(batch) == want


def rule_severity(rule: str) -> str:
    return "warning" if rule in ("R11", "R14", "R17", "R12") else "error"
