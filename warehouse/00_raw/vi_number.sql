-- macro: a number written the Vietnamese way (1.234,5) for messages to units
create or replace macro vi_number(x) as
    case
        when x is null then '(trống)'
        when x = round(x) then replace(format('{:,}', round(x)::bigint), ',', '.')
        else translate(rtrim(format('{:,.2f}', x), '0'), ',.', '.,')
    end;
