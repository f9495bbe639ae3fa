{#- Bar-time arithmetic, dispatched so the models can move to another engine (docs/architecture.md). -#}

{% macro bar_bucket(ts, interval_minutes) -%}
    {{ return(adapter.dispatch('bar_bucket', 'market_regimes')(ts, interval_minutes)) }}
{%- endmacro %}

{% macro default__bar_bucket(ts, interval_minutes) -%}
    time_bucket(to_minutes(cast({{ interval_minutes }} as bigint)), {{ ts }}, timestamp '1970-01-01')
{%- endmacro %}

{#- Spark (docs/scale-out.md): epoch seconds in UTC (the spark target sets
    spark.sql.session.timeZone = UTC), floored to the interval -#}
{% macro spark__bar_bucket(ts, interval_minutes) -%}
    timestamp_seconds(floor(unix_seconds({{ ts }}) / (60 * cast({{ interval_minutes }} as bigint))) * 60 * cast({{ interval_minutes }} as bigint))
{%- endmacro %}

{% macro add_minutes(ts, minutes) -%}
    {{ return(adapter.dispatch('add_minutes', 'market_regimes')(ts, minutes)) }}
{%- endmacro %}

{% macro default__add_minutes(ts, minutes) -%}
    ({{ ts }} + to_minutes(cast({{ minutes }} as bigint)))
{%- endmacro %}

{% macro spark__add_minutes(ts, minutes) -%}
    timestampadd(MINUTE, cast({{ minutes }} as bigint), {{ ts }})
{%- endmacro %}

{% macro minutes_between(earlier, later) -%}
    {{ return(adapter.dispatch('minutes_between', 'market_regimes')(earlier, later)) }}
{%- endmacro %}

{% macro default__minutes_between(earlier, later) -%}
    date_diff('minute', {{ earlier }}, {{ later }})
{%- endmacro %}

{% macro spark__minutes_between(earlier, later) -%}
    timestampdiff(MINUTE, {{ earlier }}, {{ later }})
{%- endmacro %}
