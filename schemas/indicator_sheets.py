"""pandera models of the three indicator sheets, in long form: one row per figure cell.

A frame holds the figures of many workbooks at once (a batch), each row with its file and
cell, so one validation call checks a whole batch and every failure keeps its address. Values
arrive already parsed (tasks.parse): pandera sees floats, never the unit's raw text.

Check methods are named `r<rule id>_<what they check>` (reference/rules.csv); element-wise and cross-indicator rules alike
return a boolean Series aligned with the frame (True = fine), so a failure's index is the
figure row it concerns.
"""

from __future__ import annotations

import threading

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas.workbook import SHEET_CTCPL, SHEET_HGCS, SHEET_PBGDPL, TOTAL_PERIOD
from tongket.reference import PERIOD_YEARS, indicators

_TOLERANCE = 0.005  # decimals are typed with at most two places (triệu đồng)

# Which indicators each cross-indicator rule names: a failure flags all of them, that period.
RULE_INDICATORS: dict[str, tuple[str, ...]] = {
    "R02": ("PB_CUOC", "PB_LUOT"),
    "R03": ("PB_LUOT_DTTS", "PB_LUOT"),
    "R04": ("THI_CUOC", "THI_LUOT"),
    "R05": ("TL_BAN", "TL_LOAI"),
    "R06": ("HG_VV_TIEPNHAN", "HG_VV_THANH", "HG_VV_KHONGTHANH", "HG_VV_DANGGQ"),
    "R07": ("HG_HGV_NU", "HG_HGV"),
    "R08": ("HG_HGV", "HG_TO", "HG_HGV_NU"),
    "R10": ("CT_DAT", "CT_DIEM"),
}
# Blank cells that are not a missing figure: the 2021 legal access assessment happens at
# the end of the year, after the reporting window closes (indicators.csv note).
BLANK_ALLOWED = {("CT_DAT", 2021), ("CT_DIEM", 2021)}


_last_wide = threading.local()  # the cross-indicator checks of one validation share one pivot


def _wide(df: pd.DataFrame) -> pd.DataFrame:
    """Period figures as a (file, period) x indicator table; NaN where not reported.

    Every cross-indicator check of a validation call gets the same frame: it is pivoted once.
    """
    cached = getattr(_last_wide, "entry", None)
    if cached is not None and cached[0] is df:
        return cached[1]
    wide = _pivot(df)
    _last_wide.entry = (df, wide)
    return wide


def _pivot(df: pd.DataFrame) -> pd.DataFrame:
    periods = df[df["period"] != TOTAL_PERIOD]
    return periods.pivot_table(
        index=["file_sha256", "period"],
        columns="indicator_code",
        values="value",
        aggfunc="first",
        dropna=False,
    )


def _col(wide: pd.DataFrame, code: str) -> pd.Series:
    return wide[code] if code in wide.columns else pd.Series(float("nan"), index=wide.index)


def _flag_rows(df: pd.DataFrame, rule: str, failing: pd.Series) -> pd.Series:
    """True for every row except the figures `rule` names in the failing (file, period)s."""
    bad_keys = failing[failing.fillna(False).astype(bool)].index
    if len(bad_keys) == 0:
        return pd.Series(True, index=df.index)
    keys = pd.MultiIndex.from_arrays([df["file_sha256"], df["period"]])
    hit = keys.isin(bad_keys) & df["indicator_code"].isin(RULE_INDICATORS[rule]).to_numpy()
    return pd.Series(~hit, index=df.index)


def cross_rule_failures(df: pd.DataFrame, rule: str, pass_marks: dict[int, float] | None = None) -> pd.Series:
    """Boolean per (file, period): True where `rule` is broken. NULLs never break a rule."""
    wide = _wide(df)
    if wide.empty:
        return pd.Series(dtype=bool)
    c = lambda code: _col(wide, code)  # noqa: E731
    if rule == "R02":
        return ((c("PB_CUOC") > 0) & (c("PB_LUOT") < c("PB_CUOC"))) | ((c("PB_LUOT") > 0) & (c("PB_CUOC") == 0))
    if rule == "R03":
        return c("PB_LUOT_DTTS") > c("PB_LUOT")
    if rule == "R04":
        return ((c("THI_CUOC") > 0) & (c("THI_LUOT") == 0)) | ((c("THI_LUOT") > 0) & (c("THI_CUOC") == 0))
    if rule == "R05":
        return c("TL_BAN") < c("TL_LOAI")
    if rule == "R06":
        parts = c("HG_VV_THANH") + c("HG_VV_KHONGTHANH") + c("HG_VV_DANGGQ")
        return (parts - c("HG_VV_TIEPNHAN")).abs() > _TOLERANCE
    if rule == "R07":
        return c("HG_HGV_NU") > c("HG_HGV")
    if rule == "R08":
        return (c("HG_HGV") < 3 * c("HG_TO")) | (c("HG_HGV_NU") < c("HG_TO"))
    if rule == "R10":
        marks = wide.index.get_level_values("period").map(lambda p: (pass_marks or {}).get(p, 80.0))
        return (c("CT_DAT") == 1) & (c("CT_DIEM") < pd.Series(marks, index=wide.index))
    raise KeyError(rule)


def computed_totals(df: pd.DataFrame) -> pd.Series:
    """The total the unit should have typed, per (file, indicator): sum for a flow, the last
    reported period's value for a stock or status (R11)."""
    periods = df[(df["period"] != TOTAL_PERIOD) & df["value"].notna()]
    flows = periods[periods["kind"] == "flow"].groupby(["file_sha256", "indicator_code"])["value"].sum()
    others = (
        periods[periods["kind"] != "flow"]
        .sort_values("period")
        .groupby(["file_sha256", "indicator_code"])["value"]
        .last()
    )
    return pd.concat([flows, others])


class IndicatorFigures(pa.DataFrameModel):
    """One row per figure cell of an indicator sheet, for many workbooks at once."""

    file_sha256: Series[str]
    sheet: Series[str] = pa.Field(isin=[SHEET_PBGDPL, SHEET_HGCS, SHEET_CTCPL])
    indicator_code: Series[str] = pa.Field(isin=list(indicators()))
    period: Series[int] = pa.Field(isin=[TOTAL_PERIOD, *PERIOD_YEARS])
    cell: Series[str]
    raw_value: Series[str]
    value: Series[float] = pa.Field(nullable=True)
    value_status: Series[str] = pa.Field(isin=["reported", "blank", "not_applicable", "unreadable"])
    is_in_scope: Series[bool]
    kind: Series[str] = pa.Field(isin=["flow", "stock", "status"])
    value_type: Series[str] = pa.Field(isin=["int", "decimal", "flag"])

    class Config:
        strict = "filter"  # ignore helper columns; the listed ones must all be there
        coerce = False  # values are parsed by our rules before they get here

    @pa.dataframe_check
    def r11_typed_total_matches(cls, df: pd.DataFrame) -> Series[bool]:
        totals = df[(df["period"] == TOTAL_PERIOD) & df["value"].notna()]
        if totals.empty:
            return pd.Series(True, index=df.index)
        expected = computed_totals(df)
        keys = pd.MultiIndex.from_arrays([totals["file_sha256"], totals["indicator_code"]])
        computed = pd.Series(expected.reindex(keys).to_numpy(), index=totals.index)
        bad = computed.notna() & ((totals["value"] - computed).abs() > _TOLERANCE)
        return pd.Series(True, index=df.index).mask(bad.reindex(df.index, fill_value=False), False)

    @pa.dataframe_check
    def r12_only_reported_by_unit_type(cls, df: pd.DataFrame) -> Series[bool]:
        return df["is_in_scope"] | df["value"].isna() | (df["period"] == TOTAL_PERIOD)

    @pa.dataframe_check
    def r17_required_figure_not_blank(cls, df: pd.DataFrame) -> Series[bool]:
        blank_allowed = pd.Series(list(zip(df["indicator_code"], df["period"])), index=df.index).isin(BLANK_ALLOWED)
        return ~(df["is_in_scope"] & (df["value_status"] == "blank") & (df["period"] != TOTAL_PERIOD) & ~blank_allowed)


class _CountsAndAmounts(IndicatorFigures):
    @pa.dataframe_check
    def r01_non_negative_whole_counts(cls, df: pd.DataFrame) -> Series[bool]:
        value = df["value"]
        periods = df["period"] != TOTAL_PERIOD
        negative = value < 0
        fractional = (df["value_type"] == "int") & value.notna() & (value % 1 != 0)
        return ~(periods & (negative | fractional))


class PbgdplFigures(_CountsAndAmounts):
    """01_PBGDPL: law dissemination figures."""

    @pa.dataframe_check
    def r02_attendances_match_sessions(cls, df: pd.DataFrame) -> Series[bool]:
        return _flag_rows(df, "R02", cross_rule_failures(df, "R02"))

    @pa.dataframe_check
    def r03_ethnic_minority_within_attendances(cls, df: pd.DataFrame) -> Series[bool]:
        return _flag_rows(df, "R03", cross_rule_failures(df, "R03"))

    @pa.dataframe_check
    def r04_contests_match_entries(cls, df: pd.DataFrame) -> Series[bool]:
        return _flag_rows(df, "R04", cross_rule_failures(df, "R04"))

    @pa.dataframe_check
    def r05_copies_at_least_titles(cls, df: pd.DataFrame) -> Series[bool]:
        return _flag_rows(df, "R05", cross_rule_failures(df, "R05"))


class HgcsFigures(_CountsAndAmounts):
    """02_HGCS: grassroots mediation figures."""

    @pa.dataframe_check
    def r06_cases_add_up(cls, df: pd.DataFrame) -> Series[bool]:
        return _flag_rows(df, "R06", cross_rule_failures(df, "R06"))

    @pa.dataframe_check
    def r07_women_within_mediators(cls, df: pd.DataFrame) -> Series[bool]:
        return _flag_rows(df, "R07", cross_rule_failures(df, "R07"))

    @pa.dataframe_check
    def r08_groups_have_three_mediators_and_a_woman(cls, df: pd.DataFrame) -> Series[bool]:
        return _flag_rows(df, "R08", cross_rule_failures(df, "R08"))


class CtcplFigures(IndicatorFigures):
    """03_CTCPL: the legal access standard, one column a calendar year.

    R10 needs each year's pass mark: the frame carries it in a `pass_mark` column (from the
    configuration), so the model stays free of settings.
    """

    pass_mark: Series[float]

    @pa.dataframe_check
    def r09_score_and_flag_in_range(cls, df: pd.DataFrame) -> Series[bool]:
        value = df["value"]
        is_flag = df["value_type"] == "flag"
        bad_flag = is_flag & value.notna() & ~value.isin([0.0, 1.0])
        bad_score = ~is_flag & value.notna() & ((value < 0) | (value > 100))
        return ~((df["period"] != TOTAL_PERIOD) & (bad_flag | bad_score))

    @pa.dataframe_check
    def r10_met_standard_has_pass_score(cls, df: pd.DataFrame) -> Series[bool]:
        marks = df[df["period"] != TOTAL_PERIOD].groupby("period")["pass_mark"].first().to_dict()
        return _flag_rows(df, "R10", cross_rule_failures(df, "R10", marks))


SHEET_MODELS: dict[str, type[IndicatorFigures]] = {
    SHEET_PBGDPL: PbgdplFigures,
    SHEET_HGCS: HgcsFigures,
    SHEET_CTCPL: CtcplFigures,
}
CROSS_RULES = tuple(RULE_INDICATORS)
