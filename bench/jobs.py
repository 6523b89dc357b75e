"""One measured job of the benchmark, run in its own process (`python -m bench.jobs JOB OUT`)
or, for the smoke test, in the caller's process (`run_job`).

Jobs:
- `trivial`: a Prefect flow with one task that does nothing (Prefect's fixed cost).
- `tongket`: the real flow, `flows.tongket_flow.tongket_run`; stage times from its task runs
  as the Prefect API recorded them.
- `engine_free`: the same steps called as plain functions (each task's `.fn`), reading on
  `workers` processes, with the reading split into guard / read / extract / validate by
  timing the functions `tasks.ingest` calls.
- `naive`: `bench.naive.naive_flow` over a subset of the files.
- `profile`: cProfile of the reading of a sample and of the warehouse build.
"""

from __future__ import annotations

import contextlib
import cProfile
import functools
import io
import json
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import psutil


def _since_process_start() -> float:
    return time.time() - psutil.Process().create_time()


# --- instrumentation of plain functions -----------------------------------------------------
class Timers:
    """Seconds and calls per label, filled by `wrap`ped functions."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {k: {"seconds": self.seconds[k], "calls": self.calls[k]} for k in self.seconds}


TIMERS = Timers()
_WRAPPED: set[tuple[str, str]] = set()


def wrap(module: Any, name: str, label: str, timers: Timers = TIMERS) -> bool:
    """Time every call of `module.name` under `label`; False if the module has no such name."""
    key = (module.__name__, name)
    if key in _WRAPPED:
        return True
    original = getattr(module, name, None)
    if original is None:
        return False

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timers.seconds[label] += time.perf_counter() - started
            timers.calls[label] += 1

    setattr(module, name, timed)
    _WRAPPED.add(key)
    return True


def instrument_reading() -> list[str]:
    """Wrap what `tasks.ingest` calls; returns the labels that could not be wrapped."""
    import tasks.ingest as ingest
    import tasks.read as read

    wanted = [
        (ingest, "guard_file", "guard"),
        (ingest, "read_workbook", "read"),
        (read, "_attach_uncached_formulas", "read.formula_scan"),
        (ingest, "stage_workbook", "stage_workbook"),
        (ingest, "validate_figures", "validate.figures"),
        (ingest, "validate_list_records", "validate.lists"),
    ]
    return [label for module, name, label in wanted if not wrap(module, name, label)]


def instrument_loading() -> list[str]:
    import tasks.load as load

    wanted = [
        (load, "connect_new", "load.create"),
        (load, "copy_previous", "load.copy_previous"),
        (load, "load_raw", "load.raw"),
        (load, "load_batches", "load.batches"),
        (load, "load_reference", "load.reference"),
    ]
    return [label for module, name, label in wanted if not wrap(module, name, label)]


def _stage_batch_timed(items: list, ingest_context: Any, staging_dir: str) -> tuple[Any, dict, float]:
    """Read and validate one batch in a worker; returns the batch, its timers, CPU seconds."""
    import uuid
    from pathlib import Path

    from tasks import load
    from tasks.ingest import stage_batch

    instrument_reading()
    TIMERS.reset()
    cpu = time.process_time()
    started = time.perf_counter()
    # the plain functions in this process (the flow reads each workbook in a pooled child process)
    batch = load.save_batch(stage_batch(items, ingest_context), Path(staging_dir) / f"batch-{uuid.uuid4().hex}")
    TIMERS.seconds["batch"] += time.perf_counter() - started
    TIMERS.calls["batch"] += 1
    return batch, TIMERS.as_dict(), time.process_time() - cpu


def _merge(into: dict[str, dict[str, float]], more: dict[str, dict[str, float]]) -> None:
    for label, value in more.items():
        slot = into.setdefault(label, {"seconds": 0.0, "calls": 0})
        slot["seconds"] += value["seconds"]
        slot["calls"] += value["calls"]


RSS_AFTER: dict[str, float] = {}


@contextlib.contextmanager
def _stage(stages: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    stages[name] = stages.get(name, 0.0) + time.perf_counter() - started
    RSS_AFTER[name] = psutil.Process().memory_info().rss / 2**20


# --- jobs -------------------------------------------------------------------------------------
def job_trivial(job: dict) -> dict:
    from prefect import flow, task

    @task(name="noop")
    def noop() -> int:
        return 1

    @flow(name="trivial")
    def trivial() -> int:
        return noop()

    started = time.perf_counter()
    trivial()
    return {"flow_call_s": time.perf_counter() - started}


def _task_runs(flow_run_id: Any, expected_min: int = 1) -> tuple[list[dict], dict]:
    """The flow run's task runs (name, start, end, seconds) and the flow run's own times."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs: list = []
        for _ in range(400):  # task run states reach the API as events: wait until all ended
            runs, offset = [], 0
            while True:
                page = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])), limit=200, offset=offset
                )
                runs.extend(page)
                offset += len(page)
                if len(page) < 200:
                    break
            if len(runs) >= expected_min and all(r.end_time for r in runs):
                break
            time.sleep(0.05)
        flow_run = client.read_flow_run(flow_run_id)
    tasks = [
        {
            "name": r.name,
            "task_key": r.task_key,
            "start": r.start_time.timestamp() if r.start_time else None,
            "end": r.end_time.timestamp() if r.end_time else None,
            "seconds": r.total_run_time.total_seconds(),
            "state": r.state_name,
        }
        for r in runs
    ]
    flow = {
        "start": flow_run.start_time.timestamp() if flow_run.start_time else None,
        "end": flow_run.end_time.timestamp() if flow_run.end_time else None,
        "seconds": flow_run.total_run_time.total_seconds(),
        "state": flow_run.state_name,
    }
    return sorted(tasks, key=lambda t: t["start"] or 0), flow


def job_tongket(job: dict) -> dict:
    from flows.tongket_flow import tongket_run
    from tongket.run_parameters import RunParameters

    imported = _since_process_start()
    started = time.perf_counter()
    state = tongket_run(RunParameters(**job["params"]), return_state=True)
    flow_call = time.perf_counter() - started
    result = state.result(raise_on_failure=False)
    started = time.perf_counter()
    tasks, flow = _task_runs(state.state_details.flow_run_id)
    out = {
        "imported_s": imported,
        "flow_call_s": flow_call,
        "query_s": time.perf_counter() - started,  # the benchmark's own API query: not the run's
        "state": state.type.value,
        "message": state.message,
        "flow_run": flow,
        "tasks": tasks,
    }
    if hasattr(result, "counts"):
        out["published"] = result.published
        out["counts"] = result.counts
    return out


def job_engine_free(job: dict) -> dict:
    """The flow's steps without the engine: each task's plain function, in the flow's order."""
    from tasks import steps
    from tongket.run_parameters import RunParameters

    missing = instrument_loading()
    stages: dict[str, float] = {}
    workers = int(job.get("workers", 1))
    reading: dict[str, dict[str, float]] = {}
    cpu_read = 0.0
    with _stage(stages, "prepare"):
        ctx = steps.prepare_run(RunParameters(**job["params"]))
    with _stage(stages, "plan"):
        plan = steps.plan_inbox_task.fn(ctx)
    batches_in = steps.batches_of(plan, ctx.settings.run.batch_size, workers)
    staging = str(ctx.staging_dir)
    ingest_context = ctx.ingest_context()
    batches = []
    with _stage(stages, "read_validate"):
        if workers > 1 and len(batches_in) > 1:
            import multiprocessing

            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
                for batch, timers, cpu in pool.map(
                    _stage_batch_timed, batches_in, [ingest_context] * len(batches_in), [staging] * len(batches_in)
                ):
                    batches.append(batch)
                    _merge(reading, timers)
                    cpu_read += cpu
        else:
            for items in batches_in:
                batch, timers, cpu = _stage_batch_timed(items, ingest_context, staging)
                batches.append(batch)
                _merge(reading, timers)
                cpu_read += cpu
    TIMERS.reset()
    with _stage(stages, "load"):
        building = steps.load_warehouse_task.fn(ctx, plan, batches)
    loading = TIMERS.as_dict()
    figures = int(sum(b.rows.get("stg_figure", 0) for b in batches))
    workbooks = int(sum(len(b.files) for b in batches))
    del batches
    with _stage(stages, "marts"):
        steps.build_marts_task.fn(ctx, building)
    with _stage(stages, "awards"):
        steps.score_awards_task.fn(ctx, building)
    with _stage(stages, "publish"):
        result = steps.check_and_publish_task.fn(ctx, building)
    with _stage(stages, "outputs"):
        report = steps.write_report_task.fn(ctx, result)
        feedback = steps.write_feedback_task.fn(ctx, result)
        parquet = steps.export_parquet_task.fn(ctx, result)
        steps.publish_outputs_task.fn(ctx, report, feedback, parquet)
    return {
        "imported_s": _since_process_start(),
        "workers": workers,
        "stages": stages,
        "reading": reading,
        "reading_cpu_s": cpu_read,
        "loading": loading,
        "workbooks": workbooks,
        "figures": figures,
        "batches": len(batches_in),
        "not_instrumented": missing + instrument_reading(),
        "rss_after_mb": dict(RSS_AFTER),  # the engine-free process after each stage
        "counts": result.counts,
    }


def job_naive(job: dict) -> dict:
    from bench.naive import naive_flow

    imported = _since_process_start()
    started = time.perf_counter()
    out = naive_flow(job["files"], job["inbox"], job["registry"], job["warehouse"], job["outputs"])
    return out | {"imported_s": imported, "flow_call_s": time.perf_counter() - started}


def _top(profile: cProfile.Profile, limit: int, sort: str) -> str:
    buffer = io.StringIO()
    stats = pstats.Stats(profile, stream=buffer)
    stats.strip_dirs().sort_stats(sort).print_stats(limit)
    text = buffer.getvalue()
    start = text.find("   ncalls")
    return text[start:] if start >= 0 else text


def job_profile(job: dict) -> dict:
    """cProfile of reading+validating a sample of the inbox (one process), and the time of each
    warehouse SQL file, awards and checks on a copy of a full-scale warehouse."""
    import hashlib
    import shutil

    import duckdb

    from tasks import awards, marts, steps
    from tasks.ingest import WorkbookToRead
    from tongket.run_parameters import RunParameters

    ctx = steps.prepare_run(RunParameters(**job["params"]))
    inbox = ctx.settings.paths.inbox
    files = sorted(inbox.rglob("*.xlsx"))
    count = int(job.get("sample", 200))
    step = max(1, len(files) // max(count, 1))
    sample = [
        WorkbookToRead(hashlib.sha256(p.read_bytes()).hexdigest(), p.relative_to(inbox).as_posix(), str(p))
        for p in files[::step][:count]
    ]
    ingest_context = ctx.ingest_context()
    size = ctx.settings.run.batch_size
    profile_staging = ctx.staging_dir
    steps.read_and_validate_batch.fn(sample[:2], ingest_context, str(profile_staging))  # warm caches
    reading = cProfile.Profile()
    started = time.perf_counter()
    reading.enable()
    for i in range(0, len(sample), size):
        steps.read_and_validate_batch.fn(sample[i : i + size], ingest_context, str(profile_staging))
    reading.disable()
    shutil.rmtree(profile_staging, ignore_errors=True)
    out: dict[str, Any] = {
        "sample": len(sample),
        "read_seconds": time.perf_counter() - started,
        "read_top_cumulative": _top(reading, 40, "cumulative"),
        "read_top_self": _top(reading, 25, "tottime"),
    }
    published = Path(job.get("published") or "")
    if published.is_file():
        copy = ctx.settings.paths.warehouse.with_name("sql-profile.duckdb")
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(published, copy)
        sql: dict[str, float] = {}
        with duckdb.connect(str(copy)) as con:
            for layer in marts.MODEL_LAYERS:
                for path in marts.ordered_sql_files(layer):
                    started = time.perf_counter()
                    con.execute(path.read_text(encoding="utf-8"))
                    sql[f"{layer}/{path.stem}"] = time.perf_counter() - started
            started = time.perf_counter()
            awards.score_awards(con, ctx.rubric)
            sql["awards.score_awards"] = time.perf_counter() - started
            for path in marts.ordered_sql_files(marts.CHECK_LAYER):
                started = time.perf_counter()
                con.execute(f"select count(*) from ({path.read_text(encoding='utf-8').strip().rstrip(';')})").fetchone()
                sql[f"{marts.CHECK_LAYER}/{path.stem}"] = time.perf_counter() - started
        copy.unlink(missing_ok=True)
        out["sql_seconds"] = sql
    return out


JOBS: dict[str, Callable[[dict], dict]] = {
    "trivial": job_trivial,
    "tongket": job_tongket,
    "engine_free": job_engine_free,
    "naive": job_naive,
    "profile": job_profile,
}


def run_job(job: dict) -> dict:
    """Run one job here and now; returns what it measured."""
    started = time.perf_counter()
    out = JOBS[job["kind"]](job)
    return out | {"job_s": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    job = json.loads(Path(args[0]).read_text())
    out = run_job(job)
    Path(args[1]).write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
