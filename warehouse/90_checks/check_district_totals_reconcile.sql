-- wrong rows: a district total that is not the sum of its commune and agency parts
with parts as (
    select indicator_code, period, sum(value) as by_type
    from mart_district_indicator
    where unit_type in ('commune', 'agency')
    group by all
),

totals as (
    select indicator_code, period, value as total
    from mart_district_indicator
    where unit_type = 'all'
)

select totals.indicator_code, totals.period, totals.total, parts.by_type
from totals
inner join parts using (indicator_code, period)
inner join dim_indicator using (indicator_code)
where dim_indicator.kind <> 'status' and abs(totals.total - parts.by_type) > 1e-6
