-- one row per indicator, period (0 = the window) and unit type (commune, agency, all):
-- district totals; flow and stock = sum over units (a stock's window value per unit is its last
-- reported period); status = units meeting it (CT_DAT) or their mean score (CT_DIEM), per year only
create or replace table mart_district_indicator as
with unit_values as (
    select * from mart_unit_indicator where value is not null
),

indicators as (
    select * from dim_indicator
),

unit_types as (
    select unnest(['commune', 'agency', 'all']) as unit_type
),

expanded as (
    select unit_values.*, unit_types.unit_type as group_type
    from unit_values
    inner join unit_types
        on unit_types.unit_type in (unit_values.unit_type, 'all')
),

aggregated as (
    select
        expanded.indicator_code,
        expanded.period,
        expanded.group_type as unit_type,
        case
            when indicators.value_type = 'flag' then count(*) filter (where expanded.value = 1)
            when indicators.kind = 'status' then avg(expanded.value)
            else sum(expanded.value)
        end as value,
        count(*) as units_reporting
    from expanded
    inner join indicators using (indicator_code)
    where not (indicators.kind = 'status' and expanded.period = 0)
    group by expanded.indicator_code, expanded.period, expanded.group_type, indicators.kind, indicators.value_type
)

select
    aggregated.indicator_code,
    aggregated.period,
    aggregated.unit_type,
    aggregated.value,
    aggregated.units_reporting
from aggregated
inner join indicators using (indicator_code)
order by indicators.sort_order, aggregated.unit_type, aggregated.period;
