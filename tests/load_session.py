"""Analysts querying the published warehouse while the nightly run republishes it.

Used by tests/test_load.py (a district, 5 analysts, in CI) and tests/load_long.py (a province
of ~1,500 workbooks, 20 analysts, run by hand). Each analyst is a separate process
(`python -m tests.load_session analyst ...`) that, in a loop, opens the published file
read-only, reads which run built it and counts what it holds, closes it, and writes one JSON
line per session. Meanwhile the flow runs twice (the inbox changes between the runs, so the
second run republishes). The report says whether any query failed and whether any session saw
a mix of two runs.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tests.measure import TreeSampler
from tongket.sample.content import generate_unit_report
from tongket.sample.generate import file_name_for, received_at, set_received_time
from tongket.sample.registry import district_info, registry_rows, write_registry
from tongket.workbook_writer import write_unit_workbook

# What one analyst session reads, all on one connection (one snapshot of one file).
SESSION_QUERIES = {
    "meta_run_id": "select value from meta_warehouse where key = 'run_id'",
    "config_run_id": "select run_id from ref_run_config",
    "accepted": "select count(*) from submission where status = 'accepted'",
    "submissions": "select count(*) from submission",
    "mart_accepted": "select count(*) from mart_submission_status where status = 'accepted'",
    "mart_units": "select count(*) from mart_submission_status",
    "attendances": (
        "select sum(value) from mart_district_indicator "
        "where indicator_code = 'PB_LUOT' and unit_type = 'all' and period = 0"
    ),
}
VN = dt.timezone(dt.timedelta(hours=7))


# --- the inbox -----------------------------------------------------------------------------------------
@dataclass
class Sample:
    """A registry and an inbox; `units` are the registry rows, `reports` their current reports."""

    root: Path
    units: list[dict]
    reports: dict[str, object] = field(default_factory=dict)
    district_name: str = ""

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def registry(self) -> Path:
        return self.root / "registry.csv"


def province_sample(province_code: int, root: Path, seed: int = 2021, draft_share: float = 0.4) -> Sample:
    """Every unit of every district of a province, one workbook each, and for `draft_share` of
    them an earlier draft (an earlier report date and arrival: the final one supersedes it)."""
    from tongket.sample.registry import divisions

    districts = sorted({w["district_code"] for w in divisions() if w["province_code"] == province_code})
    units, seen = [], set()
    for district in districts:  # one registry for the province: names must be unique in it
        district_name = district_info(district)[0]
        for unit in registry_rows(district, seed):
            name = f"{unit['unit_name']} ({district_name})"
            if name.casefold() in seen:  # vietnam-provinces has a few twins in one district
                name = f"{name} {unit['unit_code']}"
            seen.add(name.casefold())
            units.append(unit | {"unit_name": name})
    sample = Sample(root, units, district_name=district_info(districts[0])[0])
    sample.inbox.mkdir(parents=True, exist_ok=True)
    write_registry(units, sample.registry)
    rng = random.Random(seed)
    for unit in units:
        report = generate_unit_report(unit, seed, sample.district_name)
        _write(sample, unit, report, random.Random(f"file-{seed}-{unit['unit_code']}"))
        if rng.random() < draft_share:
            draft = generate_unit_report(unit, seed + 1, sample.district_name)
            draft.reported_on = report.reported_on - dt.timedelta(days=3)
            path = write_unit_workbook(sample.inbox / f"ban-nhap_{unit['unit_code']}.xlsx", draft, protect=True)
            set_received_time(path, received_at(draft, random.Random(f"draft-{unit['unit_code']}")))
        sample.reports[unit["unit_code"]] = report
    return sample


def district_sample(root: Path, district_code: int = 157, seed: int = 7) -> Sample:
    """One district's units, one workbook each (the demo inbox)."""
    units = registry_rows(district_code, seed)
    sample = Sample(root, units, district_name=district_info(district_code)[0])
    sample.inbox.mkdir(parents=True, exist_ok=True)
    write_registry(units, sample.registry)
    for unit in units:
        report = generate_unit_report(unit, seed, sample.district_name)
        _write(sample, unit, report, random.Random(f"file-{seed}-{unit['unit_code']}"))
        sample.reports[unit["unit_code"]] = report
    return sample


def _write(sample: Sample, unit: dict, report, rng: random.Random) -> Path:
    path = sample.inbox / file_name_for(unit, rng)
    if path.exists():  # two names that fold alike (Hoa Lộc, Hòa Lộc) in one province
        path = path.with_name(f"{unit['unit_code']}_{path.name}")
    path = write_unit_workbook(path, report, protect=True)
    set_received_time(path, received_at(report, rng))
    return path


def add_corrections(sample: Sample, count: int, seed: int = 1) -> list[str]:
    """`count` units send a correction: one attendance figure changed, a later report date and
    arrival. Returns their unit codes."""
    rng = random.Random(seed)
    chosen = rng.sample(sorted(sample.reports), count)
    for code in chosen:
        report = copy.deepcopy(sample.reports[code])
        report.figures[("PB_LUOT", 2019)] = (report.figures.get(("PB_LUOT", 2019)) or 0) + 7
        report.figures[("PB_CUOC", 2019)] = max(report.figures.get(("PB_CUOC", 2019)) or 1, 1)
        report.reported_on += dt.timedelta(days=2)
        path = write_unit_workbook(sample.inbox / f"ban-sua_{code}.xlsx", report, protect=True)
        day = report.reported_on + dt.timedelta(days=1)
        set_received_time(path, dt.datetime(day.year, day.month, day.day, 9, 0, tzinfo=VN))
        sample.reports[code] = report
    return chosen


# --- one analyst (a separate process) ------------------------------------------------------------------
def analyst(warehouse: str, log_path: str, stop_path: str, pause: float) -> None:
    """Query the published warehouse in a loop until `stop_path` exists; a JSON line a session."""
    with open(log_path, "w", encoding="utf-8") as log:
        while not os.path.exists(stop_path):
            if not os.path.exists(warehouse):  # the first run has not published yet
                time.sleep(0.05)
                continue
            started = time.time()
            record: dict = {"started": started}
            try:
                with duckdb.connect(warehouse, read_only=True) as con:
                    for key, sql in SESSION_QUERIES.items():
                        record[key] = con.execute(sql).fetchall()[0][0]
            except Exception as exc:  # a failed query is the finding: record it, go on
                record["error"] = f"{type(exc).__name__}: {exc}"
            record["seconds"] = time.time() - started
            log.write(json.dumps(record, default=str) + "\n")
            log.flush()
            time.sleep(pause)


# --- the session -----------------------------------------------------------------------------------------
@dataclass
class RunRecord:
    run_id: str
    seconds: float
    published: bool
    accepted: int
    submissions: int
    attendances: float


@dataclass
class LoadReport:
    readers: int
    runs: list[RunRecord]
    sessions: int = 0
    failures: list[str] = field(default_factory=list)
    inconsistent: list[dict] = field(default_factory=list)
    runs_seen: dict[str, int] = field(default_factory=dict)
    sessions_per_reader: list[int] = field(default_factory=list)
    latency: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0

    def summary(self) -> str:
        lines = [
            f"{self.readers} analyst processes, {self.sessions} sessions "
            f"(per analyst {min(self.sessions_per_reader)}-{max(self.sessions_per_reader)}), "
            f"{len(self.failures)} failed, {len(self.inconsistent)} inconsistent",
            "session seconds: " + ", ".join(f"{k} {v:.3f}" for k, v in self.latency.items()),
            f"sessions per run seen: {self.runs_seen}",
            f"peak memory of the process tree: {self.peak_rss_mb:.0f} MB",
        ]
        for run in self.runs:
            lines.append(
                f"run {run.run_id}: {run.seconds:.0f} s, published {run.published}, {run.submissions} submissions, "
                f"{run.accepted} accepted, attendances {run.attendances:,.0f}"
            )
        lines += [f"failure: {f}" for f in self.failures[:10]]
        lines += [f"inconsistent: {i}" for i in self.inconsistent[:10]]
        return "\n".join(lines)


def _published_facts(warehouse: Path, seconds: float, published: bool) -> RunRecord:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        values = {key: con.execute(sql).fetchall()[0][0] for key, sql in SESSION_QUERIES.items()}
    return RunRecord(
        values["meta_run_id"], seconds, published, values["accepted"], values["submissions"], values["attendances"]
    )


def load_session(
    sample: Sample,
    work: Path,
    run: Callable[[Path, Path], object],
    readers: int,
    corrections: int,
    pause: float = 0.1,
    linger: float = 3.0,
) -> LoadReport:
    """`readers` analyst processes query `work/tongket.duckdb` while `run(inbox, work)` runs
    twice, `corrections` units sending a correction in between."""

    from tongket.settings import PROJECT_ROOT

    warehouse = work / "tongket.duckdb"
    logs = work / "analysts"
    logs.mkdir(parents=True, exist_ok=True)
    stop = logs / "stop"
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.load_session",
                "analyst",
                str(warehouse),
                str(logs / f"analyst-{n:02d}.jsonl"),
                str(stop),
                str(pause),
            ],
            cwd=PROJECT_ROOT,
            env=env,
        )
        for n in range(readers)
    ]
    runs: list[RunRecord] = []
    with TreeSampler(interval=0.25) as sampler:
        try:
            for number in (1, 2):
                if number == 2:
                    add_corrections(sample, corrections)
                started = time.monotonic()
                result = run(sample.inbox, work)
                runs.append(_published_facts(warehouse, time.monotonic() - started, bool(result.published)))
            time.sleep(linger)  # the analysts see the second run too
        finally:
            stop.touch()
            for process in processes:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
    report = LoadReport(readers, runs, peak_rss_mb=sampler.peak_mb)
    expected = {r.run_id: r for r in runs}
    seconds = []
    for path in sorted(logs.glob("analyst-*.jsonl")):
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        report.sessions_per_reader.append(len(records))
        for record in records:
            report.sessions += 1
            seconds.append(record["seconds"])
            if "error" in record:
                report.failures.append(f"{path.name}: {record['error']}")
                continue
            run_id = record["meta_run_id"]
            report.runs_seen[run_id] = report.runs_seen.get(run_id, 0) + 1
            truth = expected.get(run_id)
            consistent = (
                truth is not None
                and record["config_run_id"] == run_id
                and record["accepted"] == record["mart_accepted"] == truth.accepted
                and record["submissions"] == truth.submissions
                and record["mart_units"] == len(sample.units)
                and abs(record["attendances"] - truth.attendances) < 1e-6
            )
            if not consistent:
                report.inconsistent.append(record)
    if seconds:
        ordered = sorted(seconds)
        report.latency = {
            "median": statistics.median(ordered),
            "p95": ordered[int(0.95 * (len(ordered) - 1))],
            "max": ordered[-1],
        }
    return report


if __name__ == "__main__":
    if sys.argv[1] == "analyst":
        analyst(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]))
