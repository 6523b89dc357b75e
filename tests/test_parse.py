"""Our own reading of cell values (R14, R17): every case the spec names, and the traps."""

from __future__ import annotations

import datetime as dt

import pytest

from tasks.parse import (
    BLANK,
    NOT_APPLICABLE,
    REPORTED,
    UNREADABLE,
    SimpleFormula,
    cell_ref,
    parse_date,
    parse_number,
    parse_simple_formula,
)


@pytest.mark.parametrize(
    "raw, value_type, unit, value, status",
    [
        ("1.234", "int", "", 1234.0, REPORTED),
        ("1.300", "int", "", 1300.0, REPORTED),  # never 1.3
        ("12.345.678", "int", "", 12345678.0, REPORTED),
        ("1 234", "int", "", 1234.0, REPORTED),
        ("1\u00a0234", "int", "", 1234.0, REPORTED),  # a non-breaking space pasted from the web
        (" 45 ", "int", "", 45.0, REPORTED),
        ("12 cuộc", "int", "cuộc", 12.0, REPORTED),
        ("12 cuo\u0323\u0302c", "int", "cuộc", 12.0, REPORTED),  # NFD
        ("350 lượt người", "int", "lượt người", 350.0, REPORTED),
        ("350 lượt", "int", "lượt người", 350.0, REPORTED),
        ("-", "int", "", 0.0, REPORTED),
        ("–", "int", "", 0.0, REPORTED),
        ("0", "int", "", 0.0, REPORTED),
        ("x", "int", "", None, NOT_APPLICABLE),
        ("X", "decimal", "", None, NOT_APPLICABLE),
        ("", "int", "", None, BLANK),
        ("   ", "int", "", None, BLANK),
        (None, "int", "", None, BLANK),
        (1300, "int", "", 1300.0, REPORTED),
        (12.5, "decimal", "", 12.5, REPORTED),
        ("12,5", "decimal", "", 12.5, REPORTED),
        ("1.234,5", "decimal", "", 1234.5, REPORTED),
        ("1 234,5", "decimal", "", 1234.5, REPORTED),
        ("1,234.5", "decimal", "", 1234.5, REPORTED),
        ("12.5", "decimal", "", 12.5, REPORTED),
        ("-5", "int", "", -5.0, REPORTED),  # read as typed; R01 rejects it
        ("1.300", "decimal", "", None, UNREADABLE),  # 1300 or 1,3 million đồng?
        ("1,234", "int", "", None, UNREADABLE),  # 1234 or 1,234?
        ("khoảng 20", "int", "", None, UNREADABLE),
        ("12 người", "int", "cuộc", None, UNREADABLE),
        ("#REF!", "int", "", None, UNREADABLE),
        ("1.23.4", "int", "", None, UNREADABLE),
        ("1.5", "int", "", 1.5, REPORTED),  # no thousands reading; R01 rejects a fractional count
        ("50%", "decimal", "", None, UNREADABLE),
        (True, "flag", "", None, UNREADABLE),
        (dt.date(2021, 8, 15), "int", "", None, UNREADABLE),
        (float("nan"), "int", "", None, UNREADABLE),
    ],
)
def test_parse_number(raw, value_type, unit, value, status):
    parsed = parse_number(raw, value_type, unit)
    assert (parsed.value, parsed.status) == (value, status)
    assert (parsed.problem is not None) == (status == UNREADABLE)


def test_problems_and_notes_are_vietnamese_and_quote_the_cell():
    assert parse_number("1.300", "decimal").problem == "'1.300' có thể đọc là 1300 hoặc 1,3"
    assert parse_number("khoảng 20", "int").problem == "'khoảng 20' không phải là số"
    assert parse_number("12 người", "int", "cuộc").problem == "'12 người' có chữ 'người' đi kèm số"
    assert parse_number("12 cuộc", "int", "cuộc").note == "'12 cuộc' được đọc là 12"
    assert parse_number("1.234", "int").note is None


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("15/08/2021", dt.date(2021, 8, 15)),
        ("15/8/2021", dt.date(2021, 8, 15)),
        ("15-08-2021", dt.date(2021, 8, 15)),
        ("15.08.2021", dt.date(2021, 8, 15)),
        ("2021-08-15", dt.date(2021, 8, 15)),
        ("ngày 15 tháng 8 năm 2021", dt.date(2021, 8, 15)),
        ("Lạc Sơn, ngày 15 tháng 08 năm 2021", dt.date(2021, 8, 15)),
        (44423, dt.date(2021, 8, 15)),
        (44423.0, dt.date(2021, 8, 15)),
        (dt.datetime(2021, 8, 15, 9, 30), dt.date(2021, 8, 15)),
        (dt.date(2021, 8, 15), dt.date(2021, 8, 15)),
    ],
)
def test_parse_date(raw, expected):
    assert parse_date(raw) == (expected, None)


@pytest.mark.parametrize(
    "raw, problem",
    [
        ("31/02/2021", "'31/02/2021' không phải là ngày hợp lệ (ghi theo dd/mm/yyyy)"),
        ("tháng 8", "'tháng 8' không phải là ngày (ghi theo dd/mm/yyyy)"),
        (12, "'12' không phải là ngày"),
    ],
)
def test_unreadable_dates(raw, problem):
    assert parse_date(raw) == (None, problem)


def test_a_blank_date_is_no_date_and_no_problem():
    assert parse_date("") == (None, None)
    assert parse_date(None) == (None, None)


def test_simple_formulas():
    assert parse_simple_formula("SUM(E7:G7)") == SimpleFormula(((6, 4), (6, 5), (6, 6)), (), 0.0)
    assert parse_simple_formula("=E7+$F$7+12") == SimpleFormula((), ((6, 4), (6, 5)), 12.0)
    assert parse_simple_formula("sum(N7:O7, 3) + A1") == SimpleFormula(((6, 13), (6, 14)), ((0, 0),), 3.0)
    for other in ("AVERAGE(E7:F7)", "E7-F7", "E7*2", "Sheet2!A1", "SUM(A1:XFD1048576)", "E7++F7", ""):
        assert parse_simple_formula(other) is None, other


def test_cell_ref():
    assert cell_ref(11, 5) == "F12"
    assert cell_ref(0, 26) == "AA1"
