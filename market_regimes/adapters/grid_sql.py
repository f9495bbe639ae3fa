"""SQL of the grid family's incremental dbt Python models (int_grid_ranges_walked,
fct_grid_lifecycle; docs/grid-regimes.md, docs/grid-lifecycle.md): where each series or
walk continues, read from the model's own stored rows. Relation names are the caller's
(registered DuckDB views)."""

from __future__ import annotations

__all__ = [
    "lifecycle_tail_sql",
    "range_walk_frontier_sql",
    "range_walk_pivots_sql",
    "range_walk_tail_sql",
]


def lifecycle_tail_sql(bars: str, stored: str, configs: str) -> str:
    """The bars fct_grid_lifecycle walks in an incremental run: each segment of `bars`
    (fct_grid_lifecycle_bars) after the earliest last stored bar of its walks in
    `stored` (the model's own table); the symbols of configured grids (`configs`:
    int_grid_configs_validated) whole, since a new or back-dated version starts at its
    valid_from."""
    return f"""
        select b.*
        from {bars} as b
        left join (select exchange, symbol, segment_id, min(bar_start) as last_bar
                   from {stored} where engine_state is not null group by all) as f
            using (exchange, symbol, segment_id)
        where f.last_bar is null or b.bar_start > f.last_bar
           or exists (select 1 from {configs} as c where c.exchange = b.exchange and c.symbol = b.symbol)"""


def range_walk_frontier_sql(stored: str) -> str:
    """int_grid_ranges_walked's stored state per series (relation `stored`: the model's own
    table): series_part, carry_idx (its last bar), last_pivot_idx (its last stored pivot)."""
    return f"""
        select s.series_part, s.carry_idx, p.last_pivot_idx
        from (select series_part, max(idx) as carry_idx from {stored} group by series_part) as s
        left join (select series_part, max(pivot_idx) as last_pivot_idx from {stored}
                   where pivot_idx is not null group by series_part) as p using (series_part)"""


def range_walk_tail_sql(bars: str, frontier: str) -> str:
    """The bars an incremental run of int_grid_ranges_walked reads (with carry_idx): a
    series without stored rows whole; a stored one with a new bar from its last pivot, or
    from the longest window before its next bar when that is earlier; others not at all."""
    return f"""
        select b.*, f.carry_idx
        from {bars} as b
        left join {frontier} as f using (series_part)
        where f.carry_idx is null
           or (b.series_part in (select series_part from {bars} as n
                                 join {frontier} as g using (series_part) where n.idx > g.carry_idx)
               and b.idx >= greatest(0, least(coalesce(f.last_pivot_idx, 0), f.carry_idx + 2 - b.window_bars)))"""


def range_walk_pivots_sql(stored: str, frontier: str, bars: str) -> str:
    """The stored pivots (series_part, idx, pivot_idx, pivot_kind) an incremental run of
    int_grid_ranges_walked continues from: those from the longest window before each
    series' last pivot (or last bar) on."""
    return f"""
        select s.series_part, s.idx, s.pivot_idx, s.pivot_kind
        from {stored} as s
        join {frontier} as f using (series_part)
        where s.pivot_idx is not null and s.pivot_idx >= least(coalesce(f.last_pivot_idx, 0), f.carry_idx)
                                                         - (select max(window_bars) from {bars})"""
