-- wrong rows: figures of a unit the registry does not know
select distinct unit_code
from fact_indicator
where unit_code not in (select unit_code from dim_unit)
