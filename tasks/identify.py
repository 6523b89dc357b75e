"""Identify the unit that sent a workbook: by its code, else by its name against the registry."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from rapidfuzz import fuzz, process

from tongket.text import clean_text, fold_key

# Words that precede or follow a unit's proper name and say nothing about which unit it is.
_NAME_NOISE = (
    "uy ban nhan dan",
    "ubnd",
    "thi tran",
    "xa",
    "phuong",
    "phong",
    "co quan",
)


def normalise_code(value: object) -> str:
    """A unit code as typed: trimmed, upper case; digits-only codes without leading zeros
    (Excel drops them when the cell is a number: `05287` arrives as 5287)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = clean_text(value).upper().replace(" ", "")
    return text.lstrip("0") or text if text.isdigit() else text


def normalise_name(name: str, district_name: str = "") -> str:
    """A unit name folded for matching: no case, diacritics, prefixes or district name."""
    key = f" {fold_key(name)} "
    district = fold_key(district_name)
    if district:
        key = key.replace(f" {district} ", " ")
        bare = district.split(" ", 1)[1] if " " in district else district
        key = key.replace(f" huyen {bare} ", " ").replace(f" {bare} ", " ")
    for noise in _NAME_NOISE:
        key = key.replace(f" {noise} ", " ")
    return " ".join(key.split())


@dataclass(frozen=True)
class Identification:
    unit_code: str | None
    matched_by: str | None  # code | name
    problem: str | None  # Vietnamese, for R15


class UnitMatcher:
    """Matches typed codes and names against the registry of expected units."""

    def __init__(
        self,
        registry: pd.DataFrame,
        district_name: str = "",
        min_similarity: float = 90,
        min_margin: float = 5,
    ) -> None:
        self.district_name = district_name
        self.min_similarity = min_similarity
        self.min_margin = min_margin
        codes = registry["unit_code"].tolist()
        self.by_code = {normalise_code(code): code for code in codes}
        self.unit_type = dict(zip(codes, registry["unit_type"]))
        self.unit_name = dict(zip(codes, registry["unit_name"]))
        self._codes = codes
        self._names = [normalise_name(n, district_name) for n in registry["unit_name"]]

    def identify(self, code_typed: object, name_typed: object) -> Identification:
        code = normalise_code(code_typed)
        if code and code in self.by_code:
            return Identification(self.by_code[code], "code", None)
        name = normalise_name(clean_text(name_typed), self.district_name)
        shown_code = clean_text(code_typed) or "(trống)"
        shown_name = clean_text(name_typed) or "(trống)"
        if not name:
            return Identification(None, None, f"mã đơn vị '{shown_code}' không có trong danh sách và tên đơn vị trống")
        best = process.extract(name, self._names, scorer=_similarity, limit=2)
        if not best or best[0][1] < self.min_similarity:
            return Identification(
                None,
                None,
                f"mã '{shown_code}' và tên '{shown_name}' không khớp với đơn vị nào trong danh sách",
            )
        if len(best) > 1 and best[0][1] - best[1][1] < self.min_margin:
            first, second = (self.unit_name[self._codes[b[2]]] for b in best)
            return Identification(
                None, None, f"tên '{shown_name}' gần giống cả '{first}' và '{second}', không xác định được"
            )
        return Identification(self._codes[best[0][2]], "name", None)


def _similarity(a: str, b: str, **_: object) -> float:
    return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b))
