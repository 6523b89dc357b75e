-- one row per unit with a current report: its award measures, component scores (0-100, volumes
-- as percentile ranks within its unit type among eligible units) and why it is not eligible
create or replace table award_collective_component as
with units as (
    select * from dim_unit
),

statuses as (
    select * from mart_submission_status where status = 'accepted'
),

unit_values as (
    select * from mart_unit_indicator
),

figures as (
    select * from fact_indicator
),

models as (
    select * from fact_model
),

config as (
    select * from ref_award_config
),

exclusions as (
    select * from ref_award_exclusion
),

window_years as (
    select sum(months) / 12.0 as years from dim_period
),

window_totals as (
    pivot (select unit_code, indicator_code, value from unit_values where period = 0)
    on indicator_code in (
        'PB_LUOT', 'PB_CUOC', 'THI_CUOC', 'TL_BAN', 'TIN_BAI', 'PT_LUOT', 'TSPL', 'NPL_HD',
        'HG_VV_TIEPNHAN', 'HG_VV_THANH', 'HG_VV_DANGGQ'
    )
    using first(value)
),

legal_access as (
    select
        figures.unit_code,
        count(*) filter (
            where figures.indicator_code = 'CT_DAT' and figures.value = 1
            and list_contains(config.legal_access_years, figures.period)
        ) as years_met,
        len(any_value(config.legal_access_years)) as years_assessed,
        arg_max(figures.value, figures.period) filter (
            where figures.indicator_code = 'CT_DIEM' and figures.value is not null
        ) as latest_score
    from figures
    cross join config
    group by figures.unit_code
),

model_counts as (
    select
        unit_code,
        count(*) as good_models,
        bool_or(is_replicated) as has_replicated_model
    from models
    group by unit_code
),

district_mediation as (
    select
        sum(window_totals.HG_VV_THANH) / nullif(sum(window_totals.HG_VV_TIEPNHAN - window_totals.HG_VV_DANGGQ), 0)
            as district_rate
    from window_totals
    inner join units using (unit_code)
    where units.unit_type = 'commune'
),

measures as (
    select
        statuses.unit_code,
        units.unit_name,
        units.unit_type,
        units.population,
        statuses.on_time,
        statuses.completeness,
        statuses.has_errors,
        exclusions.unit_code is not null as is_excluded,
        window_totals.PB_LUOT / window_years.years as attendances_per_year,
        case
            when units.unit_type = 'commune'
                then 1000 * window_totals.PB_LUOT / window_years.years / nullif(units.population, 0)
            else window_totals.PB_LUOT / window_years.years
        end as reach_measure,
        (
            (coalesce(window_totals.PB_CUOC, 0) > 0)::int
            + (coalesce(window_totals.THI_CUOC, 0) > 0)::int
            + (coalesce(window_totals.TL_BAN, 0) > 0)::int
            + (coalesce(window_totals.TIN_BAI, 0) > 0)::int
            + (coalesce(window_totals.PT_LUOT, 0) > 0)::int
            + (coalesce(window_totals.TSPL, 0) > 0)::int
            + (coalesce(window_totals.NPL_HD, 0) > 0)::int
        ) as activity_kinds,
        window_totals.HG_VV_THANH as cases_settled,
        window_totals.HG_VV_TIEPNHAN - window_totals.HG_VV_DANGGQ as cases_closed,
        district_mediation.district_rate,
        legal_access.years_met,
        legal_access.years_assessed,
        legal_access.latest_score,
        coalesce(model_counts.good_models, 0) as good_models,
        coalesce(model_counts.has_replicated_model, false) as has_replicated_model
    from statuses
    inner join units using (unit_code)
    left join window_totals using (unit_code)
    left join legal_access using (unit_code)
    left join model_counts using (unit_code)
    left join exclusions using (unit_code)
    cross join window_years
    cross join district_mediation
),

eligibility as (
    select
        *,
        not has_errors and not is_excluded as is_eligible,
        case
            when is_excluded then 'Đơn vị không thuộc diện xét theo cấu hình khen thưởng'
            when has_errors then 'Báo cáo còn lỗi, chưa được xét khen thưởng'
        end as ineligible_reason_vi
    from measures
),

-- percentile rank (0-100) of a volume among the eligible units of the same type;
-- a unit alone in its type ranks 100; a unit that did not report ranks 0
ranked as (
    select
        eligibility.*,
        case
            when not is_eligible or reach_measure is null then null
            when count(reach_measure) over (partition by unit_type, is_eligible) = 1 then 100.0
            else 100.0 * percent_rank() over (
                partition by unit_type, is_eligible, reach_measure is null order by reach_measure
            )
        end as reach_percentile
    from eligibility
)

select
    ranked.unit_code,
    ranked.unit_name,
    ranked.unit_type,
    ranked.is_eligible,
    ranked.ineligible_reason_vi,
    config.reporting_on_time_points * coalesce(ranked.on_time, false)::int
        + config.reporting_completeness_points * coalesce(ranked.completeness, 0) as reporting,
    coalesce(ranked.reach_percentile, 0) as reach,
    100.0 * ranked.activity_kinds / 7 as breadth,
    case when ranked.unit_type = 'commune' then
        100.0 * (coalesce(ranked.cases_settled, 0) + config.mediation_prior_cases * coalesce(ranked.district_rate, 0))
        / nullif(coalesce(ranked.cases_closed, 0) + config.mediation_prior_cases, 0)
    end as mediation,
    case when ranked.unit_type = 'commune' then
        config.legal_access_years_points * coalesce(ranked.years_met, 0) / ranked.years_assessed
        + config.legal_access_score_points * coalesce(ranked.latest_score, 0) / 100
    end as legal_access,
    least(
        100.0,
        config.good_models_points_each * least(ranked.good_models, config.good_models_cap)
        + case when ranked.has_replicated_model then config.good_models_replicated_bonus else 0 end
    ) as good_models,
    ranked.on_time,
    ranked.completeness,
    ranked.reach_measure,
    ranked.attendances_per_year,
    ranked.activity_kinds,
    ranked.cases_settled,
    ranked.cases_closed,
    ranked.district_rate,
    ranked.years_met,
    ranked.latest_score,
    ranked.good_models as good_model_count,
    ranked.has_replicated_model
from ranked
cross join config
order by ranked.unit_type desc, ranked.unit_code;
