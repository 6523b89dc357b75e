"""The run's steps as Prefect tasks: thin wrappers over the plain functions of `tasks/`.

Retries (with exponential back-off) go on the steps that touch files: the inbox and archive,
the archived workbooks, the new warehouse file and its publication. A problem the user must fix
(a `TongketError`: configuration, a failed check, a busy warehouse) is not retried. None of the
tasks cache through Prefect: an unchanged file is not read again because the warehouse records
what it read (tasks/plan.py: inbox sightings by name, size and time, archived files by SHA-256,
staged rows by the code and settings that produced them).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import shutil
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, State
from prefect.tasks import exponential_backoff

from tasks import awards, load, marts, publish, reader_process
from tasks.discover import VN_TZ
from tasks.ingest import IngestContext, StagedBatch, WorkbookToRead
from tasks.plan import RunPlan, build_key, plan_run, staging_key
from tasks.reader_process import stage_batch_isolated
from tasks.registry import read_registry
from tongket.duck import connect_building, scalar
from tongket.errors import PublishError, TongketError
from tongket.faults import checkpoint
from tongket.rubric import Rubric, load_rubric
from tongket.run_parameters import RunParameters
from tongket.settings import Settings, load_settings
from tongket.version import building_fingerprint, code_fingerprint


def _logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        return get_run_logger()
    except Exception:  # called outside a flow (plain tests)
        return logging.getLogger("tongket")


def is_worth_retrying(task, task_run, state) -> bool:
    """Retry a failed step unless the user must fix something first (a TongketError)."""
    return not isinstance(state.data, TongketError)


# Steps that touch files: three attempts, 2 s then 4 s apart (a network share that blinks, a
# file a virus scanner holds for a moment).
FILE_RETRIES = {
    "retries": 2,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": is_worth_retrying,
}


@dataclass
class RunContext:
    """Everything a run decided before touching the inbox."""

    run_id: str
    started_at: dt.datetime
    settings: Settings
    rubric: Rubric
    registry: pd.DataFrame
    registry_sha256: str
    staging_key: str
    build_key: str = ""
    force: bool = False
    only_units: list[str] = field(default_factory=list)
    rebuild_marts_only: bool = False

    @property
    def published(self) -> Path:
        return self.settings.paths.warehouse

    @property
    def staging_dir(self) -> Path:
        """Where the read tasks leave their staged batches (Parquet) for the load; removed after."""
        warehouse = self.settings.paths.warehouse
        return warehouse.parent / f"{warehouse.stem}.staging" / self.run_id

    def ingest_context(self) -> IngestContext:
        return IngestContext(
            registry=self.registry,
            registry_sha256=self.registry_sha256,
            district_name=self.settings.district.name,
            limits=self.settings.limits,
            validation=self.settings.validation,
            parser_version=self.staging_key,
        )


@dataclass
class BuildResult:
    """What a run published (or why it did not)."""

    published: bool
    warehouse: Path
    run_id: str
    counts: dict[str, int] = field(default_factory=dict)
    note: str = ""


def now_vn() -> dt.datetime:
    return dt.datetime.now(VN_TZ).replace(tzinfo=None, microsecond=0)


def prepare_run(params: RunParameters) -> RunContext:
    """Read and check the settings, the registry and the award rubric: fail before any work."""
    settings = load_settings(
        inbox=params.inbox, registry=params.registry, warehouse=params.warehouse, outputs=params.outputs
    )
    if params.deadline:
        settings = settings.model_copy(
            update={"district": settings.district.model_copy(update={"deadline": params.deadline})}
        )
    rubric = load_rubric(settings.rubric_path)
    registry, registry_sha = read_registry(settings.paths.registry)
    stage_key = staging_key(code_fingerprint(), registry_sha, settings)
    started = now_vn()
    run_id = f"{started:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    return RunContext(
        run_id=run_id,
        started_at=started,
        settings=settings,
        rubric=rubric,
        registry=registry,
        registry_sha256=registry_sha,
        staging_key=stage_key,
        build_key=build_key(stage_key, building_fingerprint(), settings, rubric.model_dump_json()),
        force=params.force,
        only_units=list(params.only_units),
        rebuild_marts_only=params.rebuild_marts_only,
    )


@task(name="prepare-run", cache_policy=NO_CACHE)
def prepare_run_task(params: RunParameters) -> RunContext:
    """Returns the run's settings, registry and rubric, all checked."""
    ctx = prepare_run(params)
    _logger().info(
        "Run %s: inbox %s, %d units in the registry, warehouse %s",
        ctx.run_id,
        ctx.settings.paths.inbox,
        len(ctx.registry),
        ctx.published,
    )
    return ctx


@task(name="plan-inbox", cache_policy=NO_CACHE, **FILE_RETRIES)
def plan_inbox_task(ctx: RunContext) -> RunPlan:
    """Returns what to read: new inbox files (archived now) and archived files to read again."""
    if ctx.rebuild_marts_only:
        return RunPlan(keep_staging_of=_all_staged(ctx.published))
    previous = load.previous_meta(ctx.published)
    reusable = previous.get("ddl_fingerprint") == marts.ddl_fingerprint()
    plan = plan_run(ctx.settings, ctx.staging_key, ctx.started_at, ctx.force, ctx.only_units, reusable)
    plan.previous_run_id = previous.get("run_id")
    from tasks.reports import latest_run_id

    # outputs/latest/ must be the published run's: a run whose outputs failed is done again
    outputs_current = latest_run_id(ctx.settings.paths.outputs) == previous.get("run_id")
    plan.is_unchanged = (
        not plan.has_new_content and not ctx.force and previous.get("build_key") == ctx.build_key and outputs_current
    )
    log = _logger()
    if previous.get("run_id") and not outputs_current:
        log.info("The outputs of run %s are not in outputs/latest: they are written again", previous["run_id"])
    log.info(
        "Inbox: %d files, %d opened; %d workbooks to read; %d kept from the warehouse",
        plan.inbox_count,
        plan.opened_files,
        len(plan.to_read),
        len(plan.keep_staging_of),
    )
    for name in plan.changing_files:
        log.warning("File %s changed while it was read; it will be read on the next run", name)
    return plan


def _all_staged(published: Path) -> set[str]:
    if not published.exists():
        return set()
    with duckdb.connect(str(published), read_only=True) as con:
        return {r[0] for r in con.execute("select file_sha256 from stg_file").fetchall()}


@task(name="report-unchanged", cache_policy=NO_CACHE)
def report_unchanged_task(ctx: RunContext, plan: RunPlan) -> BuildResult:
    """Returns that nothing was published: no file and no setting changed since the last run."""
    note = f"Nothing changed since run {plan.previous_run_id}: the published warehouse and its outputs are current."
    _logger().info(note)
    return BuildResult(False, ctx.published, plan.previous_run_id or ctx.run_id, note=note)


def batches_of(plan: RunPlan, size: int, workers: int = 1) -> list[list[WorkbookToRead]]:
    """The files to read, in batches of at most `size` (one Prefect task per batch, not per
    file), and at least one batch per worker so a small inbox still uses every core."""
    size = max(1, min(size, math.ceil(len(plan.to_read) / max(workers, 1))))
    return [plan.to_read[i : i + size] for i in range(0, len(plan.to_read), size)]


def close_readers() -> None:
    """Stop the pooled reader processes of this process (after a run's reading)."""
    reader_process.reader_pool.close()


@task(name="read-and-validate-batch", cache_policy=NO_CACHE, **FILE_RETRIES)
def read_and_validate_batch(items: list[WorkbookToRead], ingest: IngestContext, staging_dir: str) -> load.SavedBatch:
    """Returns the staged figures and issues of a batch of workbooks.

    Each workbook is read in a child process and abandoned (R16) after
    `limits.workbook_timeout_seconds` or beyond `limits.max_reader_memory_mb`; the rest of the
    batch is read all the same.
    """
    checkpoint("read")
    batch = stage_batch_isolated(items, ingest)
    log = _logger()
    for level, line in describe_files(batch, items):
        log.log(level, "%s", line)
    log.info("Read %d workbooks: %d figures, %d issues", len(items), len(batch.figures), len(batch.issues))
    return load.save_batch(batch, Path(staging_dir) / f"batch-{uuid.uuid4().hex}")


def describe_files(batch: StagedBatch, items: list[WorkbookToRead]) -> list[tuple[int, str]]:
    """One log line per workbook naming the file and the unit; rejected ones say why."""
    names = {item.file_sha256: item.file_name for item in items}
    issues = batch.issues
    lines = []
    for row in batch.files.itertuples():
        mine = issues[issues["file_sha256"] == row.file_sha256]
        errors = mine[mine["severity"] == "error"]
        unit = row.unit_code if isinstance(row.unit_code, str) and row.unit_code else "unidentified"
        name = names.get(row.file_sha256, row.file_sha256[:12])
        counts = f"{len(errors)} errors, {len(mine) - len(errors)} warnings"
        if row.read_status == "rejected":
            first = errors.iloc[0] if len(errors) else None
            why = f": {first['rule_id']} {first['message']}" if first is not None else ""
            lines.append((logging.WARNING, f"Rejected {name} (unit {unit}), {counts}{why}"))
        else:
            lines.append((logging.INFO, f"Read {name} (unit {unit}), {counts}"))
    return lines


def files_left_out(plan: RunPlan, batches: list[load.SavedBatch], only_units: list[str]) -> set[str]:
    """With `only_units`, the newly read files of other units: they are not recorded at all, so
    the next run reads them."""
    if not only_units:
        return set()
    wanted = set(only_units)
    return {
        sha for b in batches for sha, unit in zip(b.files["file_sha256"], b.files["unit_code"]) if unit not in wanted
    }


@task(name="load-warehouse", cache_policy=NO_CACHE, **FILE_RETRIES)
def load_warehouse_task(ctx: RunContext, plan: RunPlan, batches: list[load.SavedBatch]) -> Path:
    """Returns the path of a new warehouse file holding the previous data plus this run's."""
    building = publish.building_path(ctx.published)
    left_out = files_left_out(plan, batches, ctx.only_units)
    raw, sightings = plan.new_raw_files, plan.sightings
    if left_out and not raw.empty:
        raw = raw[~raw["file_sha256"].isin(left_out)]
    if left_out and not sightings.empty:
        sightings = sightings[~sightings["file_sha256"].isin(left_out)]
    con = load.connect_new(building, ctx.settings.run.duckdb_memory_limit)
    try:
        load.copy_previous(con, ctx.published, plan.keep_staging_of)
        checkpoint("load")
        load.load_raw(con, raw, sightings)
        counts = load.load_batches(con, batches, left_out)
        load.load_reference(con, ctx.registry, ctx.settings, ctx.rubric, ctx.run_id, ctx.started_at)
    finally:
        con.close()
    shutil.rmtree(ctx.staging_dir, ignore_errors=True)
    _logger().info("Loaded %s", ", ".join(f"{v} rows into {k}" for k, v in counts.items()))
    return building


@task(name="build-marts", cache_policy=NO_CACHE)
def build_marts_task(ctx: RunContext, building: Path) -> list[str]:
    """Returns the core and mart tables built by the SQL files."""
    with connect_building(str(building), ctx.settings.run.duckdb_memory_limit) as con:
        created = marts.run_layers(con, ("20_core",))
        checkpoint("marts")
        return created + marts.run_layers(con, ("30_marts",))


@task(name="score-awards", cache_policy=NO_CACHE)
def score_awards_task(ctx: RunContext, building: Path) -> dict[str, int]:
    """Returns how many candidates were ranked; writes the award marts."""
    with connect_building(str(building), ctx.settings.run.duckdb_memory_limit) as con:
        checkpoint("awards")
        return awards.score_awards(con, ctx.rubric)


@task(name="check-and-publish", cache_policy=NO_CACHE, **FILE_RETRIES)
def check_and_publish_task(ctx: RunContext, building: Path) -> BuildResult:
    """Returns what was published; refuses to publish a warehouse that fails a check."""
    with connect_building(str(building), ctx.settings.run.duckdb_memory_limit) as con:
        failing = marts.run_checks(con)
        if failing:
            raise PublishError(
                "The new warehouse failed its checks, the published one is unchanged: "
                + ", ".join(f"{name} ({n} rows)" for name, n in failing.items())
            )
        load.write_meta(
            con,
            {
                "schema_version": "1",
                "staging_key": ctx.staging_key,
                "code_fingerprint": code_fingerprint(),
                "registry_sha256": ctx.registry_sha256,
                "build_key": ctx.build_key,
                "run_id": ctx.run_id,
                "built_at": ctx.started_at.isoformat(),
            },
        )
        counts = {
            table: scalar(con, f"select count(*) from {table}")
            for table in ("submission", "fact_indicator", "validation_issue")
        }
        con.execute("checkpoint")
    checkpoint("before-publish")
    publish.publish(building, ctx.published)
    _logger().info("Published %s (%s)", ctx.published, counts)
    return BuildResult(True, ctx.published, ctx.run_id, counts)


def run_outputs_dir(ctx: RunContext) -> Path:
    """The run's own output folder: outputs/<run_id>/."""
    return ctx.settings.paths.outputs / ctx.run_id


@task(name="write-report-tables", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def write_report_task(ctx: RunContext, result: BuildResult) -> Path:
    """Returns the report workbook (Phụ lục 1-5, status, detail, narratives, traceability)."""
    from tasks.reports import write_report_tables

    checkpoint("outputs")
    path = write_report_tables(
        result.warehouse,
        run_outputs_dir(ctx),
        ctx.settings.outputs.max_rows_in_workbook,
        ctx.settings.run.duckdb_memory_limit,
    )
    _logger().info("Report tables: %s", path)
    return path


@task(name="write-feedback", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def write_feedback_task(ctx: RunContext, result: BuildResult) -> list[Path]:
    """Returns the feedback workbooks written for the units whose files have problems."""
    from tasks.feedback import write_feedback

    written = write_feedback(
        result.warehouse, run_outputs_dir(ctx), ctx.settings.limits, ctx.settings.run.duckdb_memory_limit
    )
    _logger().info("Feedback workbooks: %d", len(written))
    return written


@task(name="export-parquet", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def export_parquet_task(ctx: RunContext, result: BuildResult) -> list[Path]:
    """Returns the Parquet files of the marts, dimensions and facts."""
    from tasks.exports import export_parquet

    written = export_parquet(result.warehouse, run_outputs_dir(ctx), ctx.settings.run.duckdb_memory_limit)
    _logger().info("Parquet: %d tables", len(written))
    return written


@task(name="publish-outputs", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def publish_outputs_task(ctx: RunContext, report: Path, feedback: list[Path], parquet: list[Path]) -> dict[str, str]:
    """Returns the run's output paths by kind; copies the run's folder to outputs/latest/."""
    from tasks.reports import refresh_latest

    latest = refresh_latest(ctx.settings.paths.outputs, run_outputs_dir(ctx))
    files = {
        "Bảng báo cáo": str(report),
        f"Phản hồi cho đơn vị ({len(feedback)} tệp)": str(run_outputs_dir(ctx) / "phan-hoi"),
        f"Parquet ({len(parquet)} bảng)": str(run_outputs_dir(ctx) / "parquet"),
        "Bản mới nhất": str(latest),
    }
    _logger().info("Outputs: %s", ", ".join(files.values()))
    return files


def outputs_failed(result: BuildResult, error: BaseException) -> State:
    """The end of a run whose warehouse was published but whose outputs could not all be written:
    Completed (the warehouse is the record, and it is current), with a message saying what
    failed; outputs/latest/ still holds the previous run's, so the next run writes them again."""
    _logger().error("The warehouse was published, but the outputs could not be written: %s", error)
    message = (
        f"Đã công bố kho dữ liệu (lần chạy {result.run_id}) nhưng chưa ghi được báo cáo: {error}. "
        "Lần chạy sau sẽ ghi lại báo cáo."
    )
    return Completed(message=message, data=replace(result, note=message))


@task(name="create-run-artifacts", cache_policy=NO_CACHE)
def create_run_artifacts_task(ctx: RunContext, result: BuildResult, files: dict[str, str]) -> dict[str, str]:
    """Returns the ids of the run summary artifacts (markdown, status table, proposal table)."""
    from tasks.artifacts import build_run_summary, publish_run_summary

    ids = publish_run_summary(build_run_summary(result.warehouse, files))
    return {key: str(value) for key, value in ids.items()}
