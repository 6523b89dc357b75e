-- wrong rows: a unit with more than one current report
select unit_code, count(*) as n
from submission
where is_current
group by unit_code
having count(*) > 1
