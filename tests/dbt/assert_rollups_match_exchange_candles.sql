-- Fails with one row per exchange/symbol/interval whose rollups disagree with the
-- exchange's own candles on any complete, final bar (see rpt_rollup_reconciliation).
select * from {{ ref('rpt_rollup_reconciliation') }} where n_mismatches > 0
