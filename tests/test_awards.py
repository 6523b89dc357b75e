"""The award proposal from hand-computed fixtures: components, weights, tie-breaks, limits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.awards import score_collectives, score_individuals
from tests.builders import UnitRows, build_warehouse, rows, rubric_with
from tongket.errors import ConfigError
from tongket.rubric import load_rubric

COMPONENTS = ("reporting", "reach", "breadth", "mediation", "legal_access", "good_models")


def collective_frame(*units: dict) -> pd.DataFrame:
    """Component rows as award_collective_component holds them (measures only matter for reasons)."""
    base = {
        "unit_name": "",
        "is_eligible": True,
        "ineligible_reason_vi": None,
        "on_time": True,
        "completeness": 1.0,
        "reach_measure": 100.0,
        "activity_kinds": 7,
        "cases_settled": 0,
        "cases_closed": 0,
        "years_met": 0,
        "latest_score": 0.0,
        "good_model_count": 0,
        "has_replicated_model": False,
        **dict.fromkeys(COMPONENTS, 0.0),
    }
    frame = pd.DataFrame([base | {"unit_name": u["unit_code"]} | u for u in units])
    frame.loc[frame["unit_type"] == "agency", ["mediation", "legal_access"]] = np.nan
    return frame


def person(name: str, unit: str, **scores) -> dict:
    return {
        "full_name": name,
        "unit_code": unit,
        "unit_name": unit,
        "unit_type": "commune",
        "gender": "Nam",
        "position": "",
        "is_eligible": True,
        "ineligible_reason_vi": None,
        "sessions": 0,
        "materials": 0,
        "cases_settled": 0,
        "years": 0,
        "sessions_score": 0.0,
        "materials_score": 0.0,
        "mediation_score": 0.0,
        "years_score": 0.0,
    } | scores


# --- components, computed in SQL -----------------------------------------------------------
@pytest.fixture(scope="module")
def mediation_warehouse(tmp_path_factory):
    def commune(code, received, settled, not_settled, pending):
        unit = UnitRows(code, "commune", population=1000)
        unit.figures.update(
            {
                ("HG_VV_TIEPNHAN", 2019): received,
                ("HG_VV_THANH", 2019): settled,
                ("HG_VV_KHONGTHANH", 2019): not_settled,
                ("HG_VV_DANGGQ", 2019): pending,
            }
        )
        return unit

    units = [
        commune("X", 1, 1, 0, 0),  # 1 of 1 settled
        commune("Y", 50, 45, 5, 0),  # 45 of 50
        commune("Z", 55, 30, 20, 5),  # 30 of 50 closed
        UnitRows("E", "commune", population=1000, has_error=True),
        UnitRows("M", "commune", population=1000, sends_report=False),
    ]
    units[0].nominations = [{"full_name": "Bùi Thị Kỷ", "gender": "Nữ", "sessions": 9, "is_disciplined": True}]
    con = build_warehouse(tmp_path_factory.mktemp("awards") / "w.duckdb", units)
    yield con
    con.close()


def test_settlement_rate_is_shrunk_toward_the_district_rate(mediation_warehouse):
    # district rate = (1 + 45 + 30) / (1 + 50 + 50) = 76/101; prior 10 cases:
    # X = (1 + 10*76/101) / 11 = 77.50; Y = (45 + 10*76/101) / 60 = 87.54; Z = (30 + 7.52) / 60 = 62.54
    got = dict(
        rows(
            mediation_warehouse,
            "select unit_code, mediation from award_collective_component where mediation is not null",
        )
    )
    district = 76 / 101
    assert got["X"] == pytest.approx(100 * (1 + 10 * district) / 11)
    assert got["Y"] == pytest.approx(100 * (45 + 10 * district) / 60)
    assert got["Z"] == pytest.approx(100 * (30 + 10 * district) / 60)
    assert got["Y"] > got["X"]  # 45 of 50 beats 1 of 1


def test_units_with_errors_missing_reports_or_discipline_are_listed_with_the_reason(mediation_warehouse):
    ranked = {r[0] for r in rows(mediation_warehouse, "select unit_code from mart_award_collective")}
    assert ranked == {"X", "Y", "Z"}
    left_out = rows(
        mediation_warehouse,
        "select candidate_kind, unit_code, full_name, reason_vi from mart_award_ineligible order by candidate_kind, unit_code",
    )
    assert left_out == [
        ("Cá nhân", "X", "Bùi Thị Kỷ", "Bị kỷ luật trong giai đoạn 2017-2021"),
        ("Tập thể", "E", None, "Báo cáo còn lỗi, chưa được xét khen thưởng"),
        ("Tập thể", "M", None, "Chưa gửi báo cáo"),
    ]


@pytest.fixture(scope="module")
def components_warehouse(tmp_path_factory):
    years = (2017, 2018, 2019, 2020, 2021)
    c1 = UnitRows("C1", "commune", population=2000)
    c1.figures.update({("PB_LUOT", y): 400 for y in years} | {("PB_CUOC", y): 4 for y in years})
    c1.figures.update({("TIN_BAI", 2019): 3, ("NPL_HD", 2020): 1, ("TSPL", 2021): 0})
    c1.figures.update({("CT_DAT", y): v for y, v in zip(years, (1, 0, 1, 1, None))})
    c1.figures.update({("CT_DIEM", y): v for y, v in zip(years, (81, 70, 85, 88, None))})
    c1.models = [{"model_name": "CLB pháp luật", "is_replicated": True}] * 4
    c2 = UnitRows("C2", "commune", population=1000, on_time=False)
    c2.figures.update({("PB_LUOT", y): 400 for y in years})
    a1 = UnitRows("A1", "agency")
    a1.figures.update({("PB_LUOT", 2018): 800})
    a1.models = [{"model_name": "Phiên tòa giả định", "is_replicated": False}]
    con = build_warehouse(tmp_path_factory.mktemp("components") / "w.duckdb", [c1, c2, a1])
    yield con
    con.close()


def test_collective_components_from_their_figures(components_warehouse):
    got = {
        r[0]: r[1:]
        for r in rows(
            components_warehouse,
            "select unit_code, reach_measure, reach, breadth, legal_access, good_models from award_collective_component",
        )
    }
    # C1: 2000 people, 2000 attendances over 4 years -> 250 per 1000 a year; C2: 2000/4/1000 -> 500.
    # Reach ranks within communes: C2 100, C1 0; A1 is alone among agencies: 100.
    assert got["C1"][:2] == (250, 0)
    assert got["C2"][:2] == (500, 100)
    assert got["A1"][:2] == (200, 100)
    # Breadth: C1 has sessions, news and Law Day (bookcases 0): 3 of 7.
    assert got["C1"][2] == pytest.approx(300 / 7)
    # Legal access: 3 of 2017-2020 met (70 * 3/4 = 52.5) + latest score 88 (30 * 0.88 = 26.4).
    assert got["C1"][3] == pytest.approx(52.5 + 26.4)
    # Good models: 4 capped at 3 (60) + replicated (40) = 100; A1: one model, not replicated = 20.
    assert got["C1"][4] == 100
    assert got["A1"][4] == 20


def test_reporting_combines_punctuality_and_completeness(components_warehouse):
    got = dict(rows(components_warehouse, "select unit_code, reporting from award_collective_component"))
    completeness = dict(rows(components_warehouse, "select unit_code, completeness from mart_submission_status"))
    assert got["C1"] == pytest.approx(50 + 50 * completeness["C1"])
    assert got["C2"] == pytest.approx(0 + 50 * completeness["C2"])  # late: no points for punctuality


# --- scoring, ranking and selection ------------------------------------------------------------
def test_agency_weights_are_renormalised_over_the_components_that_apply():
    frame = collective_frame(
        {"unit_code": "A", "unit_type": "agency", "reporting": 80, "reach": 100, "breadth": 50, "good_models": 60},
        {
            "unit_code": "C",
            "unit_type": "commune",
            "reporting": 80,
            "reach": 100,
            "breadth": 50,
            "good_models": 60,
            "mediation": 40,
            "legal_access": 70,
        },
    )
    scored = score_collectives(frame, load_rubric()).set_index("unit_code")
    # agency: (15*80 + 25*100 + 15*50 + 15*60) / 70 = 5350 / 70
    assert scored.loc["A", "score"] == pytest.approx(round(5350 / 70, 2))
    # commune: (5350 + 15*40 + 15*70) / 100
    assert scored.loc["C", "score"] == pytest.approx(70.0)


@pytest.mark.parametrize(
    "first,second,why",
    [
        # equal scores (15*100 = 25*60): the higher Reporting comes first
        ({"unit_code": "Q", "reporting": 100}, {"unit_code": "P", "reach": 60}, "reporting"),
        # equal scores and Reporting (25*30 = 15*50): the higher Reach comes first
        (
            {"unit_code": "Q", "reporting": 50, "reach": 30, "breadth": 50},
            {"unit_code": "P", "reporting": 50, "breadth": 100},
            "reach",
        ),
        # everything equal: the lower unit code comes first
        ({"unit_code": "P", "reporting": 50}, {"unit_code": "Q", "reporting": 50}, "unit code"),
    ],
)
def test_ties_are_broken_by_reporting_then_reach_then_unit_code(first, second, why):
    frame = collective_frame({"unit_type": "commune"} | second, {"unit_type": "commune"} | first)
    rubric = rubric_with(collective={"propose": 1, "distinct_unit_types": False, "pass_mark": 0})
    scored = score_collectives(frame, rubric)
    assert scored["score"].iloc[0] == scored["score"].iloc[1]
    assert scored["unit_code"].tolist() == [first["unit_code"], second["unit_code"]], why
    assert scored["proposed"].tolist() == [True, False]


def test_one_commune_and_one_agency_are_proposed_by_default():
    frame = collective_frame(
        {"unit_code": "C1", "unit_type": "commune", "reporting": 100, "reach": 100, "breadth": 100},  # 55
        {"unit_code": "C2", "unit_type": "commune", "reporting": 100, "reach": 90, "breadth": 100},
        {"unit_code": "A1", "unit_type": "agency", "reporting": 100, "reach": 10, "breadth": 100},  # 46.4
    )
    default = score_collectives(frame, rubric_with(collective={"pass_mark": 0}))
    assert set(default.loc[default["proposed"], "unit_code"]) == {"C1", "A1"}
    spread_off = score_collectives(frame, rubric_with(collective={"pass_mark": 0, "distinct_unit_types": False}))
    assert set(spread_off.loc[spread_off["proposed"], "unit_code"]) == {"C1", "C2"}


def test_a_candidate_below_the_pass_mark_is_not_proposed():
    frame = collective_frame(
        {"unit_code": "C1", "unit_type": "commune", "reporting": 100, "reach": 100, "breadth": 100},  # 55
        {"unit_code": "A1", "unit_type": "agency", "reporting": 40, "reach": 40, "breadth": 40, "good_models": 40},
    )
    scored = score_collectives(frame, load_rubric()).set_index("unit_code")
    assert scored.loc["A1", "score"] == 40
    assert scored["proposed"].to_dict() == {"C1": True, "A1": False}


def test_changing_a_weight_changes_the_ranking_as_it_should():
    frame = collective_frame(
        {"unit_code": "R", "unit_type": "commune", "reach": 100},  # reach specialist
        {"unit_code": "B", "unit_type": "commune", "breadth": 100},  # breadth specialist
    )
    default = score_collectives(frame, rubric_with(collective={"pass_mark": 0}))
    assert default["unit_code"].tolist() == ["R", "B"]  # 25 > 15
    heavier_breadth = rubric_with(collective={"pass_mark": 0, "weights": {"breadth": 40}})
    assert score_collectives(frame, heavier_breadth)["unit_code"].tolist() == ["B", "R"]


def test_stability_is_seeded_and_shares_the_one_place_between_close_candidates():
    frame = collective_frame(
        {"unit_code": "R", "unit_type": "commune", "reach": 62},  # 25*62 = 1550
        {"unit_code": "B", "unit_type": "commune", "breadth": 100},  # 15*100 = 1500
        {"unit_code": "Z", "unit_type": "commune"},  # never close
    )
    rubric = rubric_with(collective={"propose": 1, "pass_mark": 0})
    first = score_collectives(frame, rubric).set_index("unit_code")["stability"]
    again = score_collectives(frame, rubric).set_index("unit_code")["stability"]
    assert first.equals(again)
    assert first["R"] + first["B"] == pytest.approx(1.0)
    assert 0.5 < first["R"] < 1.0
    assert first["Z"] == 0.0
    other_seed = score_collectives(frame, rubric_with(collective={"propose": 1, "pass_mark": 0}, stability={"seed": 7}))
    assert other_seed.set_index("unit_code")["stability"]["R"] != first["R"]


def test_at_most_one_individual_a_unit_and_a_woman_first_on_equal_scores():
    people = pd.DataFrame(
        [
            person("An", "U1", sessions_score=100, materials_score=100, mediation_score=100, years_score=100),
            person("Bình", "U1", sessions_score=100, materials_score=100, mediation_score=100, years_score=90),
            person("Cúc", "U1", sessions_score=100, materials_score=100, mediation_score=90, years_score=90),
            person("Dũng", "U2", sessions_score=60, materials_score=60, mediation_score=60, years_score=60),
            person("Hoa", "U3", sessions_score=60, materials_score=60, mediation_score=60, years_score=60, gender="Nữ"),
            person("Lâm", "U4", sessions_score=60, materials_score=60, mediation_score=60, years_score=60),
        ]
    )
    units = pd.DataFrame({"unit_code": ["U1", "U2", "U3", "U4"], "score": [80.0, 80.0, 80.0, 80.0]})
    scored = score_individuals(people, units, load_rubric())
    # Hoa, Dũng and Lâm score alike: the woman comes first, then more years (equal), then the name.
    assert scored["full_name"].tolist() == ["An", "Bình", "Cúc", "Hoa", "Dũng", "Lâm"]
    assert scored.loc[scored["proposed"], "full_name"].tolist() == ["An", "Hoa", "Dũng"]
    without_limit = score_individuals(people, units, rubric_with(individual={"one_per_unit": False}))
    assert without_limit.loc[without_limit["proposed"], "full_name"].tolist() == ["An", "Bình", "Cúc"]


def test_an_individual_score_includes_the_units_collective_score():
    people = pd.DataFrame([person("An", "U1", sessions_score=50), person("Ba", "U2", sessions_score=50)])
    units = pd.DataFrame({"unit_code": ["U1", "U2"], "score": [90.0, 40.0]})
    scored = score_individuals(people, units, rubric_with(individual={"pass_mark": 0})).set_index("full_name")
    # (30*50 + 20*90) / 100 = 33 and (30*50 + 20*40) / 100 = 23
    assert scored["score"].to_dict() == {"An": 33.0, "Ba": 23.0}


def test_a_bad_rubric_is_rejected_naming_the_key(tmp_path):
    text = (load_rubric.__globals__["DEFAULT_RUBRIC_PATH"]).read_text(encoding="utf-8")
    bad = tmp_path / "rubric.toml"
    bad.write_text(text.replace("reach = 25", "reach = -5").replace("propose = 3", "proposed = 3"), encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_rubric(bad)
    message = str(error.value)
    assert "individual.proposed: Extra inputs are not permitted" in message
    assert "collective: Value error, weights must not be negative" in message


def test_units_and_names_the_rubric_excludes_are_listed_not_ranked(tmp_path):
    units = [UnitRows(code, "commune", population=1000) for code in ("PTP", "K1", "K2")]
    units[1].nominations = [{"full_name": "Nguyễn Văn Ân", "gender": "Nam", "sessions": 9}]
    units[2].nominations = [{"full_name": "Lê Thị Bình", "gender": "Nữ", "sessions": 9}]
    rubric = rubric_with(collective={"excluded_units": ["PTP"]}, individual={"excluded_names": ["nguyen van an"]})
    con = build_warehouse(tmp_path / "w.duckdb", units, rubric)
    try:
        ranked = {r[0] for r in rows(con, "select unit_code from mart_award_collective")}
        people = {r[0] for r in rows(con, "select full_name from mart_award_individual")}
        left_out = rows(
            con, "select candidate_kind, unit_code, full_name, reason_vi from mart_award_ineligible order by 1, 2"
        )
    finally:
        con.close()
    assert ranked == {"K1", "K2"}
    assert people == {"Lê Thị Bình"}  # the name matched without case or diacritics
    assert left_out == [
        ("Cá nhân", "K1", "Nguyễn Văn Ân", "Không thuộc diện xét theo cấu hình khen thưởng"),
        ("Tập thể", "PTP", None, "Đơn vị không thuộc diện xét theo cấu hình khen thưởng"),
    ]


def test_the_reason_names_the_score_and_the_strongest_components():
    frame = collective_frame(
        {"unit_code": "C1", "unit_type": "commune", "reporting": 100, "reach": 80, "breadth": 100, "completeness": 1.0}
    )
    (scored,) = score_collectives(frame, rubric_with(collective={"pass_mark": 0})).itertuples()
    reason = scored.reason_vi
    assert reason.startswith(f"C1 đạt {scored.score:.1f} điểm, nổi bật: ".replace(".", ",", 1))
    assert "Chấp hành chế độ báo cáo 100,0 điểm (đúng hạn, đủ 100% số liệu)" in reason
    assert "Đa dạng hình thức 100,0 điểm (7/7 hình thức)" in reason
