-- wrong rows: a unit, indicator and period counted twice
select unit_code, indicator_code, period, count(*) as n
from fact_indicator
group by all
having count(*) > 1
