"""The data-quality suites: one great-expectations ExpectationSuite per checked relation.

Each :class:`SuiteSpec` names a DuckDB relation, the columns to read from it, a pandas
``prepare`` step that adds derived boolean columns for the rules no built-in expectation
expresses (order within a landing file, one final version per key, per-file row
accounting), and a builder of the expectations from :class:`Thresholds`. Suites:

- ``raw.klines``, ``raw.dominance_readings``, ``raw.daily_series`` (landing ledgers,
  docs/landing.md): exact schema (the ledger's ``LAYOUT_SPECS`` columns), at least
  ``min_table_rows`` rows, statuses, prices > 0, high >= open/close/low, low <=
  open/close, volume >= 0, dominance in [0, 100]; landed rows have their key and values,
  a reject_reason exactly on rejected rows, the key is unique among final (not
  newest-in-file) landed versions, and bar_start strictly increases along each file's
  landed lines. Rejected rows keep the values that parsed (their reason says what is
  wrong): the value rules apply to landed and collapsed rows only.
- ``raw.landing_files``: rows_read = rows_landed + rows_rejected + duplicates_collapsed per
  file, unique content hashes.
- ``marts.fct_symbol_bars``, ``marts.fct_driver_bars``: schema, row count, and the share of
  complete bars (at least complete_share_min).
- ``marts.fct_driver_indicators``: schema, row count, at least rank_band_share_min of every
  ``pr_`` percentile rank inside [rank_band_min, rank_band_max] (ranks spread over [0, 1])
  and at least rsi_band_share_min of the RSI inside [rsi_band_min, rsi_band_max].
- ``marts.fct_uptrend_states``: schema and at most watch_share_max of the rows in S4.

The marts' row rules (keys, NULLs, OHLC, value ranges, state sets) are dbt data tests of the
models (generic tests ``within_bounds`` with the same seed's bounds, ``ohlc_sane``,
``unique_combination``, ...): one home per rule. The suites keep what a dbt data test does
not express: statistics over a whole table (shares of rows) and the landing
ledgers' audit (file order, versions, accounting, computed in pandas from the ledger rows;
the ledgers are the landing's output, not dbt models with tests). A ledger's share of
rejected rows is at most rejected_share_max.

Value expectations skip NULLs (indicators are NULL until warm; volume is NULL for
snapshot minute prices and dominance), so not-NULL rules are explicit. Nothing here
imports great-expectations at module import (it takes seconds); the builders import it
when called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from market_regimes.engines.uptrend_states import STATES as UPTREND_STATES
from market_regimes.landing.layouts import INTERVAL_MINUTES
from market_regimes.landing.ledger import LAYOUT_SPECS, RAW_TABLE_OF_LAYOUT

from .gx_context import batch_definition, great_expectations
from .thresholds import Thresholds

LEDGER_STATUSES = ("landed", "collapsed", "rejected")
BAR_INTERVALS = tuple(INTERVAL_MINUTES)
TIMEFRAMES = ("micro", "meso", "macro")
EXIT_REASONS = ("s1_bearish_stack", "all_emas_below_333")
# Derived columns added by the prepare steps (booleans; NULL where the rule does not apply).
IN_FILE_ORDER = "is_after_previous_line_in_file"
SINGLE_FINAL_VERSION = "is_only_final_version_of_key"
LANDED_HAS_VALUES = "is_landed_with_values"
REASON_IFF_REJECTED = "has_reason_iff_rejected"
LEDGER_DERIVED = (LANDED_HAS_VALUES, REASON_IFF_REJECTED, IN_FILE_ORDER, SINGLE_FINAL_VERSION)
ROWS_ACCOUNTED = "rows_accounted"


@dataclass(frozen=True)
class SuiteSpec:
    """One suite: where its rows come from and what they must satisfy.

    Attributes:
        name: the relation validated, ``<schema>.<table>``; also the suite's name.
        description: one line for check descriptions.
        columns: columns read (None: every column, for an exact schema check; ``prefix*``
            reads every column with that prefix).
        id_columns: columns that identify an unexpected row in the summary's examples.
        prepare: adds derived columns to the frame read (returns a new frame).
        expectations: builds the expectations from the thresholds and the frame's columns.
    """

    name: str
    description: str
    columns: tuple[str, ...] | None
    id_columns: tuple[str, ...]
    prepare: Callable[[pd.DataFrame], pd.DataFrame]
    expectations: Callable[[Thresholds, Sequence[str]], list]


# ---------------------------------------------------------------- derived columns (pandas)


def in_file_order(df: pd.DataFrame, time_col: str) -> pd.Series:
    """Whether each landed row's ``time_col`` is after the previous landed line's of its file.

    Files are (source_file, content_hash); lines are ordered by line_number. The first
    landed line of a file is True; non-landed rows are NA (collapsed duplicates and
    rejected rows are not part of the series). A landed NULL time is False.
    """
    out = pd.Series(pd.NA, index=df.index, dtype="boolean")
    landed = df["status"].astype("object").eq("landed").to_numpy()
    if not landed.any():
        return out
    sub = df.loc[landed, ["source_file", "content_hash", "line_number", time_col]].sort_values(
        ["source_file", "content_hash", "line_number"], kind="stable"
    )
    prev = sub.groupby(["source_file", "content_hash"], observed=True, sort=False)[time_col].shift()
    ok = (sub[time_col] > prev) | (prev.isna() & sub[time_col].notna())
    out.loc[ok.index] = ok.to_numpy()
    return out


def only_final_version(df: pd.DataFrame, key_columns: Sequence[str]) -> pd.Series:
    """Whether each landed row's key has at most one *final* landed version.

    A later landing may supersede a provisional bar (the newest of its file), so a key can
    have several landed rows, but at most one of them not newest-in-file (docs/landing.md). Final
    landed rows of a key with two or more such rows are False; other landed rows True;
    non-landed rows NA. A key with a landed correction (a row whose layout starts with
    ``corrections/``) is superseded on purpose, its history in ``superseded_version``: its
    rows are True.
    """
    out = pd.Series(pd.NA, index=df.index, dtype="boolean")
    landed = df["status"].astype("object").eq("landed").to_numpy()
    out[landed] = True
    final = landed & ~df["is_newest_in_file"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    if "layout" in df.columns:
        corrected = landed & df["layout"].astype("object").astype(str).str.startswith("corrections/").to_numpy()
        if corrected.any():
            keys = df.loc[corrected, list(key_columns)].drop_duplicates()
            hit = df[list(key_columns)].merge(keys.assign(_corrected=True), on=list(key_columns), how="left")
            final &= ~hit["_corrected"].fillna(False).to_numpy(dtype=bool)
    if final.any():
        dup = df.loc[final, list(key_columns)].duplicated(keep=False)
        out.loc[dup.index[dup.to_numpy()]] = False
    return out


def _prepare_ledger(layout: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Derived columns of a ledger frame, and the values of rejected rows set to NULL.

    A rejected row keeps the values that parsed, but they are no data (its record and
    reason say what is wrong), so the value expectations must not see them. Masking them
    here instead of a ``row_condition`` per expectation matters: great-expectations
    re-filters the whole frame for every metric of a conditioned expectation.
    """
    spec = LAYOUT_SPECS[layout]
    time_col = spec.key_columns[-1]
    required = (*spec.key_columns, *(c for c in spec.value_columns if c != "volume"))

    def prepare(df: pd.DataFrame) -> pd.DataFrame:
        needed = {
            "status",
            "source_file",
            "content_hash",
            "line_number",
            "is_newest_in_file",
            "reject_reason",
            *spec.key_columns,
            *spec.value_columns,
        }
        if not needed <= set(df.columns):  # the schema expectation reports what is missing
            return df
        status = df["status"].astype("object")
        landed, rejected = status.eq("landed").to_numpy(), status.eq("rejected").to_numpy()
        has_values = pd.Series(df[list(required)].notna().all(axis=1).to_numpy(), index=df.index, dtype="boolean")
        return df.assign(
            **{c: df[c].mask(rejected) for c in spec.value_columns},
            **{
                LANDED_HAS_VALUES: has_values.where(landed, pd.NA),
                REASON_IFF_REJECTED: df["reject_reason"].notna().to_numpy() == rejected,
                IN_FILE_ORDER: in_file_order(df, time_col),
                SINGLE_FINAL_VERSION: only_final_version(df, spec.key_columns),
            },
        )

    return prepare


def _prepare_landing_files(df: pd.DataFrame) -> pd.DataFrame:
    parts = ("rows_landed", "rows_rejected", "duplicates_collapsed")
    if not set(parts) <= set(df.columns):
        return df
    return df.assign(**{ROWS_ACCOUNTED: df[list(parts)].sum(axis=1, min_count=len(parts))})


def _unchanged(df: pd.DataFrame) -> pd.DataFrame:
    return df


# ---------------------------------------------------------------- expectation builders


def _gxe():
    great_expectations()  # seconds to import: only when validating
    import great_expectations.expectations as gxe

    return gxe


def _table(gxe, t: Thresholds, columns: Sequence[str], exact: bool, min_rows: bool = True) -> list:
    """Schema, and (min_rows) at least min_table_rows rows."""
    schema = [gxe.ExpectTableColumnsToMatchSet(column_set=list(columns), exact_match=exact)]
    return schema + ([gxe.ExpectTableRowCountToBeBetween(min_value=t.min_table_rows)] if min_rows else [])


def _positive(gxe, t: Thresholds, *columns: str) -> list:
    return [
        gxe.ExpectColumnValuesToBeBetween(column=c, min_value=t.price_min_exclusive, strict_min=True) for c in columns
    ]


def _ohlc(gxe, t: Thresholds) -> list:
    """Prices > 0, high >= open, close, low and low <= open, close (exact: no tolerance,
    as rollups take max/min and composites average member ratios, both monotone)."""
    pair = gxe.ExpectColumnPairValuesAToBeGreaterThanB
    return [
        *_positive(gxe, t, "open", "high", "low", "close"),
        pair(column_A="high", column_B="open", or_equal=True),
        pair(column_A="high", column_B="close", or_equal=True),
        pair(column_A="high", column_B="low", or_equal=True),
        pair(column_A="open", column_B="low", or_equal=True),
        pair(column_A="close", column_B="low", or_equal=True),
    ]


def _between(gxe, columns: Sequence[str], low: float | None, high: float | None, **kwargs) -> list:
    return [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=low, max_value=high, **kwargs) for c in columns]


def _not_null(gxe, columns: Sequence[str], **kwargs) -> list:
    return [gxe.ExpectColumnValuesToNotBeNull(column=c, **kwargs) for c in columns]


def _ledger_expectations(layout: str) -> Callable[[Thresholds, Sequence[str]], list]:
    spec = LAYOUT_SPECS[layout]
    time_col = spec.key_columns[-1]

    def build(t: Thresholds, columns: Sequence[str]) -> list:
        gxe = _gxe()
        # exact: the ledger's columns (market_regimes.landing LAYOUT_SPECS) + the derived ones
        out = [
            *_table(gxe, t, (*spec.columns, *LEDGER_DERIVED), exact=True),
            *_not_null(gxe, ("source_file", "line_number", "content_hash", "layout", "status", "loaded_at")),
            gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(LEDGER_STATUSES)),
            gxe.ExpectColumnValuesToBeInSet(
                column="layout", value_set=[k for k, v in RAW_TABLE_OF_LAYOUT.items() if v == layout]
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column=LANDED_HAS_VALUES,
                value_set=[True],
                description=f"landed rows have {', '.join(spec.key_columns)} and their values",
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column=REASON_IFF_REJECTED, value_set=[True], description="a reject_reason exactly on rejected rows"
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column=IN_FILE_ORDER,
                value_set=[True],
                description=f"{time_col} strictly increases along each landing file's landed lines",
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column=SINGLE_FINAL_VERSION,
                value_set=[True],
                description=f"at most one final (not newest-in-file) landed version per key "
                f"({', '.join(spec.key_columns)})",
            ),
        ]
        # statistical: quarantined rows are rare (a higher share points at a layout problem)
        out.append(
            gxe.ExpectColumnValuesToBeInSet(
                column="status",
                value_set=["landed", "collapsed"],
                mostly=1 - t.rejected_share_max,
                description=f"at most {t.rejected_share_max:.0%} of the ledger's rows rejected",
            )
        )
        # values of rejected rows are NULL here (prepare), and value expectations skip NULLs
        if layout == "dominance":
            out += [
                *_between(gxe, ["dominance_pct"], t.dominance_pct_min, t.dominance_pct_max),
                gxe.ExpectColumnValuesToBeInSet(column="reading_interval", value_set=["1d", "1m"]),
            ]
        else:
            out += [*_ohlc(gxe, t), *_between(gxe, ["volume"], t.volume_min, None)]
        if layout == "klines":
            out.append(gxe.ExpectColumnValuesToBeInSet(column="bar_interval", value_set=list(BAR_INTERVALS)))
        return out

    return build


def _landing_files_expectations(t: Thresholds, columns: Sequence[str]) -> list:
    gxe = _gxe()
    return [
        *_table(gxe, t, LANDING_FILES_COLUMNS, exact=False),
        *_not_null(gxe, ("source_file", "content_hash", "rows_read")),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["source_file", "content_hash"]),
        gxe.ExpectColumnValuesToBeInSet(column="layout", value_set=list(RAW_TABLE_OF_LAYOUT)),
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="rows_read",
            column_B=ROWS_ACCOUNTED,
            description="rows_read = rows_landed + rows_rejected + duplicates_collapsed (docs/landing.md)",
        ),
    ]


def _symbol_bars_expectations(t: Thresholds, columns: Sequence[str]) -> list:
    """Statistical: the share of complete bars (n_sub_bars = expected_sub_bars). The row
    rules (keys, OHLC, volumes, sub-bar counts) are dbt data tests of fct_symbol_bars."""
    gxe = _gxe()
    return [
        *_table(gxe, t, SYMBOL_BARS_COLUMNS, exact=False),
        _complete_share(gxe, t),
    ]


def _driver_bars_expectations(t: Thresholds, columns: Sequence[str]) -> list:
    """Statistical: the share of complete bars. Row rules: dbt data tests of fct_driver_bars."""
    gxe = _gxe()
    return [
        *_table(gxe, t, DRIVER_BARS_COLUMNS, exact=False),
        _complete_share(gxe, t),
    ]


def _complete_share(gxe, t: Thresholds):
    return gxe.ExpectColumnValuesToBeInSet(
        column="is_complete",
        value_set=[True],
        mostly=t.complete_share_min,
        description=f"at least {t.complete_share_min:.0%} of the bars are complete (missing fine candles are rare)",
    )


OSCILLATORS = ("rsi_14", "adx_14", "plus_di_14", "minus_di_14")
DISPERSIONS = ("atr_14", "atr_mean_20", "bb_bandwidth_20", "realized_vol_20")
AVERAGES = ("ema_20", "ema_30", "ema_60", "ema_144", "ema_250", "ema_333", "sma_200", "bb_mid_20")


def _driver_indicators_expectations(t: Thresholds, columns: Sequence[str]) -> list:
    """Statistical: trailing percentile ranks spread over [0, 1] (at least
    rank_band_share_min of every pr_<feature> column inside [rank_band_min, rank_band_max];
    a reversed or mis-scaled rank piles its values at an end) and rsi_14 mostly inside its
    usual band (rsi_band_share_min inside [rsi_band_min, rsi_band_max]). NULLs (warming up)
    do not count, so a short history passes. The value ranges of every row are dbt data
    tests of fct_driver_indicators (within_bounds)."""
    gxe = _gxe()
    # pr_<feature> columns follow dbt var percentile_rank_features: check whichever exist
    ranks = [c for c in columns if c.startswith("pr_")]
    return [
        *_table(gxe, t, DRIVER_INDICATORS_COLUMNS, exact=False),
        *_between(gxe, ranks, t.rank_band_min, t.rank_band_max, mostly=t.rank_band_share_min),
        *_between(gxe, ["rsi_14"], t.rsi_band_min, t.rsi_band_max, mostly=t.rsi_band_share_min),
    ]


SCORES = ("ts_score", "ox", "dx", "edx")
FLAGS = ("buy_flag", "first_dip_buy_flag", "rebuy_flag", "trim_flag")


def _uptrend_states_expectations(t: Thresholds, columns: Sequence[str]) -> list:
    """Statistical: at most watch_share_max of the rows in S4 (watch only: a segment that
    started with neither a bull nor a bear stack; a large share means the bootstrap rule is
    off). The row rules (state sets, flags, score ranges, keys) are dbt data tests of
    fct_uptrend_states."""
    gxe = _gxe()
    # no row minimum: a short history (< 333 bars per segment, the E333 warm-up) has no
    # state rows at all, legitimately
    return [
        *_table(gxe, t, UPTREND_STATES_COLUMNS, exact=False, min_rows=False),
        gxe.ExpectColumnValuesToBeInSet(
            column="state",
            value_set=[s for s in UPTREND_STATES if s != "S4"],
            mostly=1 - t.watch_share_max,
            description=f"at most {t.watch_share_max:.0%} of the rows in S4 (watch only)",
        ),
    ]


# ---------------------------------------------------------------- the suites

LANDING_FILES_COLUMNS = (
    "source_file",
    "content_hash",
    "layout",
    "rows_read",
    "rows_landed",
    "rows_rejected",
    "duplicates_collapsed",
    "loaded_at",
)
SYMBOL_BARS_COLUMNS = (
    "exchange",
    "symbol",
    "bar_interval",
    "bar_start",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "n_sub_bars",
    "expected_sub_bars",
    "is_complete",
    "is_final",
    "segment_id",
    "origin",
    "source_interval",
    "is_primary",
)
DRIVER_BARS_COLUMNS = (
    "driver",
    "timeframe",
    "bar_interval",
    "bar_start",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "n_constituents",
    "is_complete",
    "is_final",
    "segment_id",
    "source",
)
DRIVER_INDICATORS_COLUMNS = (
    "driver",
    "timeframe",
    "bar_start",
    *AVERAGES,
    "bb_upper_20",
    "bb_lower_20",
    *OSCILLATORS,
    *DISPERSIONS,
    "efficiency_ratio_10",
    "return_autocorr_50",
    "ou_half_life_100",
    "volume_z",
)  # + pr_<feature>: dbt var percentile_rank_features
UPTREND_STATES_COLUMNS = (
    "driver",
    "timeframe",
    "bar_start",
    "state",
    "prev_state",
    *FLAGS,
    "emergency_exit",
    "exit_position",
    "exit_reason",
    *SCORES,
    "sr_boost",
    "s3_start_ts",
)
LEDGER_IDS = ("source_file", "line_number")


def _ledger_suite(table: str, layout: str) -> SuiteSpec:
    return SuiteSpec(
        name=f"raw.{table}",
        description=f"landing ledger raw.{table}: schema, statuses, values, keys, file order",
        columns=None,
        id_columns=LEDGER_IDS,
        prepare=_prepare_ledger(layout),
        expectations=_ledger_expectations(layout),
    )


SUITES: dict[str, SuiteSpec] = {
    s.name: s
    for s in (
        _ledger_suite("klines", "klines"),
        _ledger_suite("dominance_readings", "dominance"),
        _ledger_suite("daily_series", "daily"),
        SuiteSpec(
            "raw.landing_files",
            "per-file row accounting of the landing ledgers",
            LANDING_FILES_COLUMNS,
            ("source_file",),
            _prepare_landing_files,
            _landing_files_expectations,
        ),
        SuiteSpec(
            "marts.fct_symbol_bars",
            "exchange bars: schema, row count, share of complete bars",
            SYMBOL_BARS_COLUMNS,
            ("exchange", "symbol", "bar_interval", "bar_start", "origin"),
            _unchanged,
            _symbol_bars_expectations,
        ),
        SuiteSpec(
            "marts.fct_driver_bars",
            "driver bars: schema, row count, share of complete bars",
            DRIVER_BARS_COLUMNS,
            ("driver", "timeframe", "bar_start"),
            _unchanged,
            _driver_bars_expectations,
        ),
        SuiteSpec(
            "marts.fct_driver_indicators",
            "driver indicators: schema, row count, spread of the percentile ranks, RSI band",
            (*DRIVER_INDICATORS_COLUMNS, "pr_*"),
            ("driver", "timeframe", "bar_start"),
            _unchanged,
            _driver_indicators_expectations,
        ),
        SuiteSpec(
            "marts.fct_uptrend_states",
            "Uptrend Engine states: schema, share of S4 (watch only)",
            UPTREND_STATES_COLUMNS,
            ("driver", "timeframe", "bar_start"),
            _unchanged,
            _uptrend_states_expectations,
        ),
    )
}


def build_suite(name: str, thresholds: Thresholds, columns: Sequence[str]):
    """The ``great_expectations.ExpectationSuite`` named ``name`` (KeyError if unknown).

    Args:
        columns: the columns of the (prepared) frame it will validate; only suites with
            per-column families (``pr_*``) look at them.
    """
    gx = great_expectations()
    batch_definition()  # a suite needs an active context, even before it is run
    suite = gx.ExpectationSuite(name=name)
    for expectation in SUITES[name].expectations(thresholds, list(columns)):
        suite.add_expectation(expectation)
    return suite
