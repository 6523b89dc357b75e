"""Score the award candidates, propose 2 collectives and 3 individuals, and measure how robust
the proposal is to the weights.

The component scores are computed in SQL (warehouse/30_marts/award_*_component.sql); this
module applies the rubric's weights, tie-breaks and constraints, and re-runs the selection
under seeded random weight perturbations (each weight times a factor in [1-s, 1+s]).
Everything is deterministic for a rubric and a warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from tongket.reference import award_component_labels
from tongket.rubric import COLLECTIVE_COMPONENTS, INDIVIDUAL_COMPONENTS, Rubric
from tongket.text import fold_key

FEMALE = "Nữ"
INDIVIDUAL_SCORE_COLUMNS = {
    "sessions": "sessions_score",
    "materials": "materials_score",
    "mediation": "mediation_score",
    "years": "years_score",
    "unit_score": "unit_score",
}


def _vi(value: float | None, digits: int = 1) -> str:
    """A number the Vietnamese way: 1.234,5."""
    if value is None or pd.isna(value):
        return "-"
    text = f"{value:,.{digits}f}" if digits else f"{round(value):,}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


@dataclass(frozen=True)
class Selection:
    """How candidates are ordered and picked: score first, then the tie-breaks."""

    propose: int
    pass_mark: float
    group_column: str | None  # at most one of each group first (unit type, or unit)
    group_limit: int | None  # at most this many per group in total (None: no limit)


def order_keys(frame: pd.DataFrame, tie_breaks: list[str]) -> list[np.ndarray]:
    """Sort keys for np.lexsort (primary key last), for the tie-breaks after the score:
    higher first for numbers, women first for female_first, alphabetical for codes and names."""
    keys = []
    for key in tie_breaks:
        if key == "female_first":
            keys.append((frame["gender"] != FEMALE).to_numpy(dtype=int))
        elif key in ("unit_code", "full_name"):
            text = frame[key].astype(str).map(fold_key) if key == "full_name" else frame[key].astype(str)
            keys.append(pd.Series(text).rank(method="dense").to_numpy())
        else:
            keys.append(-frame[key].to_numpy(dtype=float))
    return keys[::-1]


def tie_ranks(frame: pd.DataFrame, tie_breaks: list[str]) -> np.ndarray:
    """Each candidate's place (0 = first) when scores are equal: the rubric's tie-breaks,
    then the row order, so the order is total and reproducible."""
    keys = order_keys(frame, tie_breaks)
    order = np.lexsort([np.arange(len(frame)), *keys]) if keys else np.arange(len(frame))
    ranks = np.empty(len(frame), dtype=np.int64)
    ranks[order] = np.arange(len(frame))
    return ranks


def _pick(order: np.ndarray, groups: np.ndarray | None, how: Selection) -> list[int]:
    """The proposal from candidates in rank order (all passing): the best `propose`, taking
    each group's best first (distinct unit types) or at most `group_limit` a group."""
    if groups is None:
        return [int(i) for i in order[: how.propose]]
    taken: dict[object, int] = {}
    ranked = []  # (round within its group, position): every group's best comes first
    for position, i in enumerate(order):
        n = taken.get(groups[i], 0)
        if how.group_limit is not None and n >= how.group_limit:
            continue
        taken[groups[i]] = n + 1
        ranked.append((n, position, int(i)))
    return [i for _, _, i in sorted(ranked)[: how.propose]]


def select(
    scores: np.ndarray, eligible: np.ndarray, groups: np.ndarray | None, ties: np.ndarray, how: Selection
) -> np.ndarray:
    """Boolean mask of the proposed candidates for one vector of (rounded) scores.

    Only the head of the ranking can be proposed, so only the head is sorted: the best few
    overall and, when each group's best comes first, the best few of every group (the full
    sort of ~24,000 candidates a draw would cost seconds over 1,000 draws).
    """
    n = len(scores)
    chosen = np.zeros(n, dtype=bool)
    passing = np.flatnonzero(eligible & (scores >= how.pass_mark - 1e-9))
    if how.propose == 0 or len(passing) == 0:
        return chosen
    # one comparable key: score (hundredths) first, then the tie-break place
    key = np.round(scores[passing] * 100).astype(np.int64) * (n + 1) + (n - ties[passing])
    head = max(4 * how.propose, 16)
    while True:
        if head >= len(passing):
            candidates = np.arange(len(passing))
        else:
            candidates = np.argpartition(-key, head - 1)[:head]
        if groups is not None and how.group_limit is None:
            # round-robin over groups: every group's own head must be there
            for group in np.unique(groups[passing]):
                members = np.flatnonzero(groups[passing] == group)
                if len(members) > how.propose:
                    members = members[np.argpartition(-key[members], how.propose - 1)[: how.propose]]
                best = members
                candidates = np.union1d(candidates, best)
        ordered = candidates[np.argsort(-key[candidates], kind="stable")]
        picks = _pick(passing[ordered], groups, how)
        if len(picks) == how.propose or len(candidates) == len(passing):
            break
        head *= 4
    chosen[picks] = True
    return chosen


def weighted_scores(components: np.ndarray, applies: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean over the components that apply: (candidates x components) -> candidates.

    `weights` may be a matrix (draws x components): the result is then (draws x candidates).
    Weights are renormalised over the components that apply to each candidate.
    """
    values = np.nan_to_num(components) * applies
    if weights.ndim == 1:
        return values @ weights / (applies @ weights)
    return (weights @ values.T) / (weights @ applies.T)


def perturbation_factors(rubric: Rubric, n_components: int, salt: int) -> np.ndarray:
    """(draws x components) factors, uniform in [1-spread, 1+spread], seeded."""
    rng = np.random.default_rng([rubric.stability.seed, salt])
    spread = rubric.stability.spread
    return rng.uniform(1 - spread, 1 + spread, size=(rubric.stability.draws, n_components))


def _score_and_select(
    frame: pd.DataFrame,
    components: tuple[str, ...],
    columns: list[str],
    applies: np.ndarray,
    weights: np.ndarray,
    tie_breaks: list[str],
    how: Selection,
    rubric: Rubric,
    salt: int,
) -> pd.DataFrame:
    out = frame.reset_index(drop=True)
    eligible = out["is_eligible"].to_numpy(dtype=bool)
    values = out[columns].to_numpy(dtype=float)
    groups = pd.factorize(out[how.group_column])[0] if how.group_column else None  # integer codes: fast
    out["score"] = np.round(weighted_scores(values, applies, weights), 2)
    ties = tie_ranks(out, tie_breaks)
    out["proposed"] = select(out["score"].to_numpy(), eligible, groups, ties, how)
    factors = perturbation_factors(rubric, len(components), salt)
    kept = np.zeros(len(out))
    for chunk in range(0, len(factors), 100):  # 100 draws at a time: bounded memory at any scale
        for row in weighted_scores(values, applies, factors[chunk : chunk + 100] * weights):
            kept += select(np.round(row, 2), eligible, groups, ties, how)
    out["stability"] = np.round(kept / len(factors), 3)
    order = np.lexsort([ties, -out["score"].to_numpy()])
    out = out.iloc[order]
    out = out[out["is_eligible"]].copy()
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def score_collectives(components: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """Every eligible unit ranked; `proposed` marks the rubric's picks; `stability` how often."""
    r = rubric.collective
    names = list(COLLECTIVE_COMPONENTS)
    applies = np.array(
        [[unit_type in r.applies_to[c] for c in names] for unit_type in components["unit_type"]], dtype=float
    ).reshape(len(components), len(names))
    weights = np.array([r.weights[c] for c in names], dtype=float)
    how = Selection(r.propose, r.pass_mark, "unit_type" if r.distinct_unit_types else None, None)
    scored = _score_and_select(
        components, COLLECTIVE_COMPONENTS, names, applies, weights, list(r.tie_breaks), how, rubric, 1
    )
    for column in names:
        scored[column] = scored[column].round(2)
    scored["reason_vi"] = [_collective_reason(row, r.applies_to, r.weights) for row in scored.itertuples()]
    return scored


def exclude_names(components: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """Mark the individuals the rubric excludes by name (case and diacritics ignored)."""
    frame = components.copy()
    excluded = {fold_key(n) for n in rubric.individual.excluded_names}
    is_excluded = frame["full_name"].map(fold_key).isin(excluded) & frame["is_eligible"]
    frame.loc[is_excluded, "ineligible_reason_vi"] = "Không thuộc diện xét theo cấu hình khen thưởng"
    frame["is_eligible"] = frame["is_eligible"] & ~is_excluded
    return frame


def score_individuals(components: pd.DataFrame, collective_scores: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """Every eligible individual ranked, at most one proposed per unit when the rubric says so."""
    r = rubric.individual
    frame = components.copy()
    unit_scores = collective_scores.set_index("unit_code")["score"]
    frame["unit_score"] = frame["unit_code"].map(unit_scores).fillna(0.0)
    names = list(INDIVIDUAL_COMPONENTS)
    columns = [INDIVIDUAL_SCORE_COLUMNS[c] for c in names]
    applies = np.ones((len(frame), len(names)))
    weights = np.array([r.weights[c] for c in names], dtype=float)
    how = Selection(r.propose, r.pass_mark, "unit_code" if r.one_per_unit else None, 1 if r.one_per_unit else None)
    scored = _score_and_select(
        frame, INDIVIDUAL_COMPONENTS, columns, applies, weights, list(r.tie_breaks), how, rubric, 2
    )
    scored["reason_vi"] = [_individual_reason(row, r.weights) for row in scored.itertuples()]
    return scored


def _collective_reason(row, applies_to: dict, weights: dict) -> str:
    labels = award_component_labels()
    figures = {
        "reporting": ("đúng hạn" if row.on_time else "nộp muộn")
        + f", đủ {_vi(100 * (row.completeness or 0), 0)}% số liệu",
        "reach": (
            f"{_vi(row.reach_measure, 0)} lượt người/1.000 dân/năm"
            if row.unit_type == "commune"
            else f"{_vi(row.reach_measure, 0)} lượt người/năm"
        ),
        "breadth": f"{int(row.activity_kinds or 0)}/7 hình thức",
        "mediation": f"{_vi(row.cases_settled, 0)}/{_vi(row.cases_closed, 0)} vụ việc hòa giải thành",
        "legal_access": f"{int(row.years_met or 0)} năm đạt chuẩn, điểm gần nhất {_vi(row.latest_score)}",
        "good_models": f"{int(row.good_model_count)} mô hình"
        + (", có mô hình được nhân rộng" if row.has_replicated_model else ""),
    }
    applicable = [c for c in COLLECTIVE_COMPONENTS if row.unit_type in applies_to[c] and weights[c] > 0]
    best = sorted(applicable, key=lambda c: -getattr(row, c))[:2]
    parts = "; ".join(f"{labels[('collective', c)]} {_vi(getattr(row, c))} điểm ({figures[c]})" for c in best)
    return f"{row.unit_name} đạt {_vi(row.score)} điểm, nổi bật: {parts}."


def _individual_reason(row, weights: dict) -> str:
    labels = award_component_labels()
    figures = {
        "sessions": f"{_vi(row.sessions, 0)} cuộc",
        "materials": f"{_vi(row.materials, 0)} tin bài, tài liệu",
        "mediation": f"{_vi(row.cases_settled, 0)} vụ việc hòa giải thành",
        "years": f"{_vi(row.years, 0)} năm",
        "unit_score": f"{_vi(row.unit_score)} điểm",
    }
    applicable = [c for c in INDIVIDUAL_COMPONENTS if weights[c] > 0]
    best = sorted(applicable, key=lambda c: -getattr(row, INDIVIDUAL_SCORE_COLUMNS[c]))[:2]
    parts = "; ".join(
        f"{labels[('individual', c)]} {_vi(getattr(row, INDIVIDUAL_SCORE_COLUMNS[c]))} điểm ({figures[c]})"
        for c in best
    )
    return f"{row.full_name} ({row.unit_name}) đạt {_vi(row.score)} điểm, nổi bật: {parts}."


COLLECTIVE_MART_COLUMNS = [
    "rank",
    "unit_code",
    "unit_name",
    "unit_type",
    "score",
    *COLLECTIVE_COMPONENTS,
    "proposed",
    "stability",
    "reason_vi",
]
INDIVIDUAL_MART_COLUMNS = [
    "rank",
    "full_name",
    "gender",
    "position",
    "unit_code",
    "unit_name",
    "score",
    "sessions_score",
    "materials_score",
    "mediation_score",
    "years_score",
    "unit_score",
    "proposed",
    "stability",
    "reason_vi",
]


def ineligible_candidates(
    con: duckdb.DuckDBPyConnection, collective: pd.DataFrame, individual: pd.DataFrame
) -> pd.DataFrame:
    """Every unit and nominee left out of the ranking, with the reason in Vietnamese."""
    units = con.sql("select unit_code, unit_name, unit_type, status from mart_submission_status").df()
    reasons = collective.set_index("unit_code")["ineligible_reason_vi"]
    rows = []
    for unit in units.itertuples():
        if unit.status == "missing":
            reason = "Chưa gửi báo cáo"
        elif unit.status == "rejected":
            reason = "Tệp báo cáo không được tiếp nhận (lỗi R15/R16)"
        else:
            reason = reasons.get(unit.unit_code)
        if isinstance(reason, str) and reason:
            rows.append(
                {
                    "candidate_kind": "Tập thể",
                    "unit_code": unit.unit_code,
                    "unit_name": unit.unit_name,
                    "full_name": None,
                    "reason_vi": reason,
                }
            )
    for person in individual[~individual["is_eligible"]].itertuples():
        rows.append(
            {
                "candidate_kind": "Cá nhân",
                "unit_code": person.unit_code,
                "unit_name": person.unit_name,
                "full_name": person.full_name,
                "reason_vi": person.ineligible_reason_vi,
            }
        )
    return pd.DataFrame(rows, columns=["candidate_kind", "unit_code", "unit_name", "full_name", "reason_vi"])


def score_awards(con: duckdb.DuckDBPyConnection, rubric: Rubric) -> dict[str, int]:
    """Write mart_award_collective, mart_award_individual and mart_award_ineligible."""
    collective_components = con.sql("select * from award_collective_component").df()
    collective = score_collectives(collective_components, rubric)
    individual_components = exclude_names(con.sql("select * from award_individual_component").df(), rubric)
    individual = score_individuals(individual_components, collective, rubric)
    mart_collective = collective[COLLECTIVE_MART_COLUMNS]
    mart_individual = individual[INDIVIDUAL_MART_COLUMNS]
    ineligible = ineligible_candidates(con, collective_components, individual_components)
    con.register("mart_collective_frame", mart_collective)
    con.register("mart_individual_frame", mart_individual)
    con.register("ineligible_frame", ineligible)
    con.execute("create or replace table mart_award_collective as select * from mart_collective_frame order by rank")
    con.execute("create or replace table mart_award_individual as select * from mart_individual_frame order by rank")
    con.execute("create or replace table mart_award_ineligible as select * from ineligible_frame")
    for name in ("mart_collective_frame", "mart_individual_frame", "ineligible_frame"):
        con.unregister(name)
    return {
        "collectives_ranked": len(mart_collective),
        "individuals_ranked": len(mart_individual),
        "ineligible": len(ineligible),
    }
