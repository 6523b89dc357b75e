"""Decide what a run must do: which inbox files are new, which archived files must be read
(again), and which staged rows of the published warehouse can be kept as they are."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from tasks.archive import archive_file
from tasks.discover import InboxFile, known_sightings, list_inbox
from tasks.ingest import WorkbookToRead
from tongket.duck import table_names
from tongket.settings import Settings
from tongket.text import clean_text


@dataclass
class RunPlan:
    """What this run reads and records; everything else is carried over from the warehouse."""

    inbox_count: int = 0
    to_read: list[WorkbookToRead] = field(default_factory=list)
    keep_staging_of: set[str] = field(default_factory=set)
    new_raw_files: pd.DataFrame = field(default_factory=pd.DataFrame)
    sightings: pd.DataFrame = field(default_factory=pd.DataFrame)
    changing_files: list[str] = field(default_factory=list)
    opened_files: int = 0  # inbox files opened (hashed) this run
    previous_run_id: str | None = None
    is_unchanged: bool = False  # nothing new and the same inputs: the published warehouse is current

    @property
    def has_new_content(self) -> bool:
        return bool(self.to_read) or not self.new_raw_files.empty or not self.sightings.empty


def staging_key(code_fingerprint: str, registry_sha256: str, settings: Settings) -> str:
    """What staged rows depend on: the reading code, the registry and the reading settings.
    A staged file whose key differs is read again from the archive."""
    settings_json = json.dumps(
        {"limits": settings.limits.model_dump(), "validation": settings.validation.model_dump(mode="json")},
        sort_keys=True,
    )
    payload = f"{code_fingerprint}\0{registry_sha256}\0{settings_json}".encode()
    return hashlib.sha256(payload).hexdigest()[:20]


def build_key(stage_key: str, building_code: str, settings: Settings, rubric_json: str) -> str:
    """What the built warehouse depends on besides the staged rows: the building code and SQL,
    the district settings (deadline, outlier thresholds) and the award rubric."""
    payload = json.dumps(
        {
            "staging": stage_key,
            "code": building_code,
            "district": settings.district.model_dump(mode="json"),
            "validation": settings.validation.model_dump(mode="json"),
            "rubric": rubric_json,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def _previous_state(published: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(raw_file rows, stg_file sha/version/unit) of the published warehouse."""
    empty_raw = pd.DataFrame(columns=["file_sha256", "file_name", "archive_path"])
    empty_stg = pd.DataFrame(columns=["file_sha256", "parser_version", "unit_code"])
    if not published.exists():
        return empty_raw, empty_stg
    with duckdb.connect(str(published), read_only=True) as con:
        tables = table_names(con)
        raw = (
            con.sql("select file_sha256, file_name, archive_path from raw_file").df()
            if "raw_file" in tables
            else empty_raw
        )
        stg = (
            con.sql("select file_sha256, parser_version, unit_code from stg_file").df()
            if "stg_file" in tables
            else empty_stg
        )
    return raw, stg


def plan_run(
    settings: Settings,
    key: str,
    now: dt.datetime,
    force: bool = False,
    only_units: list[str] | None = None,
    staging_reusable: bool = True,
) -> RunPlan:
    """List the inbox, archive what is new, and list what must be read.

    `staging_reusable` is False when the warehouse's table definitions changed: every archived
    file is then read again.
    """
    published = settings.paths.warehouse
    inbox = settings.paths.inbox
    if not inbox.is_dir():
        raise FileNotFoundError(f"Inbox folder not found: {inbox}")
    files = list_inbox(inbox)
    sightings = {} if force else known_sightings(published)
    raw, stg = _previous_state(published)
    known_shas = set(raw["file_sha256"])
    plan = RunPlan(inbox_count=len(files))
    new_raw, new_sightings = [], []
    to_read: dict[str, WorkbookToRead] = {}
    max_bytes = int(settings.limits.max_file_mb * 1_000_000)
    for item in files:
        sha = sightings.get(item.sighting_key)
        if sha is not None:
            continue
        plan.opened_files += 1
        archived = archive_file(item, settings.archive_dir, max_bytes)
        if archived.is_changing:
            plan.changing_files.append(item.file_name)
            continue
        sha = archived.file_sha256
        new_sightings.append(_sighting(item, sha, now))
        if sha not in known_shas and sha not in to_read:
            new_raw.append(
                {
                    "file_sha256": sha,
                    "file_name": item.file_name,
                    "file_size": item.file_size,
                    "received_at": item.received_at,
                    "first_seen_at": now,
                    "archive_path": archived.archive_path,
                }
            )
            to_read[sha] = WorkbookToRead(sha, item.file_name, archived.archive_path or "", archived.problem)
    wanted_units = {clean_text(u) for u in only_units} if only_units else None
    current_versions = dict(zip(stg["file_sha256"], stg["parser_version"]))
    units_of = dict(zip(stg["file_sha256"], stg["unit_code"]))
    for row in raw.itertuples():
        if row.file_sha256 in to_read:
            continue
        stale = not staging_reusable or current_versions.get(row.file_sha256) != key
        in_scope = wanted_units is None or units_of.get(row.file_sha256) in wanted_units
        if (force or stale) and in_scope:
            to_read[row.file_sha256] = _reread(row)
        else:
            plan.keep_staging_of.add(row.file_sha256)
    plan.to_read = sorted(to_read.values(), key=lambda w: w.file_name)
    plan.new_raw_files = pd.DataFrame(new_raw)
    plan.sightings = pd.DataFrame(new_sightings)
    return plan


def _reread(row) -> WorkbookToRead:
    if row.archive_path and Path(row.archive_path).exists():
        return WorkbookToRead(row.file_sha256, row.file_name, row.archive_path, None)
    return WorkbookToRead(row.file_sha256, row.file_name, "", "tệp lưu trữ không còn, không đọc lại được")


def _sighting(item: InboxFile, sha: str, now: dt.datetime) -> dict:
    return {
        "file_name": item.file_name,
        "file_size": item.file_size,
        "mtime_ns": item.mtime_ns,
        "file_sha256": sha,
        "seen_at": now,
    }
