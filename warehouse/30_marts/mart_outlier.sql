-- one row per R13 outlier among the current figures: the figure, its type's median, the reason
create or replace table mart_outlier as
with outliers as (
    select * from fact_outlier
),

units as (
    select * from dim_unit
),

indicators as (
    select * from dim_indicator
)

select
    outliers.unit_code,
    units.unit_name,
    outliers.unit_type,
    outliers.indicator_code,
    indicators.label_vi,
    outliers.period,
    outliers.value,
    outliers.full_year_value,
    outliers.type_median,
    outliers.previous_value,
    outliers.reason_vi,
    outliers.sheet || '!' || outliers.cell as location
from outliers
inner join units using (unit_code)
inner join indicators using (indicator_code)
order by outliers.unit_code, indicators.sort_order, outliers.period;
