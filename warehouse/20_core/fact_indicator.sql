-- one row per unit with a current report, indicator its type reports, and period 2017..2021:
-- the figures the district counts; value NULL = not reported (see value_status)
create or replace table fact_indicator as
with current_submissions as (
    select file_sha256, unit_code from submission where is_current
),

units as (
    select * from dim_unit
),

indicators as (
    select * from dim_indicator
),

periods as (
    select period from dim_period
),

figures as (
    select * from stg_figure where period <> 0 and is_in_scope
),

expected_cells as (
    select
        current_submissions.unit_code,
        current_submissions.file_sha256,
        indicators.indicator_code,
        indicators.sheet,
        periods.period
    from current_submissions
    inner join units using (unit_code)
    inner join indicators on indicators.reported_by in ('all', units.unit_type)
    cross join periods
)

select
    expected_cells.unit_code,
    expected_cells.indicator_code,
    expected_cells.period,
    case when figures.is_rejected then null else figures.value end as value,
    case
        when figures.file_sha256 is null then 'missing'
        when figures.is_rejected then 'rejected'
        else figures.value_status
    end as value_status,
    expected_cells.file_sha256,
    expected_cells.sheet,
    figures.cell
from expected_cells
left join figures
    on figures.file_sha256 = expected_cells.file_sha256
    and figures.indicator_code = expected_cells.indicator_code
    and figures.period = expected_cells.period;
