-- one row per period 2017..2021; 2017 and 2021 are partial years (7 and 5 months)
create or replace table dim_period as
with periods as (
    select * from ref_period
)

select
    period,
    label_vi,
    starts_on,
    ends_on,
    months,
    months = 12 as is_full_year,
    12.0 / months as annualisation_factor
from periods
order by period;
