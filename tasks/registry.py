"""Read and check the registry CSV of expected units."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from schemas.registry import OPTIONAL_COLUMNS, REGISTRY_COLUMNS, Registry
from tongket.errors import RegistryError
from tongket.text import clean_text

_CHECK_MESSAGES = {
    "isin": "loại đơn vị phải là 'commune' hoặc 'agency'",
    "field_uniqueness": "mã đơn vị bị trùng",
    "str_length": "mã hoặc tên đơn vị trống",
    "greater_than": "dân số phải là số dương",
    "commune_has_population": "xã, thị trấn phải có dân số",
    "unique_unit_name": "tên đơn vị bị trùng",
}


def _population(text: str, line: int, path: Path) -> int | None:
    digits = text.replace(".", "").replace(" ", "").replace(",", "")
    if not digits:
        return None
    if not digits.isdigit():
        raise RegistryError(f"{path.name}, dòng {line}: dân số '{text}' không phải là số")
    return int(digits)


def read_registry(path: Path) -> tuple[pd.DataFrame, str]:
    """The registry's active and inactive units, checked, and the SHA-256 of the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RegistryError(f"Không đọc được danh sách đơn vị {path}: {exc.strerror}") from exc
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw.columns = [c.strip() for c in raw.columns]
    missing = [c for c in REGISTRY_COLUMNS if c not in raw.columns]
    extra = [c for c in raw.columns if c not in REGISTRY_COLUMNS + OPTIONAL_COLUMNS]
    if missing or extra:
        raise RegistryError(
            f"{path.name}: cần đúng các cột {','.join(REGISTRY_COLUMNS)}[,active]"
            + (f"; thiếu {', '.join(missing)}" if missing else "")
            + (f"; thừa {', '.join(extra)}" if extra else "")
        )
    frame = pd.DataFrame(
        {
            "unit_code": raw["unit_code"].map(clean_text),
            "unit_name": raw["unit_name"].map(clean_text),
            "unit_type": raw["unit_type"].map(lambda t: clean_text(t).lower()),
            "population": pd.array(
                [_population(clean_text(t), i + 2, path) for i, t in enumerate(raw["population"])],
                dtype="Int64",
            ),
            "active": (
                raw["active"].map(lambda t: clean_text(t).lower() not in ("0", "false", "no", "khong", "không"))
                if "active" in raw
                else True
            ),
        }
    )
    frame["active"] = frame["active"].astype(bool)
    try:
        Registry.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        lines = []
        for case in exc.failure_cases.itertuples():
            if pd.isna(case.index):
                continue
            what = _CHECK_MESSAGES.get(str(case.check).split("(")[0], str(case.check))
            lines.append(f"{path.name}, dòng {int(case.index) + 2}: {what}")
        raise RegistryError("\n".join(dict.fromkeys(lines)) or str(exc)) from exc
    return frame, hashlib.sha256(data).hexdigest()
