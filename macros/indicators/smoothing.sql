{#- Recursion specs for macro linear_recursions (each returns a dict).

    ema_recursion(column, n): EMA with alpha = 2 / (n + 1), seeded with the SMA of the
      first n values (TA-Lib EMA): EMA_(n-1) = mean(x_0..x_(n-1)),
      EMA_t = alpha * x_t + (1 - alpha) * EMA_(t-1). Needs a column seed_ema_<n>.
      Warm from idx n - 1. Units of the column.
    wilder_recursion(name, n, start_idx, seed, input_expr, average=true): Wilder
      smoothing with b = 1 - 1/n: an average (input x/n, TA-Lib ATR/RSI) or a running
      sum (input x, TA-Lib +DM/-DM/TR sums), started at start_idx with `seed`. -#}

{% macro ema_recursion(column, n) -%}
    {%- set alpha = 2.0 / (n + 1) -%}
    {%- do return({'name': 'ema_' ~ n, 'b': 1.0 - alpha, 'start_idx': n - 1,
                   'seed': 'seed_ema_' ~ n, 'input': alpha ~ ' * ' ~ column}) -%}
{%- endmacro %}

{% macro wilder_recursion(name, n, start_idx, seed, input_expr, average=true) -%}
    {%- set input = ('(' ~ input_expr ~ ') / ' ~ n) if average else input_expr -%}
    {%- do return({'name': name, 'b': 1.0 - 1.0 / n, 'start_idx': start_idx, 'seed': seed, 'input': input}) -%}
{%- endmacro %}
