"""pandera models of the sheets that are not indicator tables: the unit's information, good
models, award nominations and the narrative answers. One row per record, many workbooks at
once; `row_number` or `cell` keeps each record's place in its sheet.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas.workbook import FEMALE, KIND_COLLECTIVE, KIND_INDIVIDUAL, MALE
from tongket.reference import narrative_questions


class SubmissionInfo(pa.DataFrameModel):
    """00_THONGTIN: one row per file, after the unit was identified against the registry."""

    file_sha256: Series[str] = pa.Field(unique=True)
    unit_code: Series[str] = pa.Field(nullable=True)
    unit_code_typed: Series[str] = pa.Field(nullable=True)
    unit_name_typed: Series[str] = pa.Field(nullable=True)
    unit_type: Series[str] = pa.Field(nullable=True, isin=["commune", "agency"])
    reported_on: Series[pd.Timestamp] = pa.Field(nullable=True)
    template_version: Series[str] = pa.Field(nullable=True)
    preparer: Series[str] = pa.Field(nullable=True)
    phone: Series[str] = pa.Field(nullable=True)
    email: Series[str] = pa.Field(nullable=True)

    class Config:
        strict = "filter"
        coerce = False

    @pa.dataframe_check
    def r15_unit_identified_when_readable(cls, df: pd.DataFrame) -> Series[bool]:
        readable = df["read_status"] == "readable" if "read_status" in df else True
        return df["unit_code"].notna() | ~readable


class ModelRows(pa.DataFrameModel):
    """04_MOHINH: one good model a row (R14: a name, a start year 1975-2021)."""

    file_sha256: Series[str]
    row_number: Series[int] = pa.Field(gt=0)
    model_name: Series[str] = pa.Field(nullable=True)
    start_year: Series[float] = pa.Field(nullable=True, ge=1975, le=2021)
    is_replicated: Series[object] = pa.Field(nullable=True)

    class Config:
        strict = "filter"
        coerce = False

    @pa.dataframe_check
    def r14_has_name(cls, df: pd.DataFrame) -> Series[bool]:
        return df["model_name"].notna() & (df["model_name"].astype("string").str.strip() != "")


NOMINATION_FIGURES = ("sessions", "materials", "cases_settled", "years")


class NominationRows(pa.DataFrameModel):
    """05_DEXUAT_KT: one nomination a row (R19: a name, a kind, non-negative whole figures)."""

    file_sha256: Series[str]
    row_number: Series[int] = pa.Field(gt=0)
    kind: Series[str] = pa.Field(nullable=True, isin=[KIND_COLLECTIVE, KIND_INDIVIDUAL])
    full_name: Series[str] = pa.Field(nullable=True)
    gender: Series[str] = pa.Field(nullable=True, isin=[MALE, FEMALE])
    sessions: Series[float] = pa.Field(nullable=True, ge=0)
    materials: Series[float] = pa.Field(nullable=True, ge=0)
    cases_settled: Series[float] = pa.Field(nullable=True, ge=0)
    years: Series[float] = pa.Field(nullable=True, ge=0)

    class Config:
        strict = "filter"
        coerce = False

    @pa.check(*NOMINATION_FIGURES)
    def r19_whole_number(cls, series: Series[float]) -> Series[bool]:
        return series.isna() | (series % 1 == 0)

    @pa.dataframe_check
    def r19_has_name(cls, df: pd.DataFrame) -> Series[bool]:
        return df["full_name"].notna() & (df["full_name"].astype("string").str.strip() != "")

    @pa.dataframe_check
    def r19_has_kind(cls, df: pd.DataFrame) -> Series[bool]:
        return df["kind"].notna()


class NarrativeAnswers(pa.DataFrameModel):
    """06_DANHGIA: the unit's answer to each question."""

    file_sha256: Series[str]
    question_code: Series[str] = pa.Field(isin=list(narrative_questions()))
    answer: Series[str] = pa.Field(nullable=True)
    cell: Series[str]

    class Config:
        strict = "filter"
        coerce = False
        unique = ["file_sha256", "question_code"]
