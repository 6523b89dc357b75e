"""The province-scale load session: 20 analysts while the nightly run runs twice.

    .venv/bin/python -m tests.load_long [--province 38] [--readers 20] [--corrections 50] [--work DIR]

It writes a registry and an inbox for every district of a province (Tỉnh Thanh Hóa by default:
26 districts, 1,095 units, and an earlier draft from about 40% of them: ~1,530 workbooks),
starts `--readers` analyst processes that query the published warehouse in a loop
(tests/load_session.py), runs the flow, lets `--corrections` units send a correction, runs it
again, and prints what happened: sessions, failed queries, sessions that saw a mix of runs,
session times, the runs' times and counts, and the peak memory of the whole process tree.
It exits 0 only when both runs published and accepted every unit, no query failed and every
session saw one run.
Record the results in RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.load_long", description=__doc__.splitlines()[0])
    parser.add_argument("--province", type=int, default=38, help="GSO province code (default 38, Thanh Hóa)")
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--corrections", type=int, default=50)
    parser.add_argument("--pause", type=float, default=0.1, help="seconds an analyst waits between sessions")
    parser.add_argument("--work", type=Path, default=None, help="folder for the sample and the warehouse")
    args = parser.parse_args(argv)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from prefect.testing.utilities import prefect_test_harness

    from flows.tongket_flow import tongket_run
    from tests.load_session import load_session, province_sample
    from tongket.run_parameters import RunParameters

    work = args.work or Path(tempfile.mkdtemp(prefix="tongket-load-"))
    started = time.monotonic()
    sample = province_sample(args.province, work / "sample")
    files = len(list(sample.inbox.iterdir()))
    print(f"{len(sample.units)} units, {files} workbooks written in {time.monotonic() - started:.0f} s ({work})")

    def run(inbox: Path, target: Path):
        params = RunParameters(
            inbox=str(inbox),
            registry=str(sample.registry),
            warehouse=str(target / "tongket.duckdb"),
            outputs=str(target / "outputs"),
        )
        return tongket_run(params)

    with prefect_test_harness(server_startup_timeout=180):
        report = load_session(
            sample, work / "run", run, readers=args.readers, corrections=args.corrections, pause=args.pause
        )
    print(f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(report.summary())
    ok = (
        all(r.published and r.accepted == len(sample.units) for r in report.runs)
        and not report.failures
        and not report.inconsistent
    )
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
