"""Load: read-only analyst sessions in separate processes query the published warehouse in a
loop while the nightly run publishes twice (the second time with corrections). No query
fails, no run fails, and every session sees exactly one run: its run id in meta_warehouse and
ref_run_config agree, and its counts are that run's (accepted submissions in `submission` =
units accepted in `mart_submission_status` = the run's own count).

This is the district-scale version (45 workbooks, 5 analysts). The province-scale session
(~1,500 workbooks, 20 analysts) is `python -m tests.load_long` (RELIABILITY.md has its results).
"""

from __future__ import annotations

import pytest

from tests.conftest import run_flow
from tests.load_session import district_sample, load_session

pytestmark = pytest.mark.slow

CORRECTIONS = 3


def test_analysts_never_fail_nor_see_two_runs_while_a_district_is_run_twice(tmp_path, prefect_server):
    sample = district_sample(tmp_path / "sample")
    report = load_session(
        sample,
        tmp_path / "work",
        lambda inbox, work: run_flow(sample.root, work, inbox=inbox),
        readers=5,
        corrections=CORRECTIONS,
        pause=0.05,
    )
    print("\n" + report.summary())
    first, second = report.runs
    assert first.published and second.published
    assert (first.accepted, second.accepted) == (45, 45)
    assert second.submissions == first.submissions + CORRECTIONS
    assert second.attendances == first.attendances + 7 * CORRECTIONS
    assert report.failures == []
    assert report.inconsistent == []
    assert set(report.runs_seen) == {first.run_id, second.run_id}
    assert min(report.sessions_per_reader) > 0
