"""The benchmark: `python -m bench.run --scale district|province|national [--naive-subset N]`.

It generates (or reuses) the corpus of the scale, then measures, each job in its own process
(a nightly `tongket run` is a process too) with the peak RSS of its process tree sampled:

1. a trivial Prefect flow (one task that does nothing): Prefect's fixed cost;
2. the real flow on a new warehouse (`--repeat` times), stage times from its task runs;
3. the nightly rerun with nothing changed, then a run after one unit re-sent its file;
4. the same steps without the engine (plain functions, reading on `--workers` processes),
   with the reading split into guard / read / extract / validate;
5. the naive pipeline (bench/naive.py) on a subset of the files, projected to all of them;
6. cProfile of the reading, and the time of each warehouse SQL file at full scale.

Results go to bench/results/<scale>.json and the scale's section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
import psutil

from bench.corpus import SCALES, Corpus, generate_corpus, rewrite_unit_file
from bench.jobs import run_job

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RUNS_ROOT = BENCH_DIR / "runs"
RESULTS_DIR = BENCH_DIR / "results"
RESULTS_MD = BENCH_DIR / "RESULTS.md"
PACKAGES = (
    "prefect",
    "pandas",
    "pandera",
    "duckdb",
    "python-calamine",
    "openpyxl",
    "xlsxwriter",
    "pyarrow",
    "numpy",
    "rapidfuzz",
    "psutil",
)
PARTS = ("tongket", "engine-free", "naive", "profile", "dask")
DEFAULT_PARTS = ("tongket", "engine-free", "naive", "profile")  # dask: on request (--only dask)
DEFAULT_NAIVE_SUBSET = {"district": 0, "province": 300, "national": 600}  # 0: every file
SCOPE_NAMES = {
    "province": ("Thành phố Hà Nội", "Thành phố Hà Nội"),
    "national": ("Toàn quốc", "Toàn quốc"),
}


# --- the machine and the process tree --------------------------------------------------------
def machine_info() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": cpu,
        "cores_logical": os.cpu_count(),
        "cores_physical": psutil.cpu_count(logical=False),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }


class PeakRss(threading.Thread):
    """Samples the RSS of a process and all its descendants; keeps the peaks."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_tree = 0
        self.peak_main = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop_event.is_set():
            try:
                main = root.memory_info().rss
                tree = main
                for child in root.children(recursive=True):
                    try:
                        tree += child.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                break
            self.peak_main = max(self.peak_main, main)
            self.peak_tree = max(self.peak_tree, tree)
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def measure(job: dict, env: dict[str, str], jobs_dir: Path, label: str, in_process: bool) -> dict[str, Any]:
    """Run one job (own process, or here), with its wall time, CPU time and peak RSS."""
    load_before = os.getloadavg()[0]
    if in_process:
        sampler = PeakRss(os.getpid())
        sampler.start()
        cpu = time.process_time()
        started = time.perf_counter()
        with _environment(env):
            out = run_job(job)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
        sampler.stop()
    else:
        jobs_dir.mkdir(parents=True, exist_ok=True)
        job_path, out_path, log_path = (jobs_dir / f"{label}.{ext}" for ext in ("job.json", "out.json", "log"))
        job_path.write_text(json.dumps(job, ensure_ascii=False, indent=1))
        out_path.unlink(missing_ok=True)
        cpu = _children_cpu()
        started = time.perf_counter()
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bench.jobs", str(job_path), str(out_path)],
                cwd=PROJECT_ROOT,
                env=os.environ | env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            sampler = PeakRss(process.pid)
            sampler.start()
            code = process.wait()
        wall = time.perf_counter() - started
        cpu = _children_cpu() - cpu
        sampler.stop()
        if code != 0 or not out_path.exists():
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"benchmark job {label} failed (exit {code}); log {log_path}:\n{tail}")
        out = json.loads(out_path.read_text())
    return {
        "label": label,
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_tree_mb": sampler.peak_tree / 2**20,
        "peak_rss_main_mb": sampler.peak_main / 2**20,
        "load_avg_before": load_before,
        "load_avg_after": os.getloadavg()[0],
        "job": out,
    }


# --- what a run did -------------------------------------------------------------------------
def warehouse_counts(path: Path) -> dict[str, int]:
    if not path.exists():
        return {}
    with duckdb.connect(str(path), read_only=True) as con:
        out = {}
        for table, where in (
            ("stg_file", ""),
            ("stg_figure", ""),
            ("fact_indicator", ""),
            ("submission", " where is_current"),
            ("validation_issue", ""),
        ):
            try:
                out[table] = con.execute(f"select count(*) from {table}{where}").fetchone()[0]
            except duckdb.Error:
                out[table] = None
        return out


def parity(naive_warehouse: Path, tongket_warehouse: Path) -> dict[str, Any]:
    """The figures both pipelines staged from the naive subset: they must be the same."""
    with duckdb.connect(str(naive_warehouse), read_only=True) as con:
        con.execute("attach ? as real (read_only)", [str(tongket_warehouse)])
        naive = con.execute("select count(*), count(value), round(sum(value), 3) from stg_figure").fetchone()
        real = con.execute(
            "select count(*), count(value), round(sum(value), 3) from real.stg_figure "
            "where file_sha256 in (select file_sha256 from stg_file)"
        ).fetchone()
        current_naive = con.execute("select count(*) from fact_indicator").fetchone()[0]
    return {
        "naive": {"figures": naive[0], "values": naive[1], "sum": naive[2], "fact_indicator": current_naive},
        "tongket": {"figures": real[0], "values": real[1], "sum": real[2]},
        "same": tuple(naive) == tuple(real),
    }


def _reset(work: Path) -> None:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)


def _params(corpus: Corpus, work: Path) -> dict[str, str]:
    return {
        "inbox": str(corpus.inbox),
        "registry": str(corpus.registry),
        "warehouse": str(work / "tongket.duckdb"),
        "outputs": str(work / "outputs"),
    }


def bench_env(scale: str, runs: Path, corpus: Corpus, in_process: bool = False) -> dict[str, str]:
    """The jobs' environment: their own PREFECT_HOME (not in-process: the caller's Prefect
    settings stay), and the scope's name in place of the district's."""
    env = {}
    if not in_process:
        env |= {
            "PREFECT_HOME": str(runs / "prefect-home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",  # as `tongket run` sets it
        }
    if scale in SCOPE_NAMES:
        name, province = SCOPE_NAMES[scale]
        env |= {
            "TONGKET_DISTRICT_NAME": name,
            "TONGKET_DISTRICT_PROVINCE": province,
            "TONGKET_DISTRICT_CODE": str(corpus.province_code or 0),
        }
    return env


def naive_files(corpus: Corpus, subset: int) -> list[str]:
    """Every k-th file, so the subset mixes districts, communes and agencies."""
    files = [str(p) for p in corpus.files()]
    if subset <= 0 or subset >= len(files):
        return files
    step = len(files) / subset
    return [files[int(i * step)] for i in range(subset)]


def run_benchmark(
    scale: str,
    naive_subset: int | None = None,
    repeat: int = 1,
    workers: int | None = None,
    in_process: bool = False,
    corpus_root: Path | None = None,
    runs_root: Path = RUNS_ROOT,
    limit: int | None = None,
    profile_sample: int = 200,
    trivial_repeat: int = 1,
    log=print,
    parts: tuple[str, ...] = DEFAULT_PARTS,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Measure one scale; returns the results (also what the JSON holds). With `parts` a
    subset of PARTS, only those are measured and the rest is taken from `previous`."""
    workers = workers or os.cpu_count() or 1
    subset = DEFAULT_NAIVE_SUBSET[scale] if naive_subset is None else naive_subset
    started_at = dt.datetime.now().isoformat(timespec="seconds")
    log(f"[{scale}] corpus ...")
    corpus = generate_corpus(scale, corpus_root, limit=limit)
    log(f"[{scale}] corpus: {corpus.unit_count} workbooks ({corpus.generated_seconds:.1f} s to generate)")
    runs = runs_root / scale
    runs.mkdir(parents=True, exist_ok=True)
    jobs_dir = runs / "jobs"
    env = bench_env(scale, runs, corpus, in_process)
    results: dict[str, Any] = dict(previous or {}) | {
        "scale": scale,
        "started_at": started_at,
        "in_process": in_process,
        "machine": machine_info(),
        "corpus": {k: v for k, v in vars(corpus).items() if k != "root"} | {"root": str(corpus.root)},
        "workers": workers,
    }

    results["measured_at"] = dict(results.get("measured_at") or {}) | dict.fromkeys(parts, started_at)

    def run(job: dict, label: str, extra_env: dict[str, str] | None = None) -> dict:
        log(f"[{scale}] {label} ...")
        measured = measure(job, env | (extra_env or {}), jobs_dir, label, in_process)
        log(f"[{scale}] {label}: {measured['wall_s']:.1f} s, peak {measured['peak_rss_tree_mb']:.0f} MB")
        return measured

    if not in_process and not (runs / "prefect-home").exists():
        run({"kind": "trivial"}, "warm-up")  # the first process of a PREFECT_HOME migrates its database
    if "tongket" in parts:
        results["trivial"] = [run({"kind": "trivial"}, f"trivial-{i}") for i in range(trivial_repeat)]

    def run_tongket(label: str, work: Path, extra_env: dict[str, str] | None = None) -> dict:
        """A trivial flow, then the tongket run: the pair's difference is what tongket adds,
        measured under the same load of the (shared) machine."""
        trivial = run({"kind": "trivial"}, f"trivial-before-{label}")
        results.setdefault("trivial", []).append(trivial)
        measured = run({"kind": "tongket", "params": _params(corpus, work)}, label, extra_env)
        measured["trivial_wall_s"] = trivial["wall_s"]
        measured["counts"] = warehouse_counts(work / "tongket.duckdb")
        return measured

    work = runs / "tongket"
    if "tongket" in parts:
        results["first"], results["nightly"], results["changed"] = [], [], []
        for i in range(repeat):
            _reset(work)
            results["first"].append(run_tongket(f"first-{i}", work))
        for i in range(repeat):
            results["nightly"].append(run_tongket(f"nightly-{i}", work))
        restores = []
        try:
            for i in range(repeat):
                path, restore = rewrite_unit_file(corpus, (corpus.unit_count // 2 + i) % corpus.unit_count)
                restores.append(restore)
                measured = run_tongket(f"changed-{i}", work)
                measured["changed_file"] = str(path.relative_to(corpus.inbox))
                results["changed"].append(measured)
        finally:
            for restore in reversed(restores):
                restore()

    if "dask" in parts:
        # The read fan-out on a local Dask cluster of `run.max_workers` (2) worker processes
        # started by the run, the warehouse written by the flow's process as always.
        dask_work = runs / "tongket-dask"
        results["dask"] = []
        for i in range(repeat):
            _reset(dask_work)
            results["dask"].append(run_tongket(f"dask-first-{i}", dask_work, {"TONGKET_RUN_TASK_RUNNER": "dask"}))

    engine_work = runs / "engine-free"
    if "engine-free" in parts:
        _reset(engine_work)
        results["engine_free"] = run(
            {"kind": "engine_free", "params": _params(corpus, engine_work), "workers": workers}, "engine-free"
        )
        results["engine_free"]["counts"] = warehouse_counts(engine_work / "tongket.duckdb")

    if "naive" in parts:
        _naive(results, corpus, runs, subset, work, run)
    if "profile" in parts and profile_sample:
        _profile(results, corpus, runs, profile_sample, engine_work, run)
    return results


def _naive(results: dict, corpus: Corpus, runs: Path, subset: int, work: Path, run) -> None:
    naive_work = runs / "naive"
    _reset(naive_work)
    files = naive_files(corpus, subset)
    results["naive"] = run(
        {
            "kind": "naive",
            "files": files,
            "inbox": str(corpus.inbox),
            "registry": str(corpus.registry),
            "warehouse": str(naive_work / "naive.duckdb"),
            "outputs": str(naive_work / "outputs"),
        },
        "naive",
    )
    results["naive"]["files"] = len(files)
    results["parity"] = parity(naive_work / "naive.duckdb", work / "tongket.duckdb")


def _profile(results: dict, corpus: Corpus, runs: Path, sample: int, engine_work: Path, run) -> None:
    profile_work = runs / "profile"
    _reset(profile_work)
    results["profile"] = run(
        {
            "kind": "profile",
            "params": _params(corpus, profile_work),
            "sample": sample,
            "published": str(engine_work / "tongket.duckdb"),
        },
        "profile",
    )


def save(results: dict[str, Any], results_dir: Path = RESULTS_DIR, results_md: Path = RESULTS_MD) -> Path:
    """Write the scale's JSON and regenerate its section of RESULTS.md."""
    from bench.report import update_results_md

    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{results['scale']}.json"
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str))
    update_results_md(results_md, results_dir)
    return path


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--scale", choices=SCALES, required=True)
    parser.add_argument("--naive-subset", type=int, help="files the naive pipeline reads (0: all; default by scale)")
    parser.add_argument("--repeat", type=int, help="runs of each tongket measurement (default 3 district, else 1)")
    parser.add_argument("--workers", type=int, help="processes of the engine-free reading (default: cores)")
    parser.add_argument("--limit", type=int, help="only the first N units of the scale (a quick look)")
    parser.add_argument("--profile-sample", type=int, default=200, help="workbooks profiled (0: no profile)")
    parser.add_argument(
        "--only",
        help=f"comma-separated parts to measure again ({','.join(PARTS)}); the others are kept from "
        "bench/results/<scale>.json",
    )
    parser.add_argument("--no-save", action="store_true", help="print the results; write no file")
    args = parser.parse_args(argv)
    parts = DEFAULT_PARTS
    previous = None
    if args.only:
        parts = tuple(p.strip() for p in args.only.split(","))
        unknown = set(parts) - set(PARTS)
        if unknown:
            parser.error(f"unknown parts {sorted(unknown)}; choose from {', '.join(PARTS)}")
        previous = json.loads((RESULTS_DIR / f"{args.scale}.json").read_text())
    repeat = args.repeat or (3 if args.scale == "district" else 1)
    started = time.perf_counter()
    results = run_benchmark(
        args.scale,
        naive_subset=args.naive_subset,
        repeat=repeat,
        workers=args.workers,
        limit=args.limit,
        profile_sample=args.profile_sample,
        parts=parts,
        previous=previous,
    )
    results["bench_seconds"] = time.perf_counter() - started
    if args.no_save:
        print(json.dumps(results, indent=1, default=str)[:5000])
        return
    path = save(results)
    print(f"Results: {path} and {RESULTS_MD} ({results['bench_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
