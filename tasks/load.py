"""Load a run into a new DuckDB file: what the published warehouse already holds, plus the
newly read batches, plus this run's reference data. Bulk inserts only (a frame a table a
batch): row-by-row inserts are a thousand times slower.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from tasks.ingest import StagedBatch
from tasks.marts import DDL_LAYERS, ddl_fingerprint, run_layers
from tongket.duck import connect_building, identifier, scalar, table_names
from tongket.reference import indicators, narrative_questions, periods, rules
from tongket.rubric import Rubric
from tongket.settings import Settings

# DuckDB 1.4 and later open a file written with this (DuckDB 2.0's own format is unreadable to
# the 1.x tools analysts use: DBeaver, older CLIs, notebooks pinned to 1.x).
STORAGE_COMPATIBILITY = "v1.4.0"
RAW_TABLES = ("raw_file", "raw_file_sighting")
STAGING_TABLES = ("stg_file", "stg_figure", "stg_model", "stg_nomination", "stg_narrative", "stg_issue")
BATCH_TABLES = {
    "stg_file": "files",
    "stg_figure": "figures",
    "stg_model": "models",
    "stg_nomination": "nominations",
    "stg_narrative": "narratives",
    "stg_issue": "issues",
}


def connect_new(path: Path, memory_limit: str = "") -> duckdb.DuckDBPyConnection:
    """A fresh, empty warehouse file (any leftover of a killed run is removed first)."""
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = connect_building(str(path), memory_limit, {"storage_compatibility_version": STORAGE_COMPATIBILITY})
    run_layers(con, DDL_LAYERS)
    return con


def previous_meta(published: Path) -> dict[str, str]:
    """The published warehouse's meta table ({} when there is none)."""
    if not published.exists():
        return {}
    with duckdb.connect(str(published), read_only=True) as con:
        if "meta_warehouse" not in table_names(con):
            return {}
        return dict(con.execute("select key, value from meta_warehouse").fetchall())


def copy_previous(con: duckdb.DuckDBPyConnection, published: Path, keep_staging_of: set[str] | None) -> dict[str, int]:
    """Carry the published warehouse's raw tables over, and the staged rows of the files in
    `keep_staging_of` (files not read again this run). Returns rows copied per table."""
    copied: dict[str, int] = {}
    if not published.exists():
        return copied
    con.execute("attach ? as previous (read_only)", [str(published)])
    try:
        previous_tables = table_names(con, "previous")
        for table in RAW_TABLES:
            if table in previous_tables:
                con.execute(f"insert into {table} by name select * from previous.{table}")
                copied[table] = scalar(con, f"select count(*) from {table}")
        if keep_staging_of:
            keep = pd.DataFrame({"file_sha256": sorted(keep_staging_of)})
            con.register("keep_files", keep)
            for table in STAGING_TABLES:
                if table in previous_tables:
                    con.execute(
                        f"insert into {table} by name select * from previous.{table} "
                        "where file_sha256 in (select file_sha256 from keep_files)"
                    )
                    copied[table] = scalar(con, f"select count(*) from {table}")
            con.unregister("keep_files")
    finally:
        con.execute("detach previous")
    return copied


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> int:
    """One bulk insert, matching columns by name."""
    if frame.empty:
        return 0
    con.register("incoming_frame", frame)
    try:
        con.execute(f"insert into {identifier(table)} by name select * from incoming_frame")
    finally:
        con.unregister("incoming_frame")
    return len(frame)


@dataclass
class SavedBatch:
    """A staged batch as the read task leaves it: Parquet files, one a table, and the small
    per-file frame (for logs and the only-units filter). The flow never holds the figures of
    thousands of workbooks in memory; the load reads the files straight into DuckDB."""

    files: pd.DataFrame
    parts: dict[str, str] = field(default_factory=dict)  # staging table -> Parquet file
    rows: dict[str, int] = field(default_factory=dict)


def save_batch(batch: StagedBatch, directory: Path) -> SavedBatch:
    """Write a staged batch's frames as Parquet files under `directory` (a new folder)."""
    directory.mkdir(parents=True, exist_ok=False)
    saved = SavedBatch(files=batch.files[["file_sha256", "read_status", "unit_code"]].copy())
    for table, attribute in BATCH_TABLES.items():
        frame = getattr(batch, attribute)
        if frame.empty:
            continue
        path = directory / f"{table}.parquet"
        frame.to_parquet(path, index=False)
        saved.parts[table] = str(path)
        saved.rows[table] = len(frame)
    return saved


def load_batches(
    con: duckdb.DuckDBPyConnection, batches: list[SavedBatch], skip_files: set[str] | None = None
) -> dict[str, int]:
    """Insert every saved batch (one insert a table), replacing earlier staging of the same
    files; the files in `skip_files` are left out."""
    counts = dict.fromkeys(BATCH_TABLES, 0)
    shas = sorted({sha for b in batches for sha in b.files["file_sha256"]})
    con.register("reread_files", pd.DataFrame({"file_sha256": shas}, dtype=object))
    con.register("skipped_files", pd.DataFrame({"file_sha256": sorted(skip_files or ())}, dtype=object))
    try:
        for table in BATCH_TABLES:
            con.execute(f"delete from {table} where file_sha256 in (select file_sha256 from reread_files)")
            paths = [b.parts[table] for b in batches if table in b.parts]
            if not paths:
                continue
            before = scalar(con, f"select count(*) from {table}")
            con.execute(
                f"insert into {table} by name select * from read_parquet(?, union_by_name = true) "
                "where file_sha256 not in (select file_sha256 from skipped_files)",
                [paths],
            )
            counts[table] = scalar(con, f"select count(*) from {table}") - before
    finally:
        con.unregister("reread_files")
        con.unregister("skipped_files")
    return counts


def load_raw(con: duckdb.DuckDBPyConnection, files: pd.DataFrame, sightings: pd.DataFrame) -> None:
    """Record new archived files and inbox sightings (existing rows are kept as they were)."""
    if not files.empty:
        con.register("new_raw_files", files)
        con.execute(
            "insert into raw_file by name select * from new_raw_files "
            "where file_sha256 not in (select file_sha256 from raw_file)"
        )
        con.unregister("new_raw_files")
    if not sightings.empty:
        con.register("new_sightings", sightings)
        con.execute(
            "insert into raw_file_sighting by name select * from new_sightings n where not exists ("
            "select 1 from raw_file_sighting s where s.file_name = n.file_name "
            "and s.file_size = n.file_size and s.mtime_ns = n.mtime_ns)"
        )
        con.unregister("new_sightings")


def load_reference(
    con: duckdb.DuckDBPyConnection,
    registry: pd.DataFrame,
    settings: Settings,
    rubric: Rubric,
    run_id: str,
    built_at: dt.datetime,
) -> None:
    """This run's reference data and settings, for the SQL models to read."""
    catalogue = pd.DataFrame([vars(i) | {"sort_order": n} for n, i in enumerate(indicators().values())])
    tables = {
        "ref_unit": registry[["unit_code", "unit_name", "unit_type", "population", "active"]],
        "ref_indicator": catalogue,
        "ref_rule": pd.DataFrame([vars(r) for r in rules().values()]),
        "ref_period": pd.DataFrame([vars(p) for p in periods()]),
        "ref_question": pd.DataFrame(
            [
                {"question_code": code, "question_vi": text, "sort_order": n}
                for n, (code, text) in enumerate(narrative_questions().items())
            ]
        ),
        "ref_run_config": pd.DataFrame(
            [
                {
                    "run_id": run_id,
                    "built_at": built_at,
                    "district_code": settings.district.code,
                    "district_name": settings.district.name,
                    "province_name": settings.district.province,
                    "deadline": settings.district.deadline,
                    "outlier_median_factor": settings.validation.outlier_median_factor,
                    "outlier_jump_factor": settings.validation.outlier_jump_factor,
                    "outlier_jump_min_base": settings.validation.outlier_jump_min_base,
                }
            ]
        ),
        "ref_award_exclusion": pd.DataFrame({"unit_code": list(rubric.collective.excluded_units)}, dtype=object),
    }
    c = rubric.collective.components
    tables["ref_award_config"] = pd.DataFrame(
        [
            {
                "reporting_on_time_points": c.reporting_on_time_points,
                "reporting_completeness_points": c.reporting_completeness_points,
                "mediation_prior_cases": c.mediation_prior_cases,
                "legal_access_years": list(c.legal_access_years),
                "legal_access_years_points": c.legal_access_years_points,
                "legal_access_score_points": c.legal_access_score_points,
                "good_models_cap": c.good_models_cap,
                "good_models_points_each": c.good_models_points_each,
                "good_models_replicated_bonus": c.good_models_replicated_bonus,
                "years_cap": rubric.individual.years_cap,
            }
        ]
    )
    for table, frame in tables.items():
        con.execute(f"delete from {table}")
        insert_frame(con, table, frame)


def write_meta(con: duckdb.DuckDBPyConnection, values: dict[str, str]) -> None:
    """Record what built this file: schema and staging versions, run id, time, inputs."""
    meta = {"ddl_fingerprint": ddl_fingerprint()} | values
    con.execute("create or replace table meta_warehouse (key varchar primary key, value varchar)")
    insert_frame(con, "meta_warehouse", pd.DataFrame({"key": list(meta), "value": [str(v) for v in meta.values()]}))
