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
    """04_MOHINH: one good model a row."""

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


class NominationRows(pa.DataFrameModel):
    """05_DEXUAT_KT: one nomination a row (R19: a name, a kind, non-negative whole figures)."""

    file_sha256: Series[str]
    row_number: Series[int] = pa.Field(gt=0)
    kind: Series[str] = pa.Field(nullable=True, isin=[KIND_COLLECTIVE, KIND_INDIVIDUAL])
    full_name: Series[str] = pa.Field(nullable=True)
    gender: Series[str] = pa.Field(nullable=True, isin=[MALE, FEMALE])
    sessions: Series[float] = pa.Field(nullable=True)
    materials: Series[float] = pa.Field(nullable=True)
    cases_settled: Series[float] = pa.Field(nullable=True)
    years: Series[float] = pa.Field(nullable=True)

    class Config:
        strict = "filter"
        coerce = False

    @pa.dataframe_check
    def r19_has_name_and_kind(cls, df: pd.DataFrame) -> Series[bool]:
        named = df["full_name"].notna() & (df["full_name"].astype("string").str.strip() != "")
        return named & df["kind"].notna()

    @pa.dataframe_check
    def r19_figures_non_negative_whole(cls, df: pd.DataFrame) -> Series[bool]:
        ok = pd.Series(True, index=df.index)
        for column in ("sessions", "materials", "cases_settled", "years"):
            value = df[column]
            ok &= value.isna() | ((value >= 0) & (value % 1 == 0))
        return ok


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
