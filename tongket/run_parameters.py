"""The parameters of a tongket run, as the Prefect UI's "Custom run" form shows them.

Each field's title and description are what the office user reads in that form (English with
the Vietnamese term), so they say what the option does and what happens when it is left empty.
Optional paths and the deadline are shown as plain text and date boxes (not a "str / None"
switch); a box left empty means "use config/tongket.toml". Their JSON schema declares no
default: the UI would put `null` in the box, and then refuse its own form ("None is not of type
'string'"); without a default (and without nulls in the serialized defaults) an empty box is left out.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    field_validator,
    model_serializer,
)

from tongket.text import clean_text

OptionalText = Annotated[str | None, WithJsonSchema({"type": "string"})]
OptionalDate = Annotated[dt.date | None, WithJsonSchema({"type": "string", "format": "date"})]


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class RunParameters(BaseModel):
    """Options of one run; anything left empty takes the value of config/tongket.toml."""

    model_config = ConfigDict(extra="forbid", title="Run options (Tùy chọn lần chạy)")

    inbox: OptionalText = Field(
        default=None,
        json_schema_extra=_no_default,
        title="Inbox folder (Thư mục nhận báo cáo)",
        description="Folder on this machine where the units' workbooks are dropped (any file names, subfolders "
        "allowed). Empty: paths.inbox of config/tongket.toml.",
    )
    registry: OptionalText = Field(
        default=None,
        json_schema_extra=_no_default,
        title="Registry CSV (Danh sách đơn vị)",
        description="CSV of expected units: unit_code,unit_name,unit_type,population. "
        "Empty: paths.registry of config/tongket.toml.",
    )
    warehouse: OptionalText = Field(
        default=None,
        json_schema_extra=_no_default,
        title="Warehouse file (Kho dữ liệu DuckDB)",
        description="The published DuckDB file analysts open; the raw archive lives beside it. "
        "Empty: paths.warehouse of config/tongket.toml.",
    )
    outputs: OptionalText = Field(
        default=None,
        json_schema_extra=_no_default,
        title="Outputs folder (Thư mục kết quả)",
        description="Where report tables and feedback workbooks are written. Empty: paths.outputs of "
        "config/tongket.toml.",
    )
    deadline: OptionalDate = Field(
        default=None,
        json_schema_extra=_no_default,
        title="Deadline (Hạn nộp báo cáo)",
        description="Last day (Vietnam time) a report counts as on time (rule R18). "
        "Empty: district.deadline of config/tongket.toml.",
    )
    only_units: list[str] = Field(
        default_factory=list,
        title="Only these units (Chỉ đọc lại các đơn vị)",
        description="Unit codes to (re)read after a correction, e.g. 05266 or 157-CQ06; other units keep their "
        "published figures and their new files wait for the next run. Empty: every unit.",
    )
    force: bool = Field(
        default=False,
        title="Force re-read (Đọc lại tất cả)",
        description="Read every archived file again, even when it has not changed (normally an unchanged file "
        "is never read twice).",
    )
    rebuild_marts_only: bool = Field(
        default=False,
        title="Rebuild marts only (Chỉ tính lại tổng hợp)",
        description="Read nothing; rebuild the figures, marts, award proposal and outputs from the published "
        "warehouse (after changing the deadline, registry or award rubric).",
    )

    @field_validator("inbox", "registry", "warehouse", "outputs", "deadline", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        """An empty box of the form means "take config/tongket.toml"."""
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @model_serializer(mode="wrap")
    def _leave_out_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Options left empty are left out (also of the form's default, which must hold no null)."""
        return {key: value for key, value in handler(self).items() if value is not None}

    @field_validator("only_units")
    @classmethod
    def _clean_unit_codes(cls, codes: list[str]) -> list[str]:
        """Codes as the registry holds them: trimmed, NFC; the empty rows a form adds are dropped."""
        return [code for code in (clean_text(c) for c in codes) if code]
