-- one row per individual nominated (Cá nhân) in a current report: measures, component scores
-- (0-100; volumes as percentile ranks among eligible individuals) and why one is not eligible;
-- the unit_score component is the unit's collective score, added when the scores are computed
create or replace table award_individual_component as
with nominations as (
    select * from fact_nomination where kind = 'Cá nhân'
),

submissions as (
    select * from submission where is_current
),

units as (
    select * from dim_unit
),

config as (
    select * from ref_award_config
),

measures as (
    select
        nominations.unit_code,
        units.unit_name,
        units.unit_type,
        nominations.full_name,
        nominations.gender,
        nominations.position,
        coalesce(nominations.sessions, 0) as sessions,
        coalesce(nominations.materials, 0) as materials,
        coalesce(nominations.cases_settled, 0) as cases_settled,
        coalesce(nominations.years, 0) as years,
        nominations.is_disciplined,
        submissions.has_errors,
        nominations.file_sha256,
        nominations.cell
    from nominations
    inner join submissions using (file_sha256)
    inner join units on units.unit_code = nominations.unit_code
),

eligibility as (
    select
        *,
        not has_errors and is_disciplined is not null and not is_disciplined as is_eligible,
        case
            when has_errors then 'Báo cáo của đơn vị còn lỗi, chưa được xét khen thưởng'
            when is_disciplined is null then 'Chưa ghi rõ có bị kỷ luật trong giai đoạn hay không'
            when is_disciplined then 'Bị kỷ luật trong giai đoạn 2017-2021'
        end as ineligible_reason_vi
    from measures
),

ranked as (
    select
        eligibility.*,
        count(*) filter (where is_eligible) over () as eligible_count,
        percent_rank() over (partition by is_eligible order by sessions) as sessions_rank,
        percent_rank() over (partition by is_eligible order by materials) as materials_rank,
        percent_rank() over (partition by is_eligible order by cases_settled) as cases_rank
    from eligibility
)

select
    ranked.unit_code,
    ranked.unit_name,
    ranked.unit_type,
    ranked.full_name,
    ranked.gender,
    ranked.position,
    ranked.is_eligible,
    ranked.ineligible_reason_vi,
    case when ranked.eligible_count = 1 then 100.0 else 100.0 * ranked.sessions_rank end as sessions_score,
    case when ranked.eligible_count = 1 then 100.0 else 100.0 * ranked.materials_rank end as materials_score,
    case when ranked.eligible_count = 1 then 100.0 else 100.0 * ranked.cases_rank end as mediation_score,
    100.0 * least(ranked.years, config.years_cap) / config.years_cap as years_score,
    ranked.sessions,
    ranked.materials,
    ranked.cases_settled,
    ranked.years,
    ranked.file_sha256,
    ranked.cell
from ranked
cross join config
order by ranked.unit_code, ranked.full_name;
