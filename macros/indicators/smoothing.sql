{#- Recursion specs for macro linear_recursions (each returns a dict). The carried state
    of an incremental run is read from the column state_<name>.

    ema_recursion(column, n): EMA with alpha = 2 / (n + 1), seeded with the SMA of the
      first n values (TA-Lib EMA): EMA_(n-1) = mean(x_0..x_(n-1)),
      EMA_t = alpha * x_t + (1 - alpha) * EMA_(t-1). Warm from idx n - 1. Units of x.
    wilder_recursion(name, n, seed_from, seed_to, input_expr, average=true): Wilder
      smoothing with b = 1 - 1/n: an average (S = (1 - 1/n) S + x/n, seeded with the mean
      of x over [seed_from, seed_to]; TA-Lib ATR/RSI/ADX) or a running sum (S = S - S/n + x,
      seeded with the sum; TA-Lib +DM/-DM/TR sums). Warm from seed_to. Source: J. W.
      Wilder, New Concepts in Technical Trading Systems (1978), TA-Lib's seeds. -#}

{% macro ema_recursion(column, n) -%}
    {%- set alpha = 2.0 / (n + 1) -%}
    {%- do return({'name': 'ema_' ~ n, 'b': 1.0 - alpha, 'seed_from': 0, 'seed_to': n - 1, 'seed': 'mean',
                   'input': column, 'gain': alpha, 'state': 'state_ema_' ~ n}) -%}
{%- endmacro %}

{% macro wilder_recursion(name, n, seed_from, seed_to, input_expr, average=true) -%}
    {%- do return({'name': name, 'b': 1.0 - 1.0 / n, 'seed_from': seed_from, 'seed_to': seed_to,
                   'seed': 'mean' if average else 'sum', 'input': input_expr,
                   'gain': (1.0 / n) if average else 1.0, 'state': 'state_' ~ name}) -%}
{%- endmacro %}

{#- Indicators derived from the Wilder averages and sums of one bar (TA-Lib's formulas and
    warm-up: NULL while idx < warm_idx). Source: J. W. Wilder (1978), as TA-Lib RSI,
    PLUS_DI / MINUS_DI and DX.
    wilder_rsi(avg_gain, avg_loss, warm_idx): 100 * avg_gain / (avg_gain + avg_loss), 0
      when both are 0. 0..100.
    directional_indicator(dm_sum, tr_sum, warm_idx): 100 * dm_sum / tr_sum (+DI from the
      +DM sum, -DI from the -DM sum), 0 when tr_sum is 0. 0..100.
    directional_index(plus_dm_sum, minus_dm_sum, warm_idx): DX = 100 * |+DI - -DI| /
      (+DI + -DI) = 100 * |+DM - -DM| / (+DM + -DM) (the TR sums cancel), 0 when both DM
      sums are 0. 0..100; ADX is its Wilder average. -#}

{% macro wilder_rsi(avg_gain, avg_loss, warm_idx) -%}
    case when idx < {{ warm_idx }} then null
         when {{ avg_gain }} + {{ avg_loss }} > 0 then 100 * {{ avg_gain }} / ({{ avg_gain }} + {{ avg_loss }})
         else 0 end
{%- endmacro %}

{% macro directional_indicator(dm_sum, tr_sum, warm_idx) -%}
    case when idx < {{ warm_idx }} then null when {{ tr_sum }} > 0 then 100 * {{ dm_sum }} / {{ tr_sum }} else 0 end
{%- endmacro %}

{% macro directional_index(plus_dm_sum, minus_dm_sum, warm_idx) -%}
    case when idx < {{ warm_idx }} then null
         when {{ plus_dm_sum }} + {{ minus_dm_sum }} > 0
         then 100 * abs({{ plus_dm_sum }} - {{ minus_dm_sum }}) / ({{ plus_dm_sum }} + {{ minus_dm_sum }})
         else 0 end
{%- endmacro %}
