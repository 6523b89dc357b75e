-- one row per unit, indicator and period, plus period 0 = the 2017-2021 window aggregated by kind:
-- flow = sum of the reported periods; stock = the last reported period's value; status = none
create or replace table mart_unit_indicator as
with figures as (
    select * from fact_indicator
),

units as (
    select * from dim_unit
),

indicators as (
    select * from dim_indicator
),

window_values as (
    select
        figures.unit_code,
        figures.indicator_code,
        0 as period,
        case indicators.kind
            when 'flow' then sum(figures.value)
            when 'stock' then arg_max(figures.value, figures.period) filter (where figures.value is not null)
        end as value,
        case when count(figures.value) > 0 then 'reported' else 'blank' end as value_status
    from figures
    inner join indicators using (indicator_code)
    where indicators.kind in ('flow', 'stock')
    group by figures.unit_code, figures.indicator_code, indicators.kind
),

all_values as (
    select unit_code, indicator_code, period, value, value_status from figures
    union all
    select unit_code, indicator_code, period, value, value_status from window_values
)

select
    all_values.unit_code,
    units.unit_name,
    units.unit_type,
    all_values.indicator_code,
    indicators.kind,
    all_values.period,
    all_values.value,
    all_values.value_status
from all_values
inner join units using (unit_code)
inner join indicators using (indicator_code)
order by units.unit_type desc, all_values.unit_code, indicators.sort_order, all_values.period;
