"""The run summary in the Prefect UI: artifacts created by a real flow run, read back through
the Prefect client, their figures equal to the marts."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

from tasks.artifacts import ARTIFACT_KEYS, KEY_PATTERN, PROPOSAL_KEY, STATUS_KEY, SUMMARY_KEY, md
from tests.conftest import query
from tests.outputs_inbox import HYPERLINK


def read_artifacts(**filters):
    async def _read():
        async with get_client() as client:
            return await client.read_artifacts(artifact_filter=ArtifactFilter(**filters))

    return asyncio.run(_read())


@pytest.fixture(scope="module")
def run(outputs_run):
    work, planted, flow_run_id, _ = outputs_run
    artifacts = read_artifacts(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
    return work / "tongket.duckdb", planted, {a.key: a for a in artifacts}


def table(artifact) -> list[dict]:
    data = artifact.data
    return json.loads(data) if isinstance(data, str) else data


def test_keys_are_stable_and_valid():
    assert ARTIFACT_KEYS == ("tongket-run-summary", "tongket-submission-status", "tongket-award-proposal")
    assert all(KEY_PATTERN.match(key) for key in ARTIFACT_KEYS)


@pytest.mark.slow
def test_the_flow_run_creates_the_three_artifacts(run):
    _, _, artifacts = run
    assert set(artifacts) == set(ARTIFACT_KEYS)
    assert artifacts[SUMMARY_KEY].type == "markdown"
    assert artifacts[STATUS_KEY].type == "table" and artifacts[PROPOSAL_KEY].type == "table"


@pytest.mark.slow
def test_the_summary_counts_units_problems_and_the_proposal(run):
    warehouse, planted, artifacts = run
    text = artifacts[SUMMARY_KEY].data
    assert "| | Toàn huyện | Xã, thị trấn | Cơ quan, ban, ngành, đoàn thể |" in text
    assert "| Phải báo cáo | 45 | 24 | 21 |" in text
    assert "| Đã gửi | 44 | 24 | 20 |" in text
    assert "| Hợp lệ (không có lỗi) | 42 | 22 | 20 |" in text
    late = query(
        warehouse, "select count(*) from mart_submission_status where status = 'accepted' and not on_time"
    ).iloc[0, 0]
    assert f"| Nộp muộn | {late} |" in text
    assert "| Chưa gửi | 1 | 0 | 1 |" in text
    assert f"Chưa có báo cáo được tiếp nhận: {planted.missing_name} (chưa gửi)." in text
    top = query(
        warehouse,
        """
        select i.rule_id, count(*) as n from validation_issue i join submission s using (file_sha256)
        where s.is_current or s.status = 'rejected' group by i.rule_id order by n desc, i.rule_id limit 10
        """,
    )
    problem_rows = [line for line in text.splitlines() if line.startswith("| ") and " | R" in line]
    assert [line.split(" | ")[1] for line in problem_rows] == list(top["rule_id"])
    assert [int(line.split(" | ")[4]) for line in problem_rows] == list(top["n"])
    proposed = query(warehouse, "select unit_name, rank from mart_award_collective where proposed order by rank")
    for unit in proposed.itertuples():
        assert f"- Hạng {unit.rank}: {md(unit.unit_name)} (" in text
    people = query(warehouse, "select full_name from mart_award_individual where proposed order by rank")
    for name in people["full_name"]:
        assert md(name) in text
    assert HYPERLINK not in text  # a unit's text cannot become a link in the UI


@pytest.mark.slow
def test_the_status_table_is_mart_submission_status(run):
    warehouse, _, artifacts = run
    rows = table(artifacts[STATUS_KEY])
    mart = query(warehouse, "select * from mart_submission_status")
    assert len(rows) == len(mart) == 45
    by_code = {r["Mã đơn vị"]: r for r in rows}
    for unit in mart.itertuples():
        row = by_code[unit.unit_code]
        assert row["Tên đơn vị"] == unit.unit_name
        assert (
            row["Tình trạng"]
            == {"accepted": "Đã tiếp nhận", "rejected": "Không tiếp nhận được", "missing": "Chưa gửi"}[unit.status]
        )
        assert row["Số lỗi"] == unit.error_count and row["Số cảnh báo"] == unit.warning_count
        if unit.status != "missing":
            assert row["Mức đầy đủ"] == pytest.approx(unit.completeness)
            assert row["Ngày nhận"] == f"{unit.received_at:%d/%m/%Y %H:%M}"
    # the units that need attention come first
    assert rows[0]["Tình trạng"] != "Đã tiếp nhận" or rows[0]["Số lỗi"] > 0 or rows[0]["Đúng hạn"] == "Muộn"


@pytest.mark.slow
def test_the_proposal_table_is_the_award_marts(run):
    warehouse, _, artifacts = run
    rows = table(artifacts[PROPOSAL_KEY])
    collective = query(warehouse, "select * from mart_award_collective order by rank limit 10")
    individual = query(warehouse, "select * from mart_award_individual order by rank limit 10")
    assert [r["Mã đơn vị"] for r in rows if r["Loại"] == "Tập thể"] == list(collective["unit_code"])
    assert [r["Tên"] for r in rows if r["Loại"] == "Cá nhân"] == list(individual["full_name"])
    assert [r["Điểm"] for r in rows if r["Loại"] == "Tập thể"] == pytest.approx(list(collective["score"]))
    proposed = [r["Tên"] for r in rows if r["Đề xuất"] == "Đề xuất"]
    assert proposed == [
        *collective[collective["proposed"]]["unit_name"],
        *individual[individual["proposed"]]["full_name"],
    ]


@pytest.mark.slow
def test_a_second_run_adds_to_each_keys_history(run, outputs_run, tmp_path):
    from flows.tongket_flow import tongket_run
    from tongket.run_parameters import RunParameters

    work, planted, first_flow_run, _ = outputs_run
    shutil.copyfile(work / "tongket.duckdb", tmp_path / "tongket.duckdb")  # the shared run stays as it is
    params = RunParameters(
        inbox=str(planted.sample / "inbox"),
        registry=str(planted.sample / "registry.csv"),
        warehouse=str(tmp_path / "tongket.duckdb"),
        outputs=str(tmp_path / "outputs"),
        rebuild_marts_only=True,
    )
    second = tongket_run(params, return_state=True).state_details.flow_run_id
    history = read_artifacts(key=ArtifactFilterKey(any_=[SUMMARY_KEY]))
    runs = {a.flow_run_id for a in history}
    assert {first_flow_run, second} <= runs
    latest = [a for a in read_artifacts(key=ArtifactFilterKey(any_=list(ARTIFACT_KEYS))) if a.flow_run_id == second]
    assert {a.key for a in latest} == set(ARTIFACT_KEYS)


def test_markdown_escaping_keeps_unit_text_inert():
    assert md(HYPERLINK) == '=HYPERLINK\\("http\\://x","y"\\)'
    assert md("[bấm](https://x.vn) <b> | # *") == "\\[bấm\\]\\(https\\://x.vn\\) \\<b\\> \\| \\# \\*"
    assert md(None) == ""
