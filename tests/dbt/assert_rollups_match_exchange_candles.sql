-- Fails with one row per exchange/symbol/interval whose rollups disagree with the
-- exchange's own candles on any complete, final bar (see rpt_rollup_reconciliation),
-- and logs the match count so `dbt build` shows it.
{% if execute %}
    {% set counts = run_query(
        "select coalesce(sum(n_matches), 0), coalesce(sum(n_bars_compared), 0) from "
        ~ ref('rpt_rollup_reconciliation') ~ " where bar_interval = '1h'") %}
    {{ log("Rollup reconciliation: " ~ counts.rows[0][0] ~ " of " ~ counts.rows[0][1]
           ~ " complete, final 1h bars equal the exchange's own candles", info=True) }}
{% endif %}
select * from {{ ref('rpt_rollup_reconciliation') }} where n_mismatches > 0
