"""What-if measurements: the gain of each recommended change, measured before anyone makes it.

`python -m bench.whatif --scale national [--sample 600]` reads a sample of the scale's corpus
and times, in this one process, the current code and the same code with one change patched in
(nothing in tasks/ is edited; the patches live here and are applied to this process only):

- `fold-cache`: `tongket.text.fold_key` memoised (labels, headers and names repeat in every
  workbook);
- `formula-fast-path`: a sheet whose formulas all have cached values is recognised by two
  regular expressions instead of an XML parse;
- `pivot-once`: the cross-indicator rules share one pivot of the batch instead of one each;
- `batch-250`: 250 workbooks a pandera call instead of 50;
- `load-once`: every batch's frames concatenated and inserted once per table (Arrow), instead of
  six inserts of pandas frames per batch;
- `awards-select`: the award selection scans only the best candidates of each draw, checked to
  propose exactly what the current code proposes on the scale's warehouse;
- `marts-no-order`: the two largest core tables built without their final ORDER BY;
- `memory`: the SQL layers in a fresh process with DuckDB's memory limit capped.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.corpus import SCALES, generate_corpus
from bench.run import RUNS_ROOT, _environment, bench_env

# --- the patches ----------------------------------------------------------------------------
_FOLD_MODULES = ("tasks.extract", "tasks.parse", "tasks.identify", "tasks.read", "tasks.awards")


def patch_fold_cache() -> Callable[[], None]:
    import importlib

    import tongket.text as text

    original = text.fold_key
    cached = functools.lru_cache(maxsize=1 << 16)(original)
    modules = [importlib.import_module(m) for m in _FOLD_MODULES]
    saved = [(m, m.fold_key) for m in modules if hasattr(m, "fold_key")]
    text.fold_key = cached
    for module, _ in saved:
        module.fold_key = cached

    def undo() -> None:
        text.fold_key = original
        for module, value in saved:
            module.fold_key = value

    return undo


_ANY_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CACHED_FORMULA = re.compile(rb"<(?:\w+:)?f(?:\s[^>]*)?(?:/>|>[^<]*</(?:\w+:)?f>)\s*<(?:\w+:)?v>[^<]+</(?:\w+:)?v>")


def patch_formula_fast_path() -> Callable[[], None]:
    import tasks.read as read

    original = read._uncached_formulas

    def fast(xml: bytes) -> dict[tuple[int, int], str]:
        formulas = len(_ANY_FORMULA.findall(xml))
        if formulas == 0 or len(_CACHED_FORMULA.findall(xml)) == formulas:
            return {}
        return original(xml)

    read._uncached_formulas = fast
    return lambda: setattr(read, "_uncached_formulas", original)


def patch_pivot_once() -> Callable[[], None]:
    import schemas.indicator_sheets as sheets

    original = sheets._wide
    memo: dict[int, tuple[Any, pd.DataFrame]] = {}

    def wide(df: pd.DataFrame) -> pd.DataFrame:
        key = id(df)
        if key in memo and memo[key][0] is df:
            return memo[key][1]
        memo.clear()
        memo[key] = (df, original(df))
        return memo[key][1]

    sheets._wide = wide
    return lambda: setattr(sheets, "_wide", original)


# --- reading ----------------------------------------------------------------------------------
def _items(inbox: Path, count: int) -> list:
    from tasks.ingest import WorkbookToRead

    files = sorted(inbox.rglob("*.xlsx"))
    step = max(1, len(files) // count)
    return [
        WorkbookToRead(hashlib.sha256(p.read_bytes()).hexdigest(), p.relative_to(inbox).as_posix(), str(p))
        for p in files[::step][:count]
    ]


def _time_reading(items: list, ctx: Any, batch_size: int, repeat: int = 3) -> tuple[float, list]:
    from tasks.ingest import stage_batch

    best, batches = float("inf"), []
    for _ in range(repeat):
        started = time.perf_counter()
        batches = [stage_batch(items[i : i + batch_size], ctx) for i in range(0, len(items), batch_size)]
        best = min(best, time.perf_counter() - started)
    return best, batches


def _same_batches(a: list, b: list) -> bool:
    """The same staged rows (in any order) from two ways of reading."""
    from tasks.load import BATCH_TABLES

    for attribute in BATCH_TABLES.values():
        left, right = (
            pd.concat([getattr(x, attribute) for x in batches], ignore_index=True).astype(str) for batches in (a, b)
        )
        left, right = (f.sort_values(list(f.columns)).reset_index(drop=True) for f in (left, right))
        if not left.equals(right):
            return False
    return True


def reading_whatifs(items: list, ctx: Any) -> dict[str, Any]:
    """Seconds to read+validate the sample, current code and each patch (best of 3)."""
    _time_reading(items[:4], ctx, 50, repeat=1)  # warm the caches every variant shares
    baseline, reference = _time_reading(items, ctx, 50)
    out: dict[str, Any] = {"workbooks": len(items), "current (batches of 50)": baseline}
    for label, patch in (
        ("fold-cache", patch_fold_cache),
        ("formula-fast-path", patch_formula_fast_path),
        ("pivot-once", patch_pivot_once),
    ):
        undo = patch()
        try:
            seconds, batches = _time_reading(items, ctx, 50)
        finally:
            undo()
        out[label] = seconds
        out[f"{label} same result"] = _same_batches(reference, batches)
    seconds, batches = _time_reading(items, ctx, 250)
    out["batch-250"] = seconds
    out["batch-250 same result"] = _same_batches(reference, batches)
    undos = [patch_fold_cache(), patch_formula_fast_path(), patch_pivot_once()]
    try:
        seconds, batches = _time_reading(items, ctx, 250)
    finally:
        for undo in undos:
            undo()
    out["all four"] = seconds
    out["all four same result"] = _same_batches(reference, batches)
    out["_batches"] = reference
    return out


# --- loading ------------------------------------------------------------------------------------
def loading_whatifs(batches: list, work: Path) -> dict[str, float]:
    import duckdb
    import pyarrow as pa

    from tasks import load

    out = {}
    path = work / "load-current.duckdb"
    con = load.connect_new(path)
    started = time.perf_counter()
    load.load_batches(con, batches)
    out["current (6 pandas inserts a batch)"] = time.perf_counter() - started
    con.close()
    path = work / "load-once.duckdb"
    con = load.connect_new(path)
    started = time.perf_counter()
    for table, attribute in load.BATCH_TABLES.items():
        frames = [getattr(b, attribute) for b in batches if len(getattr(b, attribute))]
        if not frames:
            continue
        arrow = pa.Table.from_pandas(pd.concat(frames, ignore_index=True), preserve_index=False)
        con.register("incoming_arrow", arrow)
        con.execute(f"insert into {table} by name select * from incoming_arrow")
        con.unregister("incoming_arrow")
    out["one Arrow insert a table"] = time.perf_counter() - started
    same = con.execute("select count(*), sum(value) from stg_figure").fetchone()
    con.close()
    with duckdb.connect(str(work / "load-current.duckdb"), read_only=True) as check:
        out["same rows"] = float(check.execute("select count(*), sum(value) from stg_figure").fetchone() == same)
    return out


# --- awards ---------------------------------------------------------------------------------------
def select_fast(
    scores: np.ndarray, eligible: np.ndarray, frame: pd.DataFrame, tie_keys: list[np.ndarray], how: Any
) -> np.ndarray:
    """`tasks.awards.select`, scanning only the best candidates: the picks are the first
    `propose` candidates of round 0 (each group's best), so the scan stops once it has seen
    that many groups; only the candidates scoring at least the K-th best score are sorted."""
    chosen = np.zeros(len(scores), dtype=bool)
    passing = eligible & (scores >= how.pass_mark - 1e-9)
    candidates = np.flatnonzero(passing)
    if len(candidates) == 0:
        return chosen
    groups = frame[how.group_column].to_numpy() if how.group_column is not None else None
    k = 64
    while True:
        if len(candidates) > k:
            threshold = -np.partition(-scores[candidates], k - 1)[k - 1]
            top = candidates[scores[candidates] >= threshold]  # every tie of the K-th score too
        else:
            top = candidates
        order = top[np.lexsort([*(key[top] for key in tie_keys), -scores[top]])]
        complete = len(top) == len(candidates)
        if groups is None:
            if len(order) >= how.propose or complete:
                chosen[order[: how.propose]] = True
                return chosen
        else:
            taken: dict[object, int] = {}
            ranked = []
            firsts = 0
            for position, i in enumerate(order):
                n = taken.get(groups[i], 0)
                if how.group_limit is not None and n >= how.group_limit:
                    continue
                taken[groups[i]] = n + 1
                ranked.append((n, position, i))
                firsts += n == 0
                if firsts >= how.propose:
                    break
            if firsts >= how.propose or complete:
                for _, _, i in sorted(ranked)[: how.propose]:
                    chosen[i] = True
                return chosen
        k *= 4


def awards_whatif(warehouse: Path, work: Path) -> dict[str, Any]:
    """score_awards on a copy of the scale's warehouse, current and with `select_fast`."""
    import duckdb

    import tasks.awards as awards
    from tongket.rubric import load_rubric
    from tongket.settings import load_settings

    rubric = load_rubric(load_settings().rubric_path)
    copy = work / "awards.duckdb"
    shutil.copyfile(warehouse, copy)
    out: dict[str, Any] = {}
    with duckdb.connect(str(copy)) as con:
        started = time.perf_counter()
        awards.score_awards(con, rubric)
        out["current"] = time.perf_counter() - started
        before = {t: con.sql(f"select * from {t}").df() for t in ("mart_award_collective", "mart_award_individual")}
        original = awards.select
        awards.select = select_fast
        try:
            started = time.perf_counter()
            awards.score_awards(con, rubric)
            out["select-fast"] = time.perf_counter() - started
        finally:
            awards.select = original
        after = {t: con.sql(f"select * from {t}").df() for t in before}
    out["same proposal and stability"] = all(before[t].equals(after[t]) for t in before)
    out["candidates"] = {t: len(before[t]) for t in before}
    copy.unlink()
    return out


# --- marts ------------------------------------------------------------------------------------------
def marts_whatif(warehouse: Path, work: Path) -> dict[str, float]:
    import duckdb

    from tasks import marts

    copy = work / "marts.duckdb"
    shutil.copyfile(warehouse, copy)
    out = {}
    with duckdb.connect(str(copy)) as con:
        for name in ("fact_indicator", "fact_indicator_history"):
            path = next(p for p in marts.ordered_sql_files("20_core") if p.stem == name)
            sql = path.read_text(encoding="utf-8")
            started = time.perf_counter()
            con.execute(sql)
            out[f"{name}"] = time.perf_counter() - started
            unordered = re.sub(r"\border by[^;]*;\s*$", ";", sql.strip(), flags=re.S | re.I)
            started = time.perf_counter()
            con.execute(unordered)
            out[f"{name} without order by"] = time.perf_counter() - started
    copy.unlink()
    return out


def _build_marts(path: str, memory_limit: str | None) -> None:
    import duckdb

    from tasks import marts

    config = {"memory_limit": memory_limit} if memory_limit else {}
    with duckdb.connect(path, config=config) as con:
        marts.run_layers(con, marts.MODEL_LAYERS)
        marts.run_checks(con)


def memory_whatif(warehouse: Path, work: Path) -> dict[str, dict[str, float]]:
    """Core, marts and checks on a copy of the warehouse in a fresh process: its peak RSS and
    time with DuckDB's default memory limit (80% of RAM) and with a cap."""
    import multiprocessing

    from bench.run import PeakRss

    out = {}
    for limit in (None, "1GB", "500MB"):
        copy = work / "memory.duckdb"
        shutil.copyfile(warehouse, copy)
        process = multiprocessing.get_context("spawn").Process(target=_build_marts, args=(str(copy), limit))
        started = time.perf_counter()
        process.start()
        sampler = PeakRss(process.pid)
        sampler.start()
        process.join()
        seconds = time.perf_counter() - started
        sampler.stop()
        out[limit or "default (80% of RAM)"] = {"seconds": seconds, "peak_rss_mb": sampler.peak_main / 2**20}
        copy.unlink()
    return out


def _score(path: str, fast: bool, queue: Any) -> None:
    import duckdb
    import psutil

    import tasks.awards as awards
    from tongket.rubric import load_rubric
    from tongket.settings import load_settings

    rubric = load_rubric(load_settings().rubric_path)
    if fast:
        awards.select = select_fast
    with duckdb.connect(path) as con:
        con.sql("select * from award_collective_component").df()  # warm: connection, pandas, tables
        queue.put(psutil.Process().memory_info().rss)
        awards.score_awards(con, rubric)


def awards_memory_whatif(warehouse: Path, work: Path) -> dict[str, dict[str, float]]:
    """score_awards in a fresh process: RSS before scoring and at its peak (the draws are
    scored as (draws x candidates) matrices at once)."""
    import multiprocessing

    from bench.run import PeakRss

    out = {}
    context = multiprocessing.get_context("spawn")
    for label, fast in (("current", False), ("select-fast", True)):
        copy = work / "awards-memory.duckdb"
        shutil.copyfile(warehouse, copy)
        queue = context.Queue()
        process = context.Process(target=_score, args=(str(copy), fast, queue))
        process.start()
        sampler = PeakRss(process.pid, interval=0.02)
        sampler.start()
        before = queue.get()
        process.join()
        sampler.stop()
        out[label] = {"rss_before_mb": before / 2**20, "peak_rss_mb": sampler.peak_main / 2**20}
        copy.unlink()
    return out


WHATIF_PARTS = ("reading", "loading", "awards", "marts", "memory", "awards-memory")


def run_whatifs(
    scale: str, sample: int, warehouse: Path | None, parts: tuple[str, ...] = WHATIF_PARTS
) -> dict[str, Any]:
    from tasks import steps
    from tongket.run_parameters import RunParameters

    corpus = generate_corpus(scale)
    work = RUNS_ROOT / scale / "whatif"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    out: dict[str, Any] = {}
    scope = {k: v for k, v in bench_env(scale, RUNS_ROOT / scale, corpus).items() if k.startswith("TONGKET")}
    with _environment(scope):
        if "reading" in parts or "loading" in parts:
            params = RunParameters(
                inbox=str(corpus.inbox),
                registry=str(corpus.registry),
                warehouse=str(work / "w.duckdb"),
                outputs=str(work / "outputs"),
            )
            ctx = steps.prepare_run(params)
            items = _items(corpus.inbox, sample)
            reading = reading_whatifs(items, ctx.ingest_context())
            batches = reading.pop("_batches")
            if "reading" in parts:
                out["reading"] = reading
            if "loading" in parts:
                out["loading"] = loading_whatifs(batches, work)
        warehouse = warehouse or RUNS_ROOT / scale / "engine-free" / "tongket.duckdb"
        if warehouse.exists():
            for part, function in (
                ("awards", awards_whatif),
                ("marts", marts_whatif),
                ("memory", memory_whatif),
                ("awards-memory", awards_memory_whatif),
            ):
                if part in parts:
                    out[part] = function(warehouse, work)
    shutil.rmtree(work, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> None:
    import json

    parser = argparse.ArgumentParser(description="Measure the gain of each recommended change.")
    parser.add_argument("--scale", choices=SCALES, default="national")
    parser.add_argument("--sample", type=int, default=500, help="workbooks read for the reading what-ifs")
    parser.add_argument("--warehouse", type=Path, help="built warehouse for awards/marts (default: engine-free's)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here (merged into what it holds)")
    parser.add_argument("--parts", default=",".join(WHATIF_PARTS), help="comma-separated: " + ",".join(WHATIF_PARTS))
    args = parser.parse_args(argv)
    parts = tuple(p.strip() for p in args.parts.split(","))
    results = run_whatifs(args.scale, args.sample, args.warehouse, parts)
    if args.out:
        previous = json.loads(args.out.read_text()) if args.out.exists() else {}
        results = previous | results
    text = json.dumps(results, indent=1, default=str)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
