"""The parameters of a tongket run, as the Prefect UI's "Custom run" form shows them."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class RunParameters(BaseModel):
    """Options of one run; anything left empty takes the value of config/tongket.toml."""

    model_config = ConfigDict(extra="forbid")

    inbox: str | None = Field(
        default=None,
        title="Inbox folder",
        description="Folder where the units' workbooks are dropped (any file names, subfolders allowed).",
    )
    registry: str | None = Field(
        default=None,
        title="Registry CSV",
        description="CSV of expected units: unit_code,unit_name,unit_type,population.",
    )
    warehouse: str | None = Field(
        default=None,
        title="Warehouse file",
        description="The published DuckDB file analysts open; the raw archive lives beside it.",
    )
    outputs: str | None = Field(
        default=None, title="Outputs folder", description="Where report tables and feedback workbooks are written."
    )
    deadline: dt.date | None = Field(
        default=None,
        title="Deadline",
        description="Last day (Vietnam time) a report counts as on time (rule R18).",
    )
    only_units: list[str] = Field(
        default_factory=list,
        title="Only these units",
        description="Unit codes to (re)read after a correction; other units keep their published figures. "
        "Empty: every unit.",
    )
    force: bool = Field(
        default=False,
        title="Force re-read",
        description="Read every archived file again, even when it has not changed.",
    )
    rebuild_marts_only: bool = Field(
        default=False,
        title="Rebuild marts only",
        description="Read nothing; rebuild the figures, marts, award proposal and outputs from the published "
        "warehouse (after changing the deadline, registry or award rubric).",
    )
