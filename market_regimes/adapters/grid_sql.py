"""SQL of the grid family's incremental dbt Python models (int_grid_ranges_walked,
fct_grid_lifecycle; docs/grid-regimes.md, docs/grid-lifecycle.md): where each series or
walk continues, read from the model's own stored rows. Relation names are the caller's
(registered DuckDB views)."""

from __future__ import annotations

import pandas as pd

__all__ = [
    "lifecycle_tail_sql",
    "lifecycle_tail_start_sql",
    "range_walk_frontier_sql",
    "range_walk_pivots_sql",
    "range_walk_tail_sql",
]


def lifecycle_tail_sql(bars: str, stored: str, configs: str, start: object | None = None) -> str:
    """The bars fct_grid_lifecycle walks in an incremental run: each segment of `bars`
    (fct_grid_lifecycle_bars) after the earliest last stored bar of its walks in
    `stored` (the model's own table); the symbols of configured grids (`configs`:
    int_grid_configs_validated) whole, since a new or back-dated version starts at its
    valid_from. `start`: the timestamp (datetime or pandas Timestamp, naive UTC; from
    :func:`lifecycle_tail_start_sql`) no walk reads a bar before, or None; written into
    the SQL as a literal, a constant bound lets the engine filter the tables under the
    `bars` view before joining them (DuckDB: 0.8 -> 0.02 s for an hourly update of the
    sample) where the per-segment condition is applied after the view's joins."""
    bound = f"b.bar_start >= timestamp '{pd.Timestamp(start).isoformat(sep=' ')}' and " if start is not None else ""
    return f"""
        select b.*
        from {bars} as b
        left join (select exchange, symbol, segment_id, min(bar_start) as last_bar
                   from {stored} where engine_state is not null group by all) as f
            using (exchange, symbol, segment_id)
        where {bound}(f.last_bar is null or b.bar_start > f.last_bar
           or exists (select 1 from {configs} as c where c.exchange = b.exchange and c.symbol = b.symbol))"""


def lifecycle_tail_start_sql(bars: str, stored: str, configs: str) -> str:
    """One row, column ``start``: a bar no walk of an incremental fct_grid_lifecycle run
    reads anything before (the bound of :func:`lifecycle_tail_sql`), the least of
    * the first bar of a segment of `bars` without a stored virtual walk (walked whole);
    * the last stored bar (`stored` rows with an engine state) of a virtual walk whose
      segment has a later bar;
    * the last stored bar of a configured walk (the version of `configs` with its grid_id and
      valid_from) whose version can still read a bar of the segment after it: one of the
      segment's bars the virtual walk has stored (it walks them all) lies between that bar
      and the version's valid_to, or the segment has bars after the virtual walk's last
      and the version is valid beyond it (a version whose range ended stays at its last bar);
    * the valid_from (or the segment's first bar, if later) of a version of `configs` that
      overlaps a segment without a stored walk of that version (a new or back-dated
      version, walked from its valid_from);
    or the last bar of `bars` when there is none of these (no walk reads a bar; NULL
    without bars). Walks that cannot continue (their segment or range ended) do not hold
    it back."""
    return f"""
        with ends as (
            select exchange, symbol, segment_id, min(bar_start) as first_bar, max(bar_start) as end_bar
            from {bars} group by all
        ),
        walks as (
            select exchange, symbol, segment_id, grid_kind, grid_id, valid_from, bar_start as last_bar
            from {stored} where engine_state is not null
        ),
        virtual_walks as (
            select exchange, symbol, segment_id, max(last_bar) as virtual_last
            from walks where grid_kind = 'virtual' group by all
        ),
        starts as (
            select case when v.virtual_last is null then e.first_bar else v.virtual_last end as start_bar
            from ends as e
            left join virtual_walks as v using (exchange, symbol, segment_id)
            where v.virtual_last is null or e.end_bar > v.virtual_last
            union all
            select w.last_bar
            from walks as w
            join {configs} as c
                on c.grid_id = w.grid_id and c.valid_from = w.valid_from
                and c.exchange = w.exchange and c.symbol = w.symbol
            join ends as e on e.exchange = w.exchange and e.symbol = w.symbol and e.segment_id = w.segment_id
            join virtual_walks as v on v.exchange = w.exchange and v.symbol = w.symbol and v.segment_id = w.segment_id
            where w.grid_kind = 'configured'
              and ((e.end_bar > v.virtual_last and (c.valid_to is null or c.valid_to > v.virtual_last))
                   or exists (select 1 from {stored} as s
                              where s.grid_kind = 'virtual' and s.exchange = w.exchange and s.symbol = w.symbol
                                and s.segment_id = w.segment_id and s.bar_start > w.last_bar
                                and (c.valid_to is null or s.bar_start < c.valid_to)))
            union all
            select greatest(c.valid_from, e.first_bar)
            from {configs} as c
            join ends as e
                on e.exchange = c.exchange and e.symbol = c.symbol
                and e.end_bar >= c.valid_from and (c.valid_to is null or e.first_bar < c.valid_to)
            where not exists (select 1 from walks as w
                              where w.grid_kind = 'configured' and w.grid_id = c.grid_id
                                and w.valid_from = c.valid_from and w.exchange = e.exchange
                                and w.symbol = e.symbol and w.segment_id = e.segment_id)
        )
        select coalesce((select min(start_bar) from starts), (select max(end_bar) from ends)) as start"""


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
