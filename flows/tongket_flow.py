"""The tongket run: inbox -> read and validate -> warehouse -> marts -> awards -> outputs.

This module only wires the steps of `tasks.steps` together; every decision is made there.
"""

from __future__ import annotations

from prefect import flow, unmapped
from prefect.task_runners import ThreadPoolTaskRunner

from tasks import steps
from tasks.publish import warehouse_lock
from tongket.run_parameters import RunParameters
from tongket.settings import load_settings


def _max_workers() -> int:
    try:
        return load_settings().run.max_workers
    except Exception:  # a broken config is reported by the run itself, with its message
        return 2


@flow(
    name="tongket",
    description="Tổng kết PBGDPL 2017-2021: đọc báo cáo của các đơn vị, kiểm tra, tổng hợp, đề xuất khen thưởng.",
    task_runner=ThreadPoolTaskRunner(max_workers=_max_workers()),
    log_prints=True,
)
def tongket_run(params: RunParameters | None = None) -> steps.BuildResult:
    """Run the whole pipeline once."""
    params = params or RunParameters()
    ctx = steps.prepare_run_task(params)
    with warehouse_lock(ctx.published, ctx.settings.run.lock_wait_seconds):
        plan = steps.plan_inbox_task(ctx)
        batches = steps.read_and_validate_batch.map(
            steps.batches_of(plan, ctx.settings.run.batch_size), unmapped(ctx.ingest_context())
        ).result()
        building = steps.load_warehouse_task(ctx, plan, batches)
        steps.build_marts_task(building)
        steps.score_awards_task(building, ctx.rubric)
        result = steps.check_and_publish_task(ctx, building)
    report = steps.write_report_task.submit(ctx, result)
    feedback = steps.write_feedback_task.submit(ctx, result)
    parquet = steps.export_parquet_task.submit(ctx, result)
    files = steps.publish_outputs_task(ctx, report, feedback, parquet)
    steps.create_run_artifacts_task(ctx, result, files)
    return result
