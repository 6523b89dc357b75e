"""The tongket run: inbox -> read and validate -> warehouse -> marts -> awards -> outputs.

This module only wires the steps of `tasks.steps` together and chooses where the
read-and-validate fan-out runs (`run.task_runner` in config/tongket.toml: threads, processes or
a Dask cluster). Everything that writes the warehouse stays in the flow's own process, after the
fan-in, under the warehouse's write lock.

How a run ends: `Completed` when the warehouse was published, even if units' files were rejected
(their issues are in `validation_issue` and the feedback outputs), and when the outputs could
not be written after the publish (the message says so; the next run writes them); `Failed`, with the reason as
its message, when nothing could be published (bad configuration, registry or rubric, another
run holding the warehouse longer than `run.lock_wait_seconds`, a failed integrity check).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, unmapped
from prefect.futures import wait
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from tasks import steps
from tasks.load import SavedBatch
from tasks.publish import warehouse_lock
from tongket.run_parameters import RunParameters
from tongket.settings import RunConfig, load_settings

DEFAULT_PARAMETERS = RunParameters()


def _max_workers() -> int:
    try:
        return load_settings().run.max_workers
    except Exception:  # a broken config is reported by the run itself, with its message
        return 2


def read_task_runner(run: RunConfig) -> TaskRunner:
    """Where the read-and-validate batches run, never more than `run.max_workers` at once.

    threads: a thread pool in the flow process (the default; each workbook is read in a child
    process anyway, see tasks/reader_process.py). processes: a process pool. dask: the Dask
    cluster at `run.dask_address`, else a local cluster of `max_workers` single-threaded worker
    processes started for this run.
    """
    if run.task_runner == "processes":
        return ProcessPoolTaskRunner(max_workers=run.max_workers)
    if run.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        if run.dask_address:
            return DaskTaskRunner(address=run.dask_address)
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": run.max_workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            }
        )
    return ThreadPoolTaskRunner(max_workers=run.max_workers)


def read_and_validate(ctx: steps.RunContext, plan) -> list[SavedBatch]:
    """Fan the batches out on the configured task runner; gather the staged batches."""
    batches = steps.batches_of(plan, ctx.settings.run.batch_size, ctx.settings.run.max_workers)
    if not batches:
        return []
    get_run_logger().info(
        "Reading %d workbooks in %d batches on %s", len(plan.to_read), len(batches), ctx.settings.run.task_runner
    )
    try:
        with read_task_runner(ctx.settings.run) as runner:
            futures = runner.map(
                steps.read_and_validate_batch,
                {
                    "items": batches,
                    "ingest": unmapped(ctx.ingest_context()),
                    "staging_dir": unmapped(str(ctx.staging_dir)),
                },
            )
            return [future.result() for future in futures]
    finally:
        steps.close_readers()


@flow(
    name="tongket",
    description="Tổng kết PBGDPL 2017-2021: đọc báo cáo của các đơn vị, kiểm tra, tổng hợp, đề xuất khen thưởng.",
    task_runner=ThreadPoolTaskRunner(max_workers=_max_workers()),
    log_prints=True,
)
def tongket_run(params: RunParameters = DEFAULT_PARAMETERS) -> steps.BuildResult:
    """Run the whole pipeline once."""
    params = params or RunParameters()
    ctx = steps.prepare_run_task(params)
    with warehouse_lock(ctx.published, ctx.settings.run.lock_wait_seconds):
        plan = steps.plan_inbox_task(ctx)
        if plan.is_unchanged:
            return steps.report_unchanged_task(ctx, plan)
        batches = read_and_validate(ctx, plan)
        building = steps.load_warehouse_task(ctx, plan, batches)
        steps.build_marts_task(ctx, building)
        steps.score_awards_task(ctx, building)
        result = steps.check_and_publish_task(ctx, building)
    report = steps.write_report_task.submit(ctx, result)
    feedback = steps.write_feedback_task.submit(ctx, result)
    parquet = steps.export_parquet_task.submit(ctx, result)
    wait([report, feedback, parquet])
    try:
        files = steps.publish_outputs_task(ctx, report.result(), feedback.result(), parquet.result())
    except Exception as error:  # published all the same: Completed, with what failed
        return steps.outputs_failed(result, error)
    steps.create_run_artifacts_task(ctx, result, files)
    return result
