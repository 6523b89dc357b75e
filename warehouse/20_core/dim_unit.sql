-- one row per expected reporting unit (the registry)
create or replace table dim_unit as
with units as (
    select * from ref_unit
)

select
    unit_code,
    unit_name,
    unit_type,
    population,
    active as is_active
from units
order by unit_type desc, unit_code;
