-- one row per validation rule R01-R20, with the message template units read
create or replace table dim_rule as
with rules as (
    select * from ref_rule
)

select
    id as rule_id,
    severity,
    applies_to,
    rule as rule_en,
    message_vi
from rules
order by rule_id;
