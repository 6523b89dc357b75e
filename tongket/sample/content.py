"""Realistic, deterministic content for one unit's workbook.

Figures follow the typical ranges of `indicators.csv` for the unit's type; 2017 and 2021 are
scaled to their 7 and 5 months; stocks change slowly from year to year; every error rule of
`rules.csv` is satisfied, so a clean sample loads every figure. Warnings occur as in real data:
a few late reports (R18) and a few outliers against the unit type's median (R13).
A unit's content depends only on (seed, unit code): the national corpus can be generated in
parallel and any unit can be regenerated alone.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from schemas.workbook import FEMALE, KIND_COLLECTIVE, KIND_INDIVIDUAL, MALE, NO, YES
from tongket.reference import PERIOD_YEARS, indicators, narrative_questions, periods

MONTHS = {p.period: p.months for p in periods()}
# Annual activity level of a full year, by unit type: (low, high) of the typical range.
ANNUAL_RANGE = {
    "commune": {
        "PB_CUOC": (10, 80),
        "PB_LUOT": (500, 6000),
        "TL_LOAI": (1, 30),
        "TL_BAN": (100, 10000),
        "TIN_BAI": (0, 60),
        "PT_LUOT": (50, 400),
        "NPL_HD": (1, 10),
        "KP_PBGDPL": (5, 50),
        "HG_VV_TIEPNHAN": (2, 40),
        "HG_KP": (5, 40),
    },
    "agency": {
        "PB_CUOC": (2, 40),
        "PB_LUOT": (50, 3000),
        "TL_LOAI": (1, 30),
        "TL_BAN": (100, 10000),
        "TIN_BAI": (0, 60),
        "PT_LUOT": (0, 50),
        "NPL_HD": (0, 10),
        "KP_PBGDPL": (2, 100),
    },
}
# COVID-19: 2020 and 2021 activity fell in most units.
YEAR_FACTOR = {2017: 1.0, 2018: 1.05, 2019: 1.1, 2020: 0.8, 2021: 0.85}
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Bùi", "Đinh", "Quách", "Hà", "Xa", "Vũ", "Đặng"]
MIDDLE_M = ["Văn", "Đức", "Minh", "Công", "Xuân", "Hữu"]
MIDDLE_F = ["Thị", "Thu", "Thanh", "Ngọc", "Hồng"]
GIVEN_M = ["Hùng", "Dũng", "Tuấn", "Thắng", "Bình", "Sơn", "Hải", "Cường", "Quang", "Toàn"]
GIVEN_F = ["Hoa", "Lan", "Hương", "Mai", "Thủy", "Hạnh", "Yến", "Nga", "Huyền", "Trang"]
POSITIONS = {
    "commune": [
        "Công chức Tư pháp - Hộ tịch",
        "Phó Chủ tịch UBND xã",
        "Trưởng thôn",
        "Tổ trưởng tổ hòa giải",
    ],
    "agency": ["Báo cáo viên pháp luật", "Trưởng phòng", "Phó Trưởng phòng", "Chuyên viên"],
}
MODEL_NAMES = [
    "Câu lạc bộ pháp luật",
    "Tủ sách pháp luật điện tử",
    "Ngày hội pháp luật tại thôn, xóm",
    "Tổ hòa giải kiểu mẫu",
    "Chuyên mục 'Pháp luật với cuộc sống' trên loa truyền thanh",
    "Phiên tòa giả định",
    "Sân khấu hóa tuyên truyền pháp luật",
    "Tuyên truyền pháp luật bằng tiếng Mường",
    "Nhóm Zalo hỏi đáp pháp luật",
    "Cuộc thi tìm hiểu pháp luật trực tuyến",
]
FIELDS = ["Hòa giải ở cơ sở", "An toàn giao thông", "Hôn nhân và gia đình", "Đất đai", "Phòng, chống ma túy"]
TARGETS = ["Nhân dân", "Đồng bào dân tộc thiểu số", "Học sinh", "Cán bộ, công chức", "Phụ nữ", "Thanh niên"]
NARRATIVE_TEMPLATES = {
    "KQ_NOIBAT": "{name} đã tổ chức {sessions} cuộc phổ biến pháp luật trực tiếp với {people} lượt người tham dự.",
    "TON_TAI": "Một số thôn, xóm chưa duy trì thường xuyên hoạt động của tủ sách pháp luật.",
    "NGUYEN_NHAN": "Kinh phí còn hạn chế; dịch bệnh Covid-19 năm 2020-2021 làm giảm các hoạt động tập trung đông người.",
    "BAI_HOC": "Cần lựa chọn nội dung, hình thức phù hợp với từng nhóm đối tượng, nhất là đồng bào dân tộc thiểu số.",
    "DE_XUAT": "Đề nghị tăng cường bồi dưỡng kỹ năng cho đội ngũ báo cáo viên, tuyên truyền viên và hòa giải viên.",
}


@dataclass
class UnitReport:
    """Everything one unit puts in its workbook."""

    unit_code: str
    unit_name: str
    unit_type: str
    reported_on: dt.date | None = None
    preparer: str = ""
    phone: str = ""
    email: str = ""
    figures: dict[tuple[str, int], float | None] = field(default_factory=dict)
    models: list[dict] = field(default_factory=list)
    nominations: list[dict] = field(default_factory=list)
    narratives: dict[str, str] = field(default_factory=dict)

    def total(self, code: str) -> float | None:
        """The total the unit types in column Tổng: a sum for flows, the last value otherwise."""
        values = [self.figures.get((code, p)) for p in PERIOD_YEARS]
        reported = [v for v in values if v is not None]
        if not reported:
            return None
        if indicators()[code].kind == "flow":
            return round(sum(reported), 2)
        return reported[-1]


def _person(rng: random.Random) -> tuple[str, str]:
    female = rng.random() < 0.45
    middle = rng.choice(MIDDLE_F if female else MIDDLE_M)
    given = rng.choice(GIVEN_F if female else GIVEN_M)
    return f"{rng.choice(FAMILY)} {middle} {given}", FEMALE if female else MALE


def _flow_series(rng: random.Random, low: float, high: float, decimals: int = 0) -> dict[int, float]:
    base = rng.uniform(low, high)
    out = {}
    for year in PERIOD_YEARS:
        annual = base * YEAR_FACTOR[year] * rng.uniform(0.85, 1.15)
        value = max(low * MONTHS[year] / 12, min(high, annual) * MONTHS[year] / 12)
        out[year] = round(value, decimals) if decimals else float(round(value))
    return out


def _stock_series(rng: random.Random, low: int, high: int) -> dict[int, float]:
    value = rng.randint(low, high)
    out = {}
    for year in PERIOD_YEARS:
        if rng.random() < 0.3:
            value = min(high, max(low, value + rng.choice((-1, 1, 1))))
        out[year] = float(value)
    return out


def generate_figures(rng: random.Random, unit_type: str) -> dict[tuple[str, int], float | None]:
    """All figures of a unit, consistent with every rule of rules.csv."""
    ranges = ANNUAL_RANGE[unit_type]
    series: dict[str, dict[int, float | None]] = {}
    for code in ("PB_CUOC", "TL_LOAI", "TIN_BAI", "PT_LUOT", "NPL_HD"):
        series[code] = _flow_series(rng, *ranges[code])
    # Contests are few and discrete: none in some years, one or two in others.
    series["THI_CUOC"] = {y: float(0 if rng.random() < 0.35 else rng.randint(1, 2)) for y in PERIOD_YEARS}
    series["KP_PBGDPL"] = _flow_series(rng, *ranges["KP_PBGDPL"], decimals=1)
    # Attendances: 20-120 people a session; ethnic minorities a stable share (Mường majority).
    per_session = rng.uniform(20, 120)
    minority_share = rng.uniform(0.55, 0.95) if unit_type == "commune" else rng.uniform(0.2, 0.6)
    series["PB_LUOT"] = {y: float(round(series["PB_CUOC"][y] * per_session)) for y in PERIOD_YEARS}
    series["PB_LUOT_DTTS"] = {y: float(round(series["PB_LUOT"][y] * minority_share)) for y in PERIOD_YEARS}
    # Entries per contest and copies per title are habits of a unit: they drift, they do not jump.
    # (Five draws each, as many as before, so every other figure of a seed stays what it was.)
    entries = [rng.randint(100, 300) for _ in PERIOD_YEARS]
    series["THI_LUOT"] = {
        y: float(round(series["THI_CUOC"][y] * entries[0] * (0.9 + 0.2 * (e - 100) / 200)))
        for y, e in zip(PERIOD_YEARS, entries)
    }
    copies = [rng.uniform(30, 300) for _ in PERIOD_YEARS]
    series["TL_BAN"] = {
        y: max(series["TL_LOAI"][y], float(round(series["TL_LOAI"][y] * copies[0] * (0.9 + 0.2 * (c - 30) / 270))))
        for y, c in zip(PERIOD_YEARS, copies)
    }
    if unit_type == "commune":
        series["TTV"] = _stock_series(rng, 5, 30)
        series["TSPL"] = _stock_series(rng, 1, 15)
        groups = _stock_series(rng, 4, 20)
        series["HG_TO"] = groups
        per_group = rng.randint(3, 7)
        series["HG_HGV"] = {y: groups[y] * per_group for y in PERIOD_YEARS}
        women_share = rng.uniform(0.25, 0.45)
        series["HG_HGV_NU"] = {y: float(max(groups[y], round(series["HG_HGV"][y] * women_share))) for y in PERIOD_YEARS}
        received = _flow_series(rng, *ranges["HG_VV_TIEPNHAN"])
        series["HG_VV_TIEPNHAN"] = received
        series["HG_VV_DANGGQ"] = {y: float(min(received[y] // 4, rng.randint(0, 3))) for y in PERIOD_YEARS}
        settle_rate = rng.uniform(0.75, 0.92)
        series["HG_VV_THANH"] = {
            y: float(round((received[y] - series["HG_VV_DANGGQ"][y]) * settle_rate)) for y in PERIOD_YEARS
        }
        series["HG_VV_KHONGTHANH"] = {
            y: received[y] - series["HG_VV_DANGGQ"][y] - series["HG_VV_THANH"][y] for y in PERIOD_YEARS
        }
        series["HG_KP"] = _flow_series(rng, *ranges["HG_KP"], decimals=1)
        score = rng.uniform(62, 92)
        series["CT_DIEM"], series["CT_DAT"] = {}, {}
        for year in PERIOD_YEARS:
            if year == 2021:  # assessed at the end of the year, after the reporting window
                series["CT_DIEM"][year] = series["CT_DAT"][year] = None
                continue
            score = min(99.0, score + rng.uniform(-3, 6))
            series["CT_DIEM"][year] = round(score, 1)
            series["CT_DAT"][year] = 1.0 if score >= 80 else 0.0
        series["TSPL_DAUSACH"] = {y: float(min(500, series["TSPL"][y] * rng.randint(15, 33))) for y in PERIOD_YEARS}
    else:
        series["BCV"] = _stock_series(rng, 0, 5)
        series["TSPL"] = _stock_series(rng, 0, 1)
        series["TSPL_DAUSACH"] = {y: float(series["TSPL"][y] * rng.randint(20, 120)) for y in PERIOD_YEARS}
    return {(code, year): value for code, by_year in series.items() for year, value in by_year.items()}


def generate_unit_report(
    unit: dict, seed: int, district_name: str = "", report_window: tuple[dt.date, dt.date] | None = None
) -> UnitReport:
    """The content of one unit's workbook, a function of (seed, unit code) only."""
    rng = random.Random(f"unit-{seed}-{unit['unit_code']}")
    unit_type = unit["unit_type"]
    start, end = report_window or (dt.date(2021, 8, 2), dt.date(2021, 8, 20))
    reported_on = start + dt.timedelta(days=rng.randint(0, (end - start).days))
    preparer, _ = _person(rng)
    report = UnitReport(
        unit_code=unit["unit_code"],
        unit_name=unit["unit_name"],
        unit_type=unit_type,
        reported_on=reported_on,
        preparer=preparer,
        phone=f"0{rng.choice([912, 913, 983, 988, 355, 376])}{rng.randint(100000, 999999)}",
        email=f"pbgdpl.{unit['unit_code'].lower()}@hoabinh.gov.vn",
        figures=generate_figures(rng, unit_type),
    )
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
        report.models.append(
            {
                "model_name": rng.choice(MODEL_NAMES),
                "field": rng.choice(FIELDS),
                "target_group": rng.choice(TARGETS),
                "start_year": rng.randint(2015, 2020),
                "result": "Duy trì sinh hoạt định kỳ, thu hút đông đảo người dân tham gia.",
                "is_replicated": YES if rng.random() < 0.35 else NO,
            }
        )
    if rng.random() < 0.5:
        report.nominations.append(
            {
                "kind": KIND_COLLECTIVE,
                "full_name": unit["unit_name"],
                "position": "",
                "summary": "Hoàn thành xuất sắc nhiệm vụ phổ biến, giáo dục pháp luật giai đoạn 2017-2021.",
                "is_disciplined": NO,
            }
        )
    for _ in range(rng.choice((0, 1, 1, 2))):
        name, gender = _person(rng)
        report.nominations.append(
            {
                "kind": KIND_INDIVIDUAL,
                "full_name": name,
                "gender": gender,
                "position": rng.choice(POSITIONS[unit_type]),
                "sessions": rng.randint(4, 60),
                "materials": rng.randint(0, 30),
                "cases_settled": rng.randint(0, 25) if unit_type == "commune" else 0,
                "years": rng.randint(1, 20),
                "prior_awards": rng.choice(
                    ["", "Giấy khen của Chủ tịch UBND huyện", "Bằng khen của Chủ tịch UBND tỉnh"]
                ),
                "is_disciplined": YES if rng.random() < 0.05 else NO,
                "summary": "Tích cực tham gia phổ biến pháp luật và hòa giải ở cơ sở.",
            }
        )
    sessions = sum(report.figures.get(("PB_CUOC", y)) or 0 for y in PERIOD_YEARS)
    people = sum(report.figures.get(("PB_LUOT", y)) or 0 for y in PERIOD_YEARS)
    for code in narrative_questions():
        report.narratives[code] = NARRATIVE_TEMPLATES[code].format(
            name=unit["unit_name"], sessions=int(sessions), people=f"{int(people):,}".replace(",", ".")
        )
    return report
