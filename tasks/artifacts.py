"""The run summary the Prefect UI shows: a markdown artifact and two table artifacts.

Every number is read from the published warehouse's marts. Each artifact has a stable key, so
the UI lists the same artifact across runs and shows its history.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb

from tasks.reports import STATUS_SUMMARY_COLUMNS, STATUS_VI, UNIT_TYPE_VI, read_run_facts, status_summary, vi_int

# Artifact keys: lowercase letters, digits and dashes only (Prefect's rule).
SUMMARY_KEY = "tongket-run-summary"
STATUS_KEY = "tongket-submission-status"
PROPOSAL_KEY = "tongket-award-proposal"
ARTIFACT_KEYS = (SUMMARY_KEY, STATUS_KEY, PROPOSAL_KEY)
KEY_PATTERN = re.compile(r"^[a-z0-9-]+$")

TOP_PROBLEMS = 10
MAX_STATUS_ROWS = 1000  # a table artifact of a national run keeps the units that need attention
MAX_NAMES = 20
RANKED_IN_PROPOSAL = 10


@dataclass
class RunSummary:
    """What the run tells the UI: the markdown summary and the rows of the two tables."""

    markdown: str
    status_rows: list[dict[str, Any]] = field(default_factory=list)
    status_description: str = ""
    proposal_rows: list[dict[str, Any]] = field(default_factory=list)
    proposal_description: str = ""


# Markdown punctuation, and ':' so that no URL a unit typed is turned into a link.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~:])")


def md(text: Any) -> str:
    """Text (a unit's name, a reason) made inert in markdown: no links, no HTML, no table breaks."""
    if text is None:
        return ""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _json_value(value: Any) -> Any:
    """A cell value the Prefect API can store as JSON."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.datetime):
        return f"{value:%d/%m/%Y %H:%M}"
    if isinstance(value, dt.date):
        return f"{value:%d/%m/%Y}"
    return value


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%".replace(".", ",")


def _score(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}".replace(".", ",")


def top_problems(con: duckdb.DuckDBPyConnection, limit: int = TOP_PROBLEMS) -> list[tuple]:
    """(rule, severity, message, occurrences, units) of the files that count now, most frequent first."""
    return con.execute(
        """
        select i.rule_id, r.severity, r.message_vi, count(*) as occurrences,
               count(distinct coalesce(i.unit_code, i.file_sha256)) as units
        from validation_issue i
        join submission s using (file_sha256)
        join dim_rule r using (rule_id)
        where s.is_current or s.status = 'rejected'
        group by i.rule_id, r.severity, r.message_vi
        order by occurrences desc, i.rule_id
        limit ?
        """,
        [limit],
    ).fetchall()


def build_run_summary(warehouse: Path, files: dict[str, Any] | None = None) -> RunSummary:
    """Read the published warehouse and compose the run summary."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        facts = read_run_facts(con)
        summary = status_summary(con)
        problems = top_problems(con)
        missing = con.execute(
            """
            select unit_name, status from mart_submission_status where status <> 'accepted'
            order by status, unit_type desc, unit_code limit ?
            """,
            [MAX_NAMES],
        ).fetchall()
        collectives = con.execute(
            """
            select rank, unit_code, unit_name, unit_type, score, proposed, stability, reason_vi
            from mart_award_collective order by rank limit ?
            """,
            [RANKED_IN_PROPOSAL],
        ).fetchall()
        individuals = con.execute(
            """
            select rank, full_name, gender, unit_code, unit_name, score, proposed, stability, reason_vi
            from mart_award_individual order by rank limit ?
            """,
            [RANKED_IN_PROPOSAL],
        ).fetchall()
        units = con.execute("select count(*) from mart_submission_status").fetchone()[0]
        status_rows, status_description = _status_table(con, units)

    lines = [
        f"# Tổng kết PBGDPL 2017-2021: {md(facts.district)}",
        "",
        f"Lần chạy `{facts.run_id}`, dữ liệu lập lúc {facts.built_at:%H:%M} ngày {facts.built_at:%d/%m/%Y}. "
        f"Thời kỳ số liệu: {facts.period_text}.",
        "",
        "## Tình hình gửi báo cáo",
        "",
        "| | " + " | ".join(UNIT_TYPE_VI.get(g, "Toàn huyện") for g, *_ in summary) + " |",
        "|---|" + "---:|" * len(summary),
    ]
    for i, (_, label, _) in enumerate(STATUS_SUMMARY_COLUMNS, start=1):
        lines.append(f"| {label} | " + " | ".join(vi_int(row[i]) for row in summary) + " |")
    if missing:
        names = "; ".join(f"{md(name)} ({STATUS_VI[status].lower()})" for name, status in missing)
        extra = facts.not_accepted_count - len(missing)
        lines += [
            "",
            f"Chưa có báo cáo được tiếp nhận: {names}" + (f" và {vi_int(extra)} đơn vị khác." if extra > 0 else "."),
        ]
    lines += ["", "## Mười lỗi gặp nhiều nhất", ""]
    if problems:
        lines += ["| # | Quy tắc | Mức độ | Nội dung | Số lần | Số đơn vị |", "|---:|---|---|---|---:|---:|"]
        for n, (rule, severity, message, occurrences, unit_count) in enumerate(problems, start=1):
            level = "Lỗi" if severity == "error" else "Cảnh báo"
            lines.append(f"| {n} | {rule} | {level} | {md(message)} | {vi_int(occurrences)} | {vi_int(unit_count)} |")
    else:
        lines.append("Không có lỗi hay cảnh báo nào.")
    lines += ["", "## Đề xuất khen thưởng (để Chủ tịch UBND huyện xem xét)", ""]
    proposed_collectives = [c for c in collectives if c[5]]
    proposed_individuals = [p for p in individuals if p[6]]
    lines.append("**Tập thể**")
    lines.append("")
    for rank, _, name, unit_type, score, _, stability, reason in proposed_collectives:
        lines.append(
            f"- Hạng {rank}: {md(name)} ({UNIT_TYPE_VI.get(unit_type, unit_type).lower()}), {_score(score)} điểm, "
            f"giữ vị trí đề xuất {_pct(stability)} số lần khi trọng số thay đổi. {md(reason)}"
        )
    if not proposed_collectives:
        lines.append("- Chưa có tập thể đủ điều kiện.")
    lines += ["", "**Cá nhân**", ""]
    for rank, full_name, _, _, unit_name, score, _, stability, reason in proposed_individuals:
        lines.append(
            f"- Hạng {rank}: {md(full_name)} ({md(unit_name)}), {_score(score)} điểm, "
            f"giữ vị trí đề xuất {_pct(stability)} số lần khi trọng số thay đổi. {md(reason)}"
        )
    if not proposed_individuals:
        lines.append("- Chưa có cá nhân đủ điều kiện.")
    if files:
        lines += ["", "## Tệp kết quả", ""]
        lines += [f"- {md(label)}: `{value}`" for label, value in files.items()]

    proposal_rows = [
        {
            "Loại": "Tập thể",
            "Hạng": rank,
            "Đề xuất": "Đề xuất" if proposed else "",
            "Tên": name,
            "Đơn vị": name,
            "Mã đơn vị": code,
            "Điểm": _json_value(score),
            "Tỷ lệ giữ vị trí": _json_value(stability),
            "Lý do": reason,
        }
        for rank, code, name, unit_type, score, proposed, stability, reason in collectives
    ] + [
        {
            "Loại": "Cá nhân",
            "Hạng": rank,
            "Đề xuất": "Đề xuất" if proposed else "",
            "Tên": full_name,
            "Đơn vị": unit_name,
            "Mã đơn vị": code,
            "Điểm": _json_value(score),
            "Tỷ lệ giữ vị trí": _json_value(stability),
            "Lý do": reason,
        }
        for rank, full_name, _, code, unit_name, score, proposed, stability, reason in individuals
    ]
    return RunSummary(
        markdown="\n".join(lines) + "\n",
        status_rows=status_rows,
        status_description=status_description,
        proposal_rows=proposal_rows,
        proposal_description=(
            f"Đề xuất khen thưởng, lần chạy {facts.run_id}: {RANKED_IN_PROPOSAL} tập thể và "
            f"{RANKED_IN_PROPOSAL} cá nhân xếp hạng đầu; cột Đề xuất đánh dấu những người được đề xuất."
        ),
    )


def _status_table(con: duckdb.DuckDBPyConnection, units: int) -> tuple[list[dict[str, Any]], str]:
    """One row per unit (or, beyond MAX_STATUS_ROWS, the units that need attention first)."""
    rows = con.execute(
        """
        select unit_code, unit_name, unit_type, status, on_time, completeness, error_count, warning_count,
               file_name, received_at
        from mart_submission_status
        order by
            case when status = 'accepted' and not has_errors and on_time then 1 else 0 end,
            unit_type desc, unit_code
        limit ?
        """,
        [MAX_STATUS_ROWS],
    ).fetchall()
    table = [
        {
            "Mã đơn vị": code,
            "Tên đơn vị": name,
            "Loại": UNIT_TYPE_VI.get(unit_type, unit_type),
            "Tình trạng": STATUS_VI.get(status, status),
            "Đúng hạn": "" if on_time is None else ("Đúng hạn" if on_time else "Muộn"),
            "Mức đầy đủ": _json_value(completeness),
            "Số lỗi": errors,
            "Số cảnh báo": warns,
            "Tệp": file_name,
            "Ngày nhận": _json_value(received_at),
        }
        for code, name, unit_type, status, on_time, completeness, errors, warns, file_name, received_at in rows
    ]
    if units > len(table):
        description = (
            f"Tình hình gửi báo cáo: {vi_int(len(table))} trên {vi_int(units)} đơn vị (những đơn vị cần chú ý "
            "trước); đủ danh sách trong sheet Tình hình gửi báo cáo của tệp báo cáo."
        )
    else:
        description = f"Tình hình gửi báo cáo của {vi_int(units)} đơn vị (đơn vị cần chú ý xếp trước)."
    return table, description


def publish_run_summary(summary: RunSummary) -> dict[str, UUID]:
    """Create the three artifacts in the current flow run; returns their ids by key."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    return {
        SUMMARY_KEY: create_markdown_artifact(
            summary.markdown, key=SUMMARY_KEY, description="Tóm tắt lần chạy tổng kết PBGDPL"
        ),
        STATUS_KEY: create_table_artifact(summary.status_rows, key=STATUS_KEY, description=summary.status_description),
        PROPOSAL_KEY: create_table_artifact(
            summary.proposal_rows, key=PROPOSAL_KEY, description=summary.proposal_description
        ),
    }
