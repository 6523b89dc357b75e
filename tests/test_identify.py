"""Which unit sent a workbook: by its code, else by its name against the registry (R15)."""

from __future__ import annotations

import unicodedata

import pandas as pd
import pytest

from tasks.identify import UnitMatcher, normalise_code, normalise_name
from tongket.sample.messy import name_forms
from tongket.sample.registry import registry_rows


@pytest.fixture(scope="module")
def lac_son() -> tuple[UnitMatcher, pd.DataFrame]:
    """The demo district's real registry: 24 communes and towns, 21 agencies."""
    registry = pd.DataFrame(registry_rows(157, 7))
    return UnitMatcher(registry, "Huyện Lạc Sơn", 90, 5), registry


@pytest.mark.parametrize(
    "typed, code",
    [("05287", "05287"), (5287, "05287"), (5287.0, "05287"), (" 05287 ", "05287"), ("157-cq01", "157-CQ01")],
)
def test_codes_as_units_type_them(lac_son, typed, code):
    matcher, _ = lac_son
    found = matcher.identify(typed, "")
    assert (found.unit_code, found.matched_by) == (code, "code")


def test_normalised_names():
    assert normalise_name("UBND xã Tân Lập", "Huyện Lạc Sơn") == "tan lap"
    assert normalise_name("Ủy ban nhân dân thị trấn Vụ Bản", "Huyện Lạc Sơn") == "vu ban"
    assert normalise_name("PHÒNG TƯ PHÁP HUYỆN LẠC SƠN", "Huyện Lạc Sơn") == "tu phap"
    assert normalise_code("00") == "00"


def test_every_commune_is_found_by_each_way_its_name_is_typed(lac_son):
    matcher, registry = lac_son
    communes = registry[(registry["unit_type"] == "commune") & registry["unit_name"].str.startswith("Xã ")]
    assert len(communes) == 23
    for unit in communes.itertuples():
        for typed in [*name_forms(unit.unit_name), unicodedata.normalize("NFD", unit.unit_name.upper())]:
            found = matcher.identify("", typed)
            assert (found.unit_code, found.matched_by) == (unit.unit_code, "name"), typed


def test_every_agency_is_found_by_its_name(lac_son):
    matcher, registry = lac_son
    for unit in registry[registry["unit_type"] == "agency"].itertuples():
        for typed in (unit.unit_name, unit.unit_name.upper(), f"{unit.unit_name} huyện Lạc Sơn"):
            assert matcher.identify(None, typed).unit_code == unit.unit_code, typed


@pytest.mark.parametrize(
    "name, problem",
    [
        ("", "mã đơn vị '(trống)' không có trong danh sách và tên đơn vị trống"),
        ("Xã Tân", "mã '(trống)' và tên 'Xã Tân' không khớp với đơn vị nào trong danh sách"),
        (
            "Trường THCS Kim Đồng",
            "mã '(trống)' và tên 'Trường THCS Kim Đồng' không khớp với đơn vị nào trong danh sách",
        ),
    ],
)
def test_unknown_names_are_r15(lac_son, name, problem):
    matcher, _ = lac_son
    found = matcher.identify("", name)
    assert (found.unit_code, found.problem) == (None, problem)


def test_a_name_close_to_two_units_is_never_guessed():
    registry = pd.DataFrame(
        {
            "unit_code": ["01", "02", "03"],
            "unit_name": ["Xã Tân Lập", "Xã Tân Lạc", "Xã Yên Phú"],
            "unit_type": ["commune"] * 3,
        }
    )
    matcher = UnitMatcher(registry, "Huyện Lạc Sơn", 90, 5)
    assert matcher.identify("", "xa tan lap").unit_code == "01"  # exact, the other is far enough
    found = matcher.identify("", "Xã Tân La")  # as close to one as to the other
    assert found.unit_code is None
    assert found.problem == "tên 'Xã Tân La' gần giống cả 'Xã Tân Lập' và 'Xã Tân Lạc', không xác định được"
