"""The registry of expected units: `unit_code,unit_name,unit_type,population[,active]`."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

REGISTRY_COLUMNS = ("unit_code", "unit_name", "unit_type", "population")
OPTIONAL_COLUMNS = ("active",)


class Registry(pa.DataFrameModel):
    """One row per expected reporting unit, as the Justice Office keeps it."""

    unit_code: Series[str] = pa.Field(unique=True, str_length={"min_value": 1, "max_value": 40})
    unit_name: Series[str] = pa.Field(str_length={"min_value": 1})
    unit_type: Series[str] = pa.Field(isin=["commune", "agency"])
    population: Series[pd.Int64Dtype] = pa.Field(nullable=True, gt=0)
    active: Series[bool]

    class Config:
        strict = True
        coerce = False

    @pa.dataframe_check(name="commune_has_population")
    def communes_have_population(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["unit_type"] != "commune") | df["population"].notna()

    @pa.dataframe_check(name="unique_unit_name")
    def names_are_unique(cls, df: pd.DataFrame) -> Series[bool]:
        return ~df["unit_name"].str.casefold().duplicated(keep=False)
