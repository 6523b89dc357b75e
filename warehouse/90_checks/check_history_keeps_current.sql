-- wrong rows: a counted figure missing from the history
select f.unit_code, f.indicator_code, f.period
from fact_indicator f
where f.cell is not null
    and not exists (
        select 1 from fact_indicator_history h
        where h.file_sha256 = f.file_sha256 and h.indicator_code = f.indicator_code and h.period = f.period
    )
