"""The whole flow on a `tongket sample --messy` inbox: every figure the generator says a
correct pipeline loads is in fact_indicator, exactly, and every issue it planted is in
validation_issue, with nothing else of the rules a file decides alone."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import query, run_flow
from tongket.cli import app

pytestmark = pytest.mark.slow

# Rules whose every occurrence the generator knows; R13 may also flag real peaks of the
# clean figures, so for it only the planted outliers are required.
EXACT_RULES = {f"R{n:02d}" for n in range(1, 21)} - {"R13"}


@pytest.fixture(scope="module")
def messy_sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("messy")
    result = CliRunner().invoke(app, ["sample", "--district", "157", "--out", str(out), "--seed", "5", "--messy"])
    assert result.exit_code == 0, result.output
    assert "Messy:" in result.output
    return out


@pytest.fixture(scope="module")
def messy_run(messy_sample, tmp_path_factory, prefect_server):
    work = tmp_path_factory.mktemp("messy-run")
    result = run_flow(messy_sample, work)
    return work / "tongket.duckdb", result


def test_the_run_completes_and_publishes(messy_run):
    _, result = messy_run
    assert result.published


def test_fact_indicator_holds_exactly_the_expected_figures(messy_sample, messy_run):
    warehouse, _ = messy_run
    expected = pd.read_csv(messy_sample / "expected_figures.csv", dtype={"unit_code": str})
    loaded = query(warehouse, "select unit_code, indicator_code, period, value, value_status from fact_indicator")
    merged = expected.merge(loaded, on=["unit_code", "indicator_code", "period"], how="outer", indicator=True)
    assert merged["_merge"].eq("both").all(), merged[merged["_merge"] != "both"].head(20)
    both_null = merged["value_x"].isna() & merged["value_y"].isna()
    same = (merged["value_x"] - merged["value_y"]).abs().lt(1e-9) | both_null
    assert same.all(), merged[~same].head(20)
    # Rejected figures are in the grid without a value, never with one.
    assert loaded.loc[loaded["value_status"] == "rejected", "value"].isna().all()
    # R01 x2, R02 x2, R03 x2, R04 x2, R05 x2, R06 x4, R07 x2, R09 x1 and R14 x2 planted.
    assert (loaded["value_status"] == "rejected").sum() == 19


def test_every_planted_issue_is_raised_and_nothing_else(messy_sample, messy_run):
    warehouse, _ = messy_run
    expected = pd.read_csv(messy_sample / "expected_issues.csv", dtype=str, keep_default_na=False)
    raised = query(warehouse, "select file_name, sheet, cell, rule_id from validation_issue").fillna("")
    want = Counter(map(tuple, expected.to_numpy()))
    got = Counter(map(tuple, raised.to_numpy()))
    assert not (want - got), sorted(want - got)
    exact_got = Counter({k: v for k, v in got.items() if k[3] in EXACT_RULES})
    exact_want = Counter({k: v for k, v in want.items() if k[3] in EXACT_RULES})
    assert not (exact_got - exact_want), sorted(exact_got - exact_want)
    assert {rule for *_, rule in want} == {f"R{n:02d}" for n in range(1, 21)}


def test_submission_status_of_corrections_and_rejected_files(messy_sample, messy_run):
    warehouse, _ = messy_run
    status = query(warehouse, "select file_name, unit_code, status from submission")
    by_name = dict(zip(status["file_name"], status["status"]))
    corrections = [n for n in by_name if n.endswith("bản sửa lại.xlsx")]
    assert len(corrections) == 2
    for name in corrections:
        assert by_name[name] == "accepted"
        assert by_name[name.replace(" - bản sửa lại", "")] == "superseded"
    rejected = {n for n, s in by_name.items() if s == "rejected"}
    expected = pd.read_csv(messy_sample / "expected_issues.csv", dtype=str, keep_default_na=False)
    file_level = set(expected.loc[expected["rule_id"].isin(["R15", "R16"]), "file_name"])
    assert rejected == file_level
    assert len(rejected) == 8


def test_the_same_seed_writes_the_same_files(tmp_path):
    """Byte for byte, with the same arrival times: a regenerated sample is seen as unchanged.
    The encrypted file alone differs (its encryption salt is random by design). Each sample is
    written by its own `tongket sample` process, as the office would (within one process odfpy
    orders an .ods's namespace declarations by what it saw before)."""
    import hashlib
    import subprocess
    import sys

    def sample(out, seed):
        command = [sys.executable, "-m", "tongket.cli", "sample", "--district", "157", "--out", str(out)]
        subprocess.run([*command, "--seed", str(seed), "--messy"], check=True, capture_output=True)
        return {  # name -> (SHA-256, arrival time for the inbox's files)
            p.relative_to(out).as_posix(): (
                hashlib.sha256(p.read_bytes()).hexdigest(),
                p.stat().st_mtime_ns if p.parent.name == "inbox" else None,
            )
            for p in sorted(out.rglob("*"))
            if p.is_file()
        }

    first, second = sample(tmp_path / "a", 9), sample(tmp_path / "b", 9)
    assert first.keys() == second.keys()
    differing = sorted(name for name in first if first[name] != second[name])
    assert differing == ["inbox/baocao_157-CQ15 (mat khau).xlsx"]
    assert first["inbox/baocao_157-CQ15 (mat khau).xlsx"][1] == second["inbox/baocao_157-CQ15 (mat khau).xlsx"][1]
    assert first["expected_figures.csv"] != sample(tmp_path / "c", 10)["expected_figures.csv"]  # other figures
