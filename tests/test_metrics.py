"""District metrics from hand-computed fixtures: stocks, flows, statuses, rates, annualisation."""

from __future__ import annotations

import pytest

from tests.builders import UnitRows, build_warehouse, rows

YEARS = (2017, 2018, 2019, 2020, 2021)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    c1 = UnitRows("C1", "commune", population=2000)
    c2 = UnitRows("C2", "commune", population=3000)
    a1 = UnitRows("A1", "agency")
    # Bookcases (a stock): C1 3,3,4,4,5; C2 stops reporting after 2019; A1 keeps one.
    c1.figures.update({("TSPL", y): v for y, v in zip(YEARS, (3, 3, 4, 4, 5))})
    c2.figures.update({("TSPL", y): v for y, v in zip(YEARS, (2, 2, 2, None, None))})
    a1.figures.update({("TSPL", y): 1 for y in YEARS})
    # Attendances and sessions (flows).
    c1.figures.update({("PB_LUOT", y): v for y, v in zip(YEARS, (700, 1200, 100, 1200, 500))})
    c1.figures.update({("PB_CUOC", y): v for y, v in zip(YEARS, (7, 12, 1, 12, 5))})
    c2.figures.update({("PB_LUOT", y): v for y, v in zip(YEARS, (350, 600, 1000, 600, 250))})
    c2.figures.update({("PB_CUOC", y): v for y, v in zip(YEARS, (7, 12, 100, 6, 5))})
    a1.figures.update({("PB_LUOT", y): v for y, v in zip(YEARS, (70, 120, 120, 120, 50))})
    a1.figures.update({("PB_CUOC", y): v for y, v in zip(YEARS, (1, 2, 2, 2, 1))})
    # Ethnic-minority attendances, in 2019 only and not by the agency.
    c1.figures[("PB_LUOT_DTTS", 2019)] = 60
    c2.figures[("PB_LUOT_DTTS", 2019)] = 400
    # Legal access standard (a status): met per year.
    c1.figures.update({("CT_DAT", y): v for y, v in zip(YEARS, (0, 1, 1, 1, None))})
    c2.figures.update({("CT_DAT", y): v for y, v in zip(YEARS, (0, 0, 1, 0, None))})
    c1.figures.update({("CT_DIEM", y): v for y, v in zip(YEARS, (70, 82, 85, 90, None))})
    c2.figures.update({("CT_DIEM", y): v for y, v in zip(YEARS, (60, 70, 81, 75, None))})
    # Mediation in 2019 only: C1 settles 8 of 10 closed (12 received, 2 pending); C2 9 of 10.
    c1.figures.update(
        {
            ("HG_VV_TIEPNHAN", 2019): 12,
            ("HG_VV_THANH", 2019): 8,
            ("HG_VV_KHONGTHANH", 2019): 2,
            ("HG_VV_DANGGQ", 2019): 2,
        }
    )
    c2.figures.update(
        {
            ("HG_VV_TIEPNHAN", 2019): 10,
            ("HG_VV_THANH", 2019): 9,
            ("HG_VV_KHONGTHANH", 2019): 1,
            ("HG_VV_DANGGQ", 2019): 0,
        }
    )
    missing = UnitRows("C3", "commune", population=1000, sends_report=False)
    con = build_warehouse(tmp_path_factory.mktemp("metrics") / "w.duckdb", [c1, c2, a1, missing])
    yield con
    con.close()


def district(con, code, period, unit_type="all"):
    found = rows(
        con,
        "select value from mart_district_indicator where indicator_code = ? and period = ? and unit_type = ?",
        [code, period, unit_type],
    )
    return found[0][0] if found else None


def rate(con, code, period, unit_type="all"):
    return rows(
        con,
        "select numerator, denominator, value from mart_district_rate where rate_code = ? and period = ? and unit_type = ?",
        [code, period, unit_type],
    )[0]


def test_a_stock_over_the_window_is_the_last_reported_value_not_a_sum(warehouse):
    # C1: 5 (2021); C2: 2 (its last report, 2019); A1: 1  ->  8, not 3+3+4+4+5+2+2+2+5*1 = 30
    assert district(warehouse, "TSPL", 0) == 8
    assert district(warehouse, "TSPL", 0, "commune") == 7
    assert district(warehouse, "TSPL", 2021) == 6  # C2 did not report 2021
    unit = rows(
        warehouse, "select value from mart_unit_indicator where unit_code='C2' and indicator_code='TSPL' and period=0"
    )
    assert unit == [(2.0,)]


def test_a_flow_over_the_window_is_the_sum_of_its_periods(warehouse):
    # C1 700+1200+100+1200+500 = 3700; C2 2800; A1 480
    assert district(warehouse, "PB_LUOT", 0) == 3700 + 2800 + 480
    assert district(warehouse, "PB_LUOT", 0, "agency") == 480


def test_a_status_counts_the_units_meeting_it_per_year_and_has_no_window(warehouse):
    assert [district(warehouse, "CT_DAT", y) for y in (2017, 2018, 2019, 2020)] == [0, 1, 2, 1]
    assert district(warehouse, "CT_DAT", 0) is None
    assert district(warehouse, "CT_DIEM", 2019) == pytest.approx((85 + 81) / 2)
    # Share of communes meeting it: 2 of 2 assessed in 2019.
    assert rate(warehouse, "legal_access_share", 2019, "commune") == (2, 2, 1.0)


def test_a_rate_is_a_ratio_of_sums_not_a_mean_of_unit_ratios(warehouse):
    # 2019: C1 100 people / 1 session; C2 1000 / 100  ->  1100 / 101 = 10.89 (the mean of ratios would be 55)
    numerator, denominator, value = rate(warehouse, "attendances_per_session", 2019, "commune")
    assert (numerator, denominator) == (1100, 101)
    assert value == pytest.approx(1100 / 101)


def test_attendances_per_1000_population_are_annualised_for_partial_years(warehouse):
    # 2017 has 7 months: communes' 700 + 350 = 1050 -> 1800 a full year, over 5000 people -> 360 per 1000.
    numerator, denominator, value = rate(warehouse, "attendances_per_1000_population_year", 2017, "commune")
    assert numerator == pytest.approx(1800)
    assert denominator == 5000
    assert value == pytest.approx(360)
    # District-wide: agencies' 70 too (-> 1920 a year) over the whole district's population,
    # C3 included though it did not report (6000 people).
    assert rate(warehouse, "attendances_per_1000_population_year", 2017, "all")[2] == pytest.approx(1920 / 6000 * 1000)
    # The window's 4 years: C1 3700 / 4 / 2000 people -> 462.5 per 1000 a year.
    c1 = rows(warehouse, "select reach_measure from award_collective_component where unit_code = 'C1'")[0][0]
    assert c1 == pytest.approx(462.5)


def test_2021_is_annualised_from_its_five_months(warehouse):
    # 2021 has 5 months: communes' 500 + 250 = 750 -> 1800 a full year, over 5000 people -> 360 per 1000.
    assert rate(warehouse, "attendances_per_1000_population_year", 2021, "commune") == pytest.approx((1800, 5000, 360))


def test_ethnic_minority_share_counts_only_units_that_reported_it(warehouse):
    # 2019: (60 + 400) ethnic-minority attendances of (100 + 1000); the agency's 120 attendances
    # are left out of the denominator, it did not say how many were ethnic-minority people.
    assert rate(warehouse, "ethnic_minority_share", 2019, "all") == pytest.approx((460, 1100, 460 / 1100))
    assert rate(warehouse, "ethnic_minority_share", 2019, "commune") == pytest.approx((460, 1100, 460 / 1100))
    assert rows(
        warehouse, "select count(*) from mart_district_rate where rate_code = 'ethnic_minority_share' and period = 2018"
    ) == [(0,)]


def test_settlement_rate_is_settled_over_received_minus_pending(warehouse):
    # (8 + 9) / ((12 - 2) + (10 - 0)) = 17 / 20
    assert rate(warehouse, "mediation_settlement_rate", 2019, "commune") == (17, 20, 0.85)


def test_change_2018_2020_of_a_main_flow(warehouse):
    # sessions 2018: 12 + 12 + 2 = 26; 2020: 12 + 6 + 2 = 20 -> 20 / 26 - 1 = -23.1 %
    numerator, denominator, value = rate(warehouse, "change_2018_2020_pb_cuoc", 2020, "all")
    assert (numerator, denominator) == (20, 26)
    assert value == pytest.approx(20 / 26 - 1)


def test_submission_status_lists_units_that_sent_nothing(warehouse):
    status = dict(rows(warehouse, "select unit_code, status from mart_submission_status"))
    assert status == {"C1": "accepted", "C2": "accepted", "A1": "accepted", "C3": "missing"}


def test_completeness_is_the_share_of_required_figures_reported(warehouse):
    # A1 (agency) must report the 13 indicators of 01_PBGDPL that agencies report, 5 years each;
    # it reported TSPL, PB_LUOT and PB_CUOC for all 5 years: 15 of 65.
    required = rows(warehouse, "select count(*) from dim_indicator where reported_by in ('all', 'agency')")[0][0]
    completeness = rows(warehouse, "select completeness from mart_submission_status where unit_code = 'A1'")[0][0]
    assert completeness == pytest.approx(round(15 / (required * 5), 4))


def test_outliers_against_the_type_median_and_the_previous_year(tmp_path):
    units = [UnitRows(f"C{n}", "commune", population=1000) for n in range(1, 6)]
    for unit, value in zip(units, (10, 10, 12, 100, 11)):
        unit.figures[("TIN_BAI", 2019)] = value
    # C5 jumps from 10 (2018) to 11 (2019)? no: from 2 to 11 is below the base of 10; C3 jumps 10 -> 12.
    units[4].figures[("TIN_BAI", 2018)] = 2
    # C1: 2020 far above 2019 (10 -> 60, six times, base 10).
    units[0].figures[("TIN_BAI", 2020)] = 60
    # 2017 has 7 months: 7 in 2017 is 12 a full year, no jump to 2018's 12.
    units[1].figures[("TIN_BAI", 2017)] = 7
    units[1].figures[("TIN_BAI", 2018)] = 12
    con = build_warehouse(tmp_path / "w.duckdb", units)
    found = rows(
        con,
        "select unit_code, period, value, type_median, is_above_median, is_jump from fact_outlier order by unit_code, period",
    )
    # 2019 median of 10, 10, 11, 12, 100 is 11: 100 > 55. 2020: C1 alone (median 60) but 6x its 2019.
    assert found == [("C1", 2020, 60.0, 60.0, False, True), ("C4", 2019, 100.0, 11.0, True, False)]
    messages = [
        r[0] for r in rows(con, "select message from validation_issue where rule_id = 'R13' order by unit_code")
    ]
    assert messages == [
        "Số liệu bất thường so với các đơn vị cùng loại hoặc năm trước: TIN_BAI (Số tin bài trên trang thông tin "
        "điện tử và báo chí), 2020: 60 tăng 6 lần so với năm trước (10)",
        "Số liệu bất thường so với các đơn vị cùng loại hoặc năm trước: TIN_BAI (Số tin bài trên trang thông tin "
        "điện tử và báo chí), 2019: 100 gấp 9,1 lần trung vị của đơn vị cùng loại (11)",
    ]
    con.close()
