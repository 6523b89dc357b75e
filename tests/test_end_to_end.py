"""The whole run on a real district's demo inbox: exact figures in, exact totals out."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import query, run_flow, table_contents
from tongket.cli import app
from tongket.reference import indicators

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sampled(tmp_path_factory):
    """`tongket sample` for the demo district, through the CLI."""
    out = tmp_path_factory.mktemp("sample")
    result = CliRunner().invoke(app, ["sample", "--district", "157", "--out", str(out), "--seed", "11"])
    assert result.exit_code == 0, result.output
    assert "Huyện Lạc Sơn" in result.output
    return out


@pytest.fixture(scope="module")
def first_run(sampled, tmp_path_factory, prefect_server):
    work = tmp_path_factory.mktemp("run")
    result = run_flow(sampled, work)
    return work, result


def expected_figures(sample) -> pd.DataFrame:
    frame = pd.read_csv(sample / "expected_figures.csv", dtype={"unit_code": str})
    return frame


def test_fact_indicator_holds_exactly_what_the_units_wrote(sampled, first_run):
    work, result = first_run
    assert result.published
    expected = expected_figures(sampled)
    loaded = query(work / "tongket.duckdb", "select unit_code, indicator_code, period, value from fact_indicator")
    merged = expected.merge(loaded, on=["unit_code", "indicator_code", "period"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()
    both_null = merged["value_x"].isna() & merged["value_y"].isna()
    assert ((merged["value_x"] - merged["value_y"]).abs().lt(1e-9) | both_null).all()
    assert len(loaded) == len(expected) == 4350


def _district_totals(expected: pd.DataFrame, registry: pd.DataFrame) -> dict[tuple[str, int, str], float]:
    """District totals computed independently from the generator's figures."""
    catalogue = indicators()
    data = expected.merge(registry[["unit_code", "unit_type"]], on="unit_code")
    totals: dict[tuple[str, int, str], float] = {}
    for (code, unit_type), part in data.groupby(["indicator_code", "unit_type"]):
        kind = catalogue[code].kind
        for group in (unit_type, "all"):
            for period, year_part in part.groupby("period"):
                values = year_part["value"].dropna()
                if values.empty:
                    continue
                value = (values == 1).sum() if catalogue[code].value_type == "flag" else values.sum()
                if kind == "status" and catalogue[code].value_type != "flag":
                    continue
                totals[(code, period, group)] = totals.get((code, period, group), 0) + value
            if kind == "flow":
                window = part["value"].sum()
            elif kind == "stock":
                window = part.dropna(subset=["value"]).sort_values("period").groupby("unit_code")["value"].last().sum()
            else:
                continue
            totals[(code, 0, group)] = totals.get((code, 0, group), 0) + window
    return totals


def test_district_totals_aggregate_by_kind(sampled, first_run):
    work, _ = first_run
    registry = pd.read_csv(sampled / "registry.csv", dtype={"unit_code": str})
    totals = _district_totals(expected_figures(sampled), registry)
    mart = query(
        work / "tongket.duckdb", "select indicator_code, period, unit_type, value from mart_district_indicator"
    )
    got = {(r.indicator_code, r.period, r.unit_type): r.value for r in mart.itertuples()}
    for key, value in totals.items():
        assert got[key] == pytest.approx(value), key
    # A stock's window value is the last year's, never the sum of the years.
    tspl_years = sum(got[("TSPL", year, "all")] for year in range(2017, 2022))
    assert got[("TSPL", 0, "all")] == pytest.approx(got[("TSPL", 2021, "all")])
    assert got[("TSPL", 0, "all")] < tspl_years
    # A flow's window value is the sum of the years.
    assert got[("PB_LUOT", 0, "all")] == pytest.approx(sum(got[("PB_LUOT", y, "all")] for y in range(2017, 2022)))


def test_every_unit_is_accepted_and_the_report_is_written(first_run):
    work, result = first_run
    status = query(work / "tongket.duckdb", "select status, count(*) as n from mart_submission_status group by status")
    assert dict(zip(status["status"], status["n"])) == {"accepted": 45}
    assert (work / "outputs" / "latest").is_dir()
    assert any((work / "outputs" / "latest").glob("*.xlsx"))


def test_the_warehouse_records_its_schema_version_and_run(first_run):
    work, result = first_run
    meta = query(work / "tongket.duckdb", "select key, value from meta_warehouse")
    meta = dict(zip(meta["key"], meta["value"]))
    assert meta["schema_version"] == "1"
    assert meta["run_id"] == result.run_id


def test_an_unchanged_inbox_is_not_rebuilt(sampled, first_run):
    work, first = first_run
    warehouse = work / "tongket.duckdb"
    before = warehouse.read_bytes()
    again = run_flow(sampled, work)
    assert not again.published
    assert again.note == (
        f"Nothing changed since run {first.run_id}: the published warehouse and its outputs are current."
    )
    assert warehouse.read_bytes() == before


def test_rebuilding_from_the_same_files_gives_identical_tables(sampled, first_run, tmp_path):
    work, _ = first_run
    before = table_contents(work / "tongket.duckdb")
    assert run_flow(sampled, work, force=True).published  # every file read again, everything rebuilt
    after = table_contents(work / "tongket.duckdb")
    assert before.keys() == after.keys()
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name], check_dtype=True, obj=name)
