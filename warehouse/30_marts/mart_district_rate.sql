-- one row per rate, period (0 = the window) and unit type: rates are ratios of sums over the
-- units that reported both parts, never means of unit ratios
create or replace table mart_district_rate as
with unit_values as (
    select * from mart_unit_indicator
),

units as (
    select * from dim_unit
),

periods as (
    select * from dim_period
),

unit_types as (
    select unnest(['commune', 'agency', 'all']) as unit_type
),

window_years as (
    select sum(months) / 12.0 as years from periods
),

wide as (
    pivot (select unit_code, unit_type, period, indicator_code, value from unit_values)
    on indicator_code in (
        'PB_CUOC', 'PB_LUOT', 'PB_LUOT_DTTS', 'HG_VV_TIEPNHAN', 'HG_VV_THANH', 'HG_VV_DANGGQ', 'CT_DAT'
    )
    using first(value)
    group by unit_code, unit_type, period
),

grouped as (
    select wide.*, unit_types.unit_type as group_type
    from wide
    inner join unit_types on unit_types.unit_type in (wide.unit_type, 'all')
),

-- full-year equivalent factor of a period (the window counts its years)
year_length as (
    select period, months / 12.0 as years from periods
    union all
    select 0, years from window_years
),

district_population as (
    select sum(population) as population from units where unit_type = 'commune' and is_active
),

attendances_per_session as (
    select
        'attendances_per_session' as rate_code,
        period,
        group_type as unit_type,
        sum(PB_LUOT) as numerator,
        sum(PB_CUOC) as denominator,
        'lượt người/cuộc' as unit_vi
    from grouped
    where PB_LUOT is not null and PB_CUOC is not null
    group by period, group_type
),

attendances_per_1000_people as (
    select
        'attendances_per_1000_population_year' as rate_code,
        grouped.period,
        grouped.group_type as unit_type,
        sum(grouped.PB_LUOT) / any_value(year_length.years) as numerator,
        case
            when grouped.group_type = 'all' then any_value(district_population.population)
            else sum(units.population)
        end as denominator,
        'lượt người/1.000 dân/năm (2017, 2021 quy đổi cả năm)' as unit_vi
    from grouped
    inner join units using (unit_code)
    inner join year_length using (period)
    cross join district_population
    where grouped.PB_LUOT is not null and grouped.group_type in ('commune', 'all')
    group by grouped.period, grouped.group_type
),

settlement as (
    select
        'mediation_settlement_rate' as rate_code,
        period,
        group_type as unit_type,
        sum(HG_VV_THANH) as numerator,
        sum(HG_VV_TIEPNHAN - HG_VV_DANGGQ) as denominator,
        'tỷ lệ' as unit_vi
    from grouped
    where HG_VV_THANH is not null and HG_VV_TIEPNHAN is not null and HG_VV_DANGGQ is not null
        and group_type in ('commune', 'all')
    group by period, group_type
),

legal_access as (
    select
        'legal_access_share' as rate_code,
        period,
        group_type as unit_type,
        count(*) filter (where CT_DAT = 1) as numerator,
        count(*) as denominator,
        'tỷ lệ xã, thị trấn đạt chuẩn' as unit_vi
    from grouped
    where CT_DAT is not null and period <> 0 and group_type in ('commune', 'all')
    group by period, group_type
),

ethnic_minority as (
    select
        'ethnic_minority_share' as rate_code,
        period,
        group_type as unit_type,
        sum(PB_LUOT_DTTS) as numerator,
        sum(PB_LUOT) as denominator,
        'tỷ lệ' as unit_vi
    from grouped
    where PB_LUOT_DTTS is not null and PB_LUOT is not null
    group by period, group_type
),

main_flows as (
    select * from unit_values
    where indicator_code in (
        'PB_CUOC', 'PB_LUOT', 'THI_CUOC', 'TL_BAN', 'TIN_BAI', 'PT_LUOT', 'NPL_HD', 'HG_VV_TIEPNHAN'
    )
),

flow_pairs as (
    select
        unit_code,
        unit_type,
        indicator_code,
        any_value(value) filter (where period = 2018) as value_2018,
        any_value(value) filter (where period = 2020) as value_2020
    from main_flows
    group by unit_code, unit_type, indicator_code
),

change_2018_2020 as (
    select
        'change_2018_2020_' || lower(flow_pairs.indicator_code) as rate_code,
        2020 as period,
        unit_types.unit_type,
        sum(flow_pairs.value_2020) as numerator,
        sum(flow_pairs.value_2018) as denominator,
        'tỷ lệ thay đổi 2020 so với 2018' as unit_vi
    from flow_pairs
    inner join unit_types on unit_types.unit_type in (flow_pairs.unit_type, 'all')
    where flow_pairs.value_2018 is not null and flow_pairs.value_2020 is not null
    group by flow_pairs.indicator_code, unit_types.unit_type
),

ratios as (
    select *, numerator / nullif(denominator, 0) as value from attendances_per_session
    union all
    select *, 1000 * numerator / nullif(denominator, 0) from attendances_per_1000_people
    union all
    select *, numerator / nullif(denominator, 0) from settlement
    union all
    select *, numerator / nullif(denominator, 0) from legal_access
    union all
    select *, numerator / nullif(denominator, 0) from ethnic_minority
    union all
    select *, numerator / nullif(denominator, 0) - 1 from change_2018_2020
)

select
    rate_code,
    period,
    unit_type,
    numerator,
    denominator,
    value,
    unit_vi
from ratios
order by rate_code, unit_type, period;
