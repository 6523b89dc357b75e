"""Every path and setting, derived once.

Defaults live in `config/tongket.toml` (data the Justice Office edits); environment variables
`TONGKET_<SECTION>_<KEY>` override them; CLI options and flow parameters override both.
`TONGKET_CONFIG` and `TONGKET_RUBRIC` point at other configuration files.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tongket.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = PROJECT_ROOT / "reference"
CONFIG_DIR = PROJECT_ROOT / "config"
WAREHOUSE_SQL_DIR = PROJECT_ROOT / "warehouse"
DEFAULT_CONFIG_PATH = CONFIG_DIR / "tongket.toml"
DEFAULT_RUBRIC_PATH = CONFIG_DIR / "award_rubric.toml"
ENV_PREFIX = "TONGKET_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DistrictConfig(_Section):
    code: int = Field(description="GSO code of the district in vietnam-provinces")
    name: str
    province: str
    deadline: dt.date = Field(description="last day (Vietnam time) a report is on time")


class PathsConfig(_Section):
    inbox: Path
    registry: Path
    warehouse: Path
    outputs: Path


class LimitsConfig(_Section):
    max_file_mb: float = Field(gt=0)
    max_zip_entries: int = Field(gt=0)
    max_uncompressed_mb: float = Field(gt=0)
    max_compression_ratio: float = Field(gt=1)
    max_sheet_rows: int = Field(gt=0)
    max_sheet_cols: int = Field(gt=0)
    workbook_timeout_seconds: float = Field(gt=0)
    max_reader_memory_mb: float = Field(default=1024, ge=256)


class ValidationConfig(_Section):
    legal_access_pass_mark: dict[int, float]
    unit_name_min_similarity: float = Field(ge=0, le=100)
    unit_name_min_margin: float = Field(ge=0, le=100)
    outlier_median_factor: float = Field(gt=1)
    outlier_jump_factor: float = Field(gt=1)
    outlier_jump_min_base: float = Field(ge=0)


class RunConfig(_Section):
    batch_size: int = Field(gt=0)
    max_workers: int = Field(gt=0)
    task_runner: Literal["threads", "processes", "dask"]
    dask_address: str = ""
    lock_wait_seconds: float = Field(ge=0)
    duckdb_memory_limit: str = Field(default="1GB", pattern=r"^(\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB))?$")


class OutputsConfig(_Section):
    max_rows_in_workbook: int = Field(default=50_000, gt=0, le=1_048_000)


class Settings(_Section):
    district: DistrictConfig
    paths: PathsConfig
    limits: LimitsConfig
    validation: ValidationConfig
    run: RunConfig
    outputs: OutputsConfig = OutputsConfig()
    config_path: Path = DEFAULT_CONFIG_PATH
    rubric_path: Path = DEFAULT_RUBRIC_PATH

    @property
    def archive_dir(self) -> Path:
        """The raw archive: every file received, named by its SHA-256, beside the warehouse."""
        return self.paths.warehouse.parent / "archive"


def _apply_env(raw: dict[str, Any], environ: dict[str, str]) -> None:
    """Override `raw[section][key]` with TONGKET_SECTION_KEY environment variables."""
    for section, values in raw.items():
        if not isinstance(values, dict):
            continue
        for key in list(values):
            name = f"{ENV_PREFIX}{section}_{key}".upper()
            if name in environ:
                values[key] = environ[name]


def _resolve_paths(paths: dict[str, Any], base: Path) -> None:
    for key, value in paths.items():
        path = Path(value).expanduser()
        paths[key] = path if path.is_absolute() else base / path


def format_validation_error(source: str, error: ValidationError) -> str:
    """One line per wrong key: `file: section.key: what is wrong`."""
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        lines.append(f"{source}: {key}: {item['msg']}")
    return "\n".join(lines)


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML configuration file, turning every failure into a ConfigError."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"Configuration file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def load_settings(
    config_path: Path | None = None,
    environ: dict[str, str] | None = None,
    **path_overrides: Path | None,
) -> Settings:
    """Read the configuration file, apply environment and explicit overrides, validate."""
    environ = dict(os.environ if environ is None else environ)
    config_path = Path(config_path or environ.get(f"{ENV_PREFIX}CONFIG") or DEFAULT_CONFIG_PATH)
    rubric_path = Path(environ.get(f"{ENV_PREFIX}RUBRIC") or DEFAULT_RUBRIC_PATH)
    raw = read_toml(config_path)
    _apply_env(raw, environ)
    _resolve_paths(raw.setdefault("paths", {}), PROJECT_ROOT)
    for key, value in path_overrides.items():
        if value is not None:
            raw["paths"][key] = Path(value).expanduser().resolve()
    try:
        return Settings(**raw, config_path=config_path, rubric_path=rubric_path)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(str(config_path), exc)) from exc
