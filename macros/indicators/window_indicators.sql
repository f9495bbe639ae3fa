{#- Window-function indicators (docs/indicators.md). Each takes the named window `series_order`
    (partition by series_part order by idx) for its lags and the frame trailing_rows(n) for
    its windows, and returns NULL until warm: `idx` must be
    at least the warm-up given in the description. A parameter n means exactly n rows
    (frame n - 1 preceding). -#}

{#- OLS slope of `column` on the bar index over the last n rows (units of column per bar);
    warm when the n rows all have the column. Source: least squares, as DuckDB regr_slope. -#}
{% macro ols_slope(column, n, warm_idx) -%}
    case when idx >= {{ warm_idx }} then
        regr_slope({{ column }}, idx) over {{ trailing_rows(n) }}
    end
{%- endmacro %}

{#- Mean of `column` over the last n rows; warm from warm_idx. -#}
{% macro rolling_mean(column, n, warm_idx) -%}
    case when idx >= {{ warm_idx }} then
        avg({{ column }}) over {{ trailing_rows(n) }}
    end
{%- endmacro %}

{#- Kaufman efficiency ratio over n bars: |close_t - close_(t-n)| / sum of |close_i -
    close_(i-1)| over the last n bars (0..1; 0 when the path length is 0). Warm at idx n.
    Source: P. Kaufman, Smarter Trading (1995). -#}
{% macro efficiency_ratio(n) -%}
    case when idx >= {{ n }} then
        coalesce(abs(close - lag(close, {{ n }}) over series_order)
                 / nullif(sum(abs_change) over {{ trailing_rows(n) }}, 0), 0)
    end
{%- endmacro %}

{#- Lag-1 autocorrelation of log returns: Pearson correlation of (r_t, r_(t-1)) over the
    last n pairs. Warm at idx n + 1. NULL when either side is constant. -#}
{% macro return_autocorrelation(n) -%}
    case when idx >= {{ n + 1 }} then
        corr(log_return, prev_log_return) over {{ trailing_rows(n) }}
    end
{%- endmacro %}

{#- Ornstein-Uhlenbeck half-life from an AR(1) fit close_t = a + b close_(t-1) over the
    last n pairs: -ln 2 / ln b, NULL unless 0 < b < 1. Bars. Warm at idx n.
    Fitted as close_t - close_(t-1) = a + beta close_(t-1) with b = 1 + beta (the same OLS
    fit): beta keeps its own relative precision, where b ~ 1 would lose it and
    -ln 2 / ln b amplifies any rounding of b by 1 / (1 - b). -#}
{% macro ou_half_life(n) -%}
    case when idx >= {{ n }} then
        {{ ou_half_life_from_beta('regr_slope(close - prev_close, prev_close) over ' ~ trailing_rows(n)) }}
    end
{%- endmacro %}

{% macro ou_half_life_from_beta(beta) -%}
    {#- ln(1 + beta) = 0 when 1 + beta rounds to 1: a half-life beyond 1e15 bars, NULL #}
    case when {{ beta }} > -1 and ln(1 + {{ beta }}) < 0 then -ln(2) / ln(1 + {{ beta }}) end
{%- endmacro %}

{#- Realized volatility: sample std of the last n log returns x sqrt(bars per year), bars
    per year = var days_per_year x 1440 / interval_minutes. Annualised fraction. Warm at
    idx n. -#}
{% macro realized_volatility(n) -%}
    case when idx >= {{ n }} then
        stddev_samp(log_return) over {{ trailing_rows(n) }}
            * sqrt({{ var('days_per_year') }} * 1440.0 / interval_minutes)
    end
{%- endmacro %}

{#- x rounded to `digits` significant decimal digits (0 stays 0). -#}
{% macro significant_digits(x, digits) -%}
    {{ return(adapter.dispatch('significant_digits', 'market_regimes')(x, digits)) }}
{%- endmacro %}

{% macro default__significant_digits(x, digits) -%}
    case when {{ x }} = 0 then 0.0
         else round({{ x }}, cast({{ digits - 1 }} - floor(log10(abs({{ x }}))) as integer)) end
{%- endmacro %}

{#- Spark's round needs a constant scale: DuckDB's round(x, p) spelled out (x scaled by 10^p,
    rounded half away from zero, scaled back; for p < 0 divided by 10^-p first). x is put in
    parentheses: an expression such as a * b + c * d is scaled whole. -#}
{% macro spark__significant_digits(x, digits) -%}
    {%- set x = '(' ~ x ~ ')' -%}
    case when {{ x }} = 0 then 0.0
         when {{ digits - 1 }} - floor(log10(abs({{ x }}))) >= 0
         then round({{ x }} * power(10, {{ digits - 1 }} - floor(log10(abs({{ x }})))))
              / power(10, {{ digits - 1 }} - floor(log10(abs({{ x }}))))
         else round({{ x }} / power(10, floor(log10(abs({{ x }}))) - {{ digits - 1 }}))
              * power(10, floor(log10(abs({{ x }}))) - {{ digits - 1 }}) end
{%- endmacro %}

{#- The window of the last n rows of a series (the row and the n - 1 before it), spelled out:
    a named window cannot be refined with a frame on Spark (docs/scale-out.md). -#}
{% macro trailing_rows(n, partition='series_part', order='idx') -%}
    (partition by {{ partition }} order by {{ order }} rows between {{ n - 1 }} preceding and current row)
{%- endmacro %}
