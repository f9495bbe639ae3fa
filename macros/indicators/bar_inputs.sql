{#- Per-bar inputs of the Wilder indicators (J. Welles Wilder, New Concepts in Technical
    Trading Systems, 1978; as implemented by TA-Lib). -#}

{#- True range: max(high - low, |high - prev_close|, |low - prev_close|); high - low at a
    segment's first bar (no previous close: DuckDB's greatest() skips NULL arguments; the
    Wilder seeds start at idx 1, so the value is never used there). Price units. -#}
{% macro true_range(high, low, prev_close) -%}
    greatest({{ high }} - {{ low }}, abs({{ high }} - {{ prev_close }}), abs({{ low }} - {{ prev_close }}))
{%- endmacro %}

{#- Directional movement (direction = 'plus' | 'minus'): up = high - prev_high,
    down = prev_low - low; +DM = up when up > down and up > 0, else 0; -DM = down when
    down > up and down > 0, else 0 (ties give 0 to both, as TA-Lib). Price units. -#}
{% macro directional_movement(high, low, prev_high, prev_low, direction) -%}
    {%- set up = '(' ~ high ~ ' - ' ~ prev_high ~ ')' -%}
    {%- set down = '(' ~ prev_low ~ ' - ' ~ low ~ ')' -%}
    {%- if direction == 'plus' -%}
    case when {{ up }} > {{ down }} and {{ up }} > 0 then {{ up }} else 0 end
    {%- else -%}
    case when {{ down }} > {{ up }} and {{ down }} > 0 then {{ down }} else 0 end
    {%- endif -%}
{%- endmacro %}
