-- one row per current figure flagged by R13: far above its unit type's median, or a jump
-- from the year before; values compared as full-year equivalents (2017 x 12/7, 2021 x 12/5)
create or replace table fact_outlier as
with figures as (
    select * from fact_indicator where value is not null
),

units as (
    select * from dim_unit
),

indicators as (
    select * from dim_indicator where kind <> 'status'
),

periods as (
    select * from dim_period
),

config as (
    select * from ref_run_config
),

full_year as (
    select
        figures.unit_code,
        units.unit_type,
        figures.indicator_code,
        indicators.kind,
        figures.period,
        figures.value,
        case when indicators.kind = 'flow' then figures.value * periods.annualisation_factor else figures.value end
            as full_year_value,
        figures.sheet,
        figures.cell,
        figures.file_sha256
    from figures
    inner join units using (unit_code)
    inner join indicators using (indicator_code)
    inner join periods using (period)
),

with_context as (
    select
        *,
        median(full_year_value) over (partition by indicator_code, period, unit_type) as type_median,
        lag(full_year_value) over (partition by unit_code, indicator_code order by period) as previous_value,
        lag(period) over (partition by unit_code, indicator_code order by period) as previous_period
    from full_year
),

flagged as (
    select
        *,
        type_median > 0 and full_year_value > config.outlier_median_factor * type_median as is_above_median,
        previous_value >= config.outlier_jump_min_base
            and previous_period = period - 1
            and full_year_value > config.outlier_jump_factor * previous_value as is_jump
    from with_context
    cross join config
)

select
    unit_code,
    unit_type,
    indicator_code,
    period,
    value,
    full_year_value,
    type_median,
    previous_value,
    is_above_median,
    coalesce(is_jump, false) as is_jump,
    concat_ws(
        '; ',
        case when is_above_median then
            'gấp ' || vi_number(round(full_year_value / type_median, 1)) || ' lần trung vị của đơn vị cùng loại ('
            || vi_number(round(type_median, 1)) || ')'
        end,
        case when is_jump then
            'tăng ' || vi_number(round(full_year_value / previous_value, 1)) || ' lần so với năm trước ('
            || vi_number(round(previous_value, 1)) || ')'
        end
    ) as reason_vi,
    sheet,
    cell,
    file_sha256
from flagged
where is_above_median or coalesce(is_jump, false)
order by unit_code, indicator_code, period;
