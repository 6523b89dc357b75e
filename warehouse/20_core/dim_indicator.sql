-- one row per indicator: the single definition of its sheet, labels, kind and who reports it
create or replace table dim_indicator as
with indicators as (
    select * from ref_indicator
)

select
    code as indicator_code,
    sheet,
    label_vi,
    label_en,
    unit_vi,
    kind,
    value_type,
    reported_by,
    typical_min,
    typical_max,
    sort_order
from indicators
order by sort_order;
