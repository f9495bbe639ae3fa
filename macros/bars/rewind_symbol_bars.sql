{#- Pre-hook of the incremental int_symbol_bars_finalized (docs/bars-and-drivers.md, "Incremental runs").
    Removes the stored rows the run must compute again, so that the model can append each
    series' bars after its last stored bar:
    * every series' newest stored bar: it may turn final, be revised (exchanges export the
      in-progress candle), or, after a build cut by var as_of, turn provisional again (final
      there because it ended by as_of, the newest bar of its series without the cut);
    * for every exchange x symbol with landed rows newer than every stored one (loaded_at of
      stg_landing__klines above the stored maximum: a new file, a revised or corrected
      candle, a back-fill), all its series (every interval, landed and rollup) from one
      longest bar interval (seed bar_intervals) before its first changed bar_start on: the
      rollups covering a changed fine bar start at most that much earlier.
    Logs the number of symbols and rows. Empty first builds and full refreshes skip it. -#}
{% macro rewind_symbol_bars() -%}
    {%- if execute and is_incremental() -%}
    {%- set changed_sql -%}
        select l.exchange, l.symbol,
               {{ add_minutes('min(l.bar_start)', '-(select max(interval_minutes) from ' ~ ref('bar_intervals') ~ ')') }}
                   as from_bar_start
        from {{ ref('stg_landing__klines') }} as l
        where l.loaded_at > (select coalesce(max(loaded_at), {{ timestamp_before_all() }}) from {{ this }})
        group by l.exchange, l.symbol
    {%- endset -%}
    {%- set provisional_sql -%}
        select exchange, symbol, bar_interval, origin, max(bar_start) as newest_bar_start
        from {{ this }}
        group by exchange, symbol, bar_interval, origin
    {%- endset -%}
    {%- set changed_rel = scratch_table('_symbol_bars_changed', changed_sql) -%}
    {%- set provisional_rel = scratch_table('_symbol_bars_provisional', provisional_sql) -%}
    {%- set changed = delete_rows(this, 't.exchange = u.exchange and t.symbol = u.symbol and t.bar_start >= u.from_bar_start', changed_rel) -%}
    {%- set provisional = delete_rows(this, 't.exchange = u.exchange and t.symbol = u.symbol and t.bar_interval = u.bar_interval '
                                            ~ 'and t.origin = u.origin and t.bar_start >= u.newest_bar_start', provisional_rel) -%}
    {%- set symbols = run_query("select count(*) from " ~ changed_rel) -%}
    {{ log('[int_symbol_bars_finalized] ' ~ symbols.rows[0][0] ~ ' symbols with new landed rows: ' ~ changed
           ~ ' stored bars to recompute, plus ' ~ provisional ~ ' newest bars', info=True) }}
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of the incremental int_composite_bars_computed (docs/bars-and-drivers.md,
    "Incremental runs"): removes every driver x timeframe's stored bars (both methods) from
    the earliest of
    * its first provisional bar (it may turn final, or change with a late member candle),
      or its newest bar (final after a build cut by var as_of because it ended by then);
    * the first member bar (primary bar of a composite member at the timeframe's interval in
      int_symbol_bars_finalized) with a loaded_at newer than every stored composite bar's: a new,
      revised or corrected member candle changes the composite from that bar on.
    Logs the drivers and rows. Empty first builds and full refreshes skip it. -#}
{% macro rewind_composite_bars() -%}
    {%- if execute and is_incremental() -%}
    {%- set rewind -%}
        with watermark as (
            select coalesce(max(loaded_at), {{ timestamp_before_all() }}) as consumed from {{ this }}
        ),
        changed as (
            select m.driver, t.timeframe, min(b.bar_start) as from_bar_start
            from {{ ref('int_symbol_bars_finalized') }} as b
            join {{ ref('int_driver_members_listed') }} as m
                on m.kind = 'composite' and m.symbol = b.symbol and m.exchange = b.exchange
            join {{ ref('regime_timeframes') }} as t on t.bar_interval = b.bar_interval
            where b.is_primary and b.loaded_at > (select consumed from watermark)
            group by m.driver, t.timeframe
        ),
        provisional as (
            select driver, timeframe, least(min(bar_start) filter (where not is_final), max(bar_start)) as from_bar_start
            from {{ this }}
            group by driver, timeframe
        )
        select driver, timeframe, min(from_bar_start) as from_bar_start
        from (select * from changed union all select * from provisional)
        group by driver, timeframe
    {%- endset -%}
    {%- set rewind_rel = scratch_table('_composite_rewind', rewind) -%}
    {%- set removed = delete_rows(this, 't.driver = u.driver and t.timeframe = u.timeframe and t.bar_start >= u.from_bar_start', rewind_rel) -%}
    {%- set n = run_query("select count(*) from " ~ rewind_rel) -%}
    {{ log('[int_composite_bars_computed] ' ~ n.rows[0][0] ~ ' driver timeframes to continue: '
           ~ removed ~ ' stored bars to recompute', info=True) }}
    {%- endif -%}
{%- endmacro %}
