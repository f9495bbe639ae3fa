-- The price ranges a grid could run on, per grid series (primary exchange x symbol at 1h
-- and 4h) and final bar (docs/grid-regimes.md): three methods, each on the whole window
-- [t-W+1, t] (support, resistance: placement) and on the fit part [t-W+1, t-K] (_fit:
-- quality), their agreement, the range statistics and the RQS inputs. NULL until the
-- window is full. `quantile` is the primary method: scores, recommendations and the
-- lifecycle read support / resistance.
-- method_agreement = 1 - (spread of S across the methods + spread of R) / (2 (R - S)),
-- clipped to [0, 1] (spread = max - min over the methods that have a value; R, S primary).
-- width_rw = (R - S) / (sigma_bar sqrt(8 W / pi)): the range in units of the expected
-- range of a random walk with the window's 1-bar volatility over W bars (Feller 1951: the
-- expected range of a Brownian motion over time T is sqrt(8 T / pi) sigma); about 0.9 for
-- a random walk's 5%-95% quantile range (project measurement), lower = tighter than chance.
-- Incremental: only bars after each series' last stored bar are written (every column is
-- a function of its own bar's rows upstream).
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['series_part', 'idx'],
          meta={'revision_rewind': 'series_idx'},
          **month_partitioned()) }}
{% call time_partition_select('bar_start', 'month') -%}
with frontier as (
    {{ indicator_frontier() }}
),

joined as (
    select
        b.exchange, b.symbol, b.bar_interval, b.bar_start, b.segment_id, b.series_part, b.idx, b.window_bars,
        b.close, b.atr_14, b.sigma_bar,
        b.quantile_support, b.quantile_resistance, b.quantile_support_fit, b.quantile_resistance_fit,
        b.donchian_support, b.donchian_resistance, b.donchian_support_fit, b.donchian_resistance_fit,
        e.swing_support, e.swing_resistance, e.swing_support_fit, e.swing_resistance_fit,
        e.traversals, e.containment_k
    from {{ ref('int_grid_bars_prepared') }} as b
    join {{ ref('int_grid_ranges_walked') }} as e using (series_part, idx)
    left join frontier as f using (series_part)
    where f.carry_idx is null or b.idx > f.carry_idx
)

select
    exchange, symbol, bar_interval, bar_start, segment_id, series_part, idx,
    quantile_support as support,
    quantile_resistance as resistance,
    quantile_support, quantile_resistance, quantile_support_fit, quantile_resistance_fit,
    donchian_support, donchian_resistance, donchian_support_fit, donchian_resistance_fit,
    swing_support, swing_resistance, swing_support_fit, swing_resistance_fit,
    case when quantile_resistance > quantile_support then greatest(0.0, least(1.0, 1 - ((greatest(quantile_support, donchian_support, coalesce(swing_support, quantile_support))
                                   - least(quantile_support, donchian_support, coalesce(swing_support, quantile_support)))
                                  + (greatest(quantile_resistance, donchian_resistance, coalesce(swing_resistance, quantile_resistance))
                                     - least(quantile_resistance, donchian_resistance, coalesce(swing_resistance, quantile_resistance))))
                                 / (2 * (quantile_resistance - quantile_support)))) end as method_agreement,
    (quantile_support + quantile_resistance) / 2 as range_mid,
    (quantile_resistance - quantile_support) / nullif((quantile_support + quantile_resistance) / 2, 0) as width_pct,
    (quantile_resistance - quantile_support) / nullif(atr_14, 0) as width_atr,
    (quantile_resistance - quantile_support) / nullif(sigma_bar * sqrt(8 * window_bars / pi()), 0) as width_rw,
    traversals,
    containment_k
from joined
{%- endcall %}
