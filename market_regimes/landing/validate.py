"""Row-level validation of landed records (docs/landing.md), vectorised with pandas.

Each check yields a reason string for the rows it fails; a row keeps the *first* reason
in the order below, so a row with several problems is quarantined once, for the most
basic one:

1. unparseable timestamp
2. unaligned timestamp (bar_start not a multiple of the bar interval since the epoch)
3. implausible timestamp: before ``earliest_timestamp``, or after loaded_at +
   ``max_future_bars`` bar intervals (plausibility, :class:`LandingPlausibility`)
4. non-finite or unparseable price (open/high/low/close)
5. non-positive price
6. price above ``max_price`` (plausibility)
7. high below low
8. high below max(open, close)
9. low above min(open, close)
10. non-finite or negative volume
11. volume above ``max_volume`` (plausibility)
12. layout-specific checks (ticker mismatch, dominance outside (0, 100], snapshot minute
    outside its hour)
13. a jump of the close: ``|ln(close / previous valid close)| > max_abs_log_return``,
    the previous valid close at most ``max_gap_bars`` intervals earlier (plausibility,
    :func:`jump_reasons`; needs every row before it checked, so it runs last)

Checks 3, 6, 11 and 13 run only when the caller passes a :class:`LandingPlausibility`
(the dbt landing models always do, from var ``landing_plausibility``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from market_regimes.seed_config import convert_value

PRICE_COLUMNS = ("open", "high", "low", "close")

# (max_price x max_volume)^2 must stay finite in float64 (about 1.8e308): quote_volume =
# close x volume and the variances downstream models take of it (project definition).
_MAX_PRODUCT = 1e150


@dataclass(frozen=True)
class LandingPlausibility:
    """Plausibility bounds of landed values (docs/landing.md; dbt var ``landing_plausibility``).

    A value outside its bound is quarantined with a reason (row level), never landed: a
    number like 1e308 is finite, but close x volume overflows and breaks downstream models.
    All bounds are project definitions.

    Attributes:
        max_price: largest plausible price, quote currency (default 1e12); open, high,
            low and close must be <= it. Finite, > 0.
        max_volume: largest plausible volume, base units (default 1e18). Finite, > 0.
            max_price x max_volume must be <= 1e150 (its square stays finite).
        max_abs_log_return: largest plausible |ln(close / previous valid close)| of a
            series (default ln(100) = 4.605..., a 100x jump either way). Finite, > 0.
        earliest_timestamp: earliest plausible bar start / reading time, naive UTC
            (default 2009-01-03, the Bitcoin genesis block) for klines and dominance.
        earliest_daily_timestamp: the same for daily series (default 2009-01-03; lower
            it for equity history such as SPY or VIX).
        max_future_bars: a bar may start at most this many bar intervals after loaded_at
            (default 1: the bar in progress plus one interval of clock skew). >= 0.
        max_gap_bars: the jump check compares a close only with a previous valid close
            at most this many bar intervals earlier (default 24). A longer gap starts a new
            segment downstream (var ``max_gap_bars``, docs/bars-and-drivers.md; the dbt
            models pass that var), and a relisting after a gap may restart at any price
            (LUNAUSDT on Binance: 5e-05 on 2022-05-13, 8.56 on 2022-05-31). >= 0.

    Raises:
        ValueError: "landing plausibility: <field> = <value> ..." on an invalid value
            (also on direct construction).
    """

    max_price: float = 1e12
    max_volume: float = 1e18
    max_abs_log_return: float = math.log(100)
    earliest_timestamp: pd.Timestamp = pd.Timestamp("2009-01-03")
    earliest_daily_timestamp: pd.Timestamp = pd.Timestamp("2009-01-03")
    max_future_bars: float = 1.0
    max_gap_bars: float = 24.0

    def __post_init__(self) -> None:
        for name in ("max_price", "max_volume", "max_abs_log_return", "max_future_bars", "max_gap_bars"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"landing plausibility: {name} = {value!r} is not a finite number")
            object.__setattr__(self, name, float(value))
        for name in ("max_price", "max_volume", "max_abs_log_return"):
            if getattr(self, name) <= 0:
                raise ValueError(f"landing plausibility: {name} = {getattr(self, name)!r} must be > 0")
        for name in ("max_future_bars", "max_gap_bars"):
            if getattr(self, name) < 0:
                raise ValueError(f"landing plausibility: {name} = {getattr(self, name)!r} must be >= 0")
        if self.max_price * self.max_volume > _MAX_PRODUCT:
            raise ValueError(
                f"landing plausibility: max_price x max_volume = {self.max_price * self.max_volume:g} "
                f"must be <= {_MAX_PRODUCT:g} (close x volume and its square must stay finite)"
            )
        for name in ("earliest_timestamp", "earliest_daily_timestamp"):
            raw = getattr(self, name)
            try:
                ts = pd.Timestamp(raw)
            except (TypeError, ValueError):
                raise ValueError(f"landing plausibility: {name} = {raw!r} is not a timestamp") from None
            if pd.isna(ts):
                raise ValueError(f"landing plausibility: {name} = {raw!r} is not a timestamp")
            if ts.tzinfo is not None:
                ts = ts.tz_convert("UTC").tz_localize(None)
            object.__setattr__(self, name, ts.as_unit("us"))

    @classmethod
    def from_mapping(cls, values: Mapping[str, object] | None) -> LandingPlausibility:
        """Build from key -> value (dbt renders var values as text); keys left out, and
        values that are None or empty text (a key missing from an overriding var), keep
        their defaults.

        Raises:
            ValueError: unknown keys ("landing plausibility: unknown keys [...]"), a value
                that is not a number / timestamp, or out of range.
        """
        values = dict(values or {})
        kinds = {f.name: ("timestamp" if "Timestamp" in str(f.type) else "float") for f in fields(cls)}
        unknown = sorted(set(values) - set(kinds))
        if unknown:
            raise ValueError(f"landing plausibility: unknown keys {unknown} (known: {sorted(kinds)})")
        out: dict[str, object] = {}
        for key, raw in values.items():
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            if kinds[key] == "timestamp":
                out[key] = str(raw).strip()
                continue
            try:
                if isinstance(raw, bool):
                    raise ValueError(raw)
                out[key] = convert_value("float", raw)
            except (TypeError, ValueError):
                raise ValueError(f"landing plausibility: {key} = {raw!r} is not a finite number") from None
        return cls(**out)

    def earliest_for(self, table: str) -> pd.Timestamp:
        """The earliest plausible timestamp of raw table ``table`` (klines, dominance, daily)."""
        return self.earliest_daily_timestamp if table == "daily" else self.earliest_timestamp


def parse_timestamps(values: pd.Series) -> pd.Series:
    """Parse ISO-8601 strings (with or without a UTC offset) or epoch milliseconds.

    Returns naive UTC ``datetime64[us]``; NaT where a value cannot be parsed.
    Epoch values are recognised as integers or 12-13 digit strings (milliseconds).
    """
    if len(values) == 0:
        return pd.Series([], dtype="datetime64[us]", index=values.index)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    if pd.api.types.is_datetime64_any_dtype(values):  # Parquet timestamps: naive = UTC
        return values.astype("datetime64[us]")
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_datetime(values, unit="ms", errors="coerce").astype("datetime64[us]")
    plain = _parse_plain_utc(values)
    if plain is not None:
        return plain
    parsed = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
    out = parsed.dt.tz_localize(None).astype("datetime64[us]")
    failed = out.isna()
    if failed.any():
        failed &= values.notna()
    if failed.any():  # careful path for the few values ISO-8601 parsing refused
        text = values[failed].astype(str).str.strip()
        is_epoch = text.str.fullmatch(r"\d{12,13}")
        retry = pd.to_datetime(text[~is_epoch], format="ISO8601", utc=True, errors="coerce")
        out[text[~is_epoch].index] = retry.dt.tz_localize(None).astype("datetime64[us]")
        if is_epoch.any():
            ms = pd.to_numeric(text[is_epoch], errors="coerce")
            out[text[is_epoch].index] = pd.to_datetime(ms, unit="ms", errors="coerce").astype("datetime64[us]")
    return out


#: ``YYYY-MM-DD HH:MM:SS`` (or ``T``), naive or UTC (``+00:00`` / ``Z``): exchange exports.
_PLAIN_UTC = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\+00:00|Z)?$"


#: _PLAIN_UTC by byte: positions of digits, of "-", of ":", and the suffix per length.
_PLAIN_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
_PLAIN_SUFFIX = {19: b"", 20: b"Z", 25: b"+00:00"}


def _all_plain_utc(text: pa.Array | pa.ChunkedArray) -> bool:
    """Every value of ``text`` (Arrow strings without nulls) matches :data:`_PLAIN_UTC`.

    When all values have the same byte length (19, 20 or 25: one export format) the
    bytes are checked as a (rows x length) matrix, position by position, which is what
    the pattern says for that length; otherwise (or for another length) by the regex."""
    arr = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        offset_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
        buffers = arr.buffers()
        size = np.dtype(offset_type).itemsize
        offsets = np.frombuffer(buffers[1], dtype=offset_type, count=len(arr) + 1, offset=arr.offset * size)
        width = int(offsets[1] - offsets[0])
        if width in _PLAIN_SUFFIX and buffers[2] is not None and (np.diff(offsets) == width).all():
            data = np.frombuffer(
                buffers[2], dtype=np.uint8, count=int(offsets[-1] - offsets[0]), offset=int(offsets[0])
            )
            data = data.reshape(-1, width)
            digits = data[:, _PLAIN_DIGITS]
            return bool(
                ((digits >= ord("0")) & (digits <= ord("9"))).all()
                and (data[:, [4, 7]] == ord("-")).all()
                and (data[:, [13, 16]] == ord(":")).all()
                and ((data[:, 10] == ord(" ")) | (data[:, 10] == ord("T"))).all()
                and (data[:, 19:] == np.frombuffer(_PLAIN_SUFFIX[width], dtype=np.uint8)).all()
            )
    return bool(pc.all(pc.match_substring_regex(arr, _PLAIN_UTC)).as_py())


def _parse_plain_utc(values: pd.Series) -> pd.Series | None:
    """:func:`parse_timestamps` of a column whose every value is text of :data:`_PLAIN_UTC`
    and a valid calendar time, parsed by Arrow (the first 19 characters, a naive UTC time;
    several times faster than pandas' ISO-8601 parser, same values); None otherwise (a
    value of another form, missing or invalid such as 24:00:00 or 02-30), and the caller
    parses as before."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        text = pa.array(values.array)  # the Arrow data itself
        if text.null_count:
            return None
    elif values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) == "string":
        text = pa.array(values.to_numpy(), type=pa.string())
    else:
        return None
    if not _all_plain_utc(text):
        return None
    try:
        parsed = pc.cast(pc.utf8_slice_codeunits(text, 0, 19), pa.timestamp("us"))
    except pa.ArrowInvalid:
        return None
    return pd.Series(parsed.to_numpy(zero_copy_only=False), index=values.index, dtype="datetime64[us]")


def to_float(values: pd.Series) -> pd.Series:
    """Parse numbers; unparseable text becomes NaN (reported as non-finite)."""
    return pd.to_numeric(values, errors="coerce").astype("float64")


def bar_checks(
    ts: pd.Series,
    raw_ts: pd.Series,
    prices: pd.DataFrame,
    volume: pd.Series | None,
    interval_minutes: int | None,
    *,
    earliest: pd.Timestamp | None = None,
    latest: pd.Timestamp | None = None,
    max_price: float | None = None,
    max_volume: float | None = None,
) -> pd.Series:
    """Return the first failing reason per row (None where the row is valid).

    Args:
        ts: parsed timestamps (NaT = unparseable).
        raw_ts: the original timestamp text, quoted in the reason.
        prices: float columns open/high/low/close.
        volume: float volume or None when the layout has no volume.
        interval_minutes: bar length for the alignment check; None skips it.
        earliest, latest: plausible timestamp range [earliest, latest] (naive UTC);
            None skips the bound. Reasons "timestamp before the earliest plausible
            <earliest>" / "timestamp after loaded_at + <n> bar interval(s) (<latest>)".
        max_price, max_volume: plausibility maxima (inclusive); None skips them. Reasons
            "price above the plausible maximum <max>" / "volume above the plausible
            maximum <max>".
    """
    values = prices[list(PRICE_COLUMNS)].to_numpy()
    o, h, lo, c = (values[:, i] for i in range(len(PRICE_COLUMNS)))
    finite = np.isfinite(values).all(axis=1)
    positive = (values > 0).all(axis=1)
    conditions = [ts.isna().to_numpy()]
    reasons = ["unparseable timestamp"]
    if interval_minutes is not None:
        epoch_us = ts.fillna(pd.Timestamp(0)).astype("datetime64[us]").astype("int64")
        conditions.append((epoch_us.to_numpy() % (interval_minutes * 60_000_000)) != 0)
        reasons.append(f"unaligned timestamp for a {interval_minutes}-minute bar")
    if earliest is not None:
        conditions.append((ts < earliest).to_numpy())
        reasons.append(f"timestamp before the earliest plausible {earliest}")
    if latest is not None:
        conditions.append((ts > latest).to_numpy())
        reasons.append(f"timestamp after loaded_at + the allowed bar interval(s) ({latest})")
    conditions += [~finite, ~positive]
    reasons += ["non-finite or unparseable price", "non-positive price"]
    if max_price is not None:
        conditions.append((values > max_price).any(axis=1))
        reasons.append(f"price above the plausible maximum {max_price:g}")
    conditions += [h < lo, h < np.maximum(o, c), lo > np.minimum(o, c)]
    reasons += ["high below low", "high below max(open, close)", "low above min(open, close)"]
    if volume is not None:
        conditions += [~np.isfinite(volume.to_numpy()), (volume < 0).to_numpy()]
        reasons += ["non-finite or unparseable volume", "negative volume"]
        if max_volume is not None:
            conditions.append((volume > max_volume).to_numpy())
            reasons.append(f"volume above the plausible maximum {max_volume:g}")
    # the first failing condition's position (1-based; 0 = valid), then its reason text:
    # no per-row string array is built, only references to the few reason strings
    code = np.select(conditions, list(range(1, len(conditions) + 1)), default=0)
    text = np.array([None, *reasons], dtype=object)
    out = pd.Series(text[code], index=ts.index, dtype="object")
    bad_ts = pd.Series(code == 1, index=ts.index)  # conditions[0]: unparseable timestamp
    if bad_ts.any():
        out[bad_ts] = "unparseable timestamp " + raw_ts[bad_ts].astype(str).str.slice(0, 40).map(repr)
    return out


_FEW_RUNS = 1000  # group_codes: up to this many runs are coded in Python
_NA = object()  # group_codes: the key of a missing value (None, NaN, NaT alike)


def run_starts(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Positions where a run of rows with equal ``columns`` values begins (always 0 when
    ``frame`` has rows). Neighbours are compared with ``!=``: a missing value that is
    NaN starts a run of its own, None continues a run of None."""
    n = len(frame)
    change = np.zeros(n, dtype=bool)
    if n:
        change[0] = True
    for col in columns:
        values = frame[col].to_numpy()
        change[1:] |= np.asarray(values[1:] != values[:-1], dtype=bool)
    return np.flatnonzero(change)


def group_codes(frame: pd.DataFrame, columns: Sequence[str], *, dropna: bool) -> np.ndarray:
    """``frame.groupby(columns, sort=False, dropna=dropna).ngroup()`` as an int64 array
    (-1 for a row whose group is dropped: a missing key value with ``dropna``).

    Only the first row of each run of equal neighbours (:func:`run_starts`) is grouped,
    then its code is repeated over the run: ledger rows come file by file, so columns
    such as source_file, layout, exchange or symbol change at a handful of rows and the
    per-row hashing of millions of strings is avoided. Equal values get equal codes
    wherever they occur (runs are grouped by value, not by position)."""
    n = len(frame)
    if n == 0:
        return np.empty(0, dtype="int64")
    starts = run_starts(frame, columns)
    if len(starts) > _FEW_RUNS:
        firsts = frame[list(columns)].iloc[starts].reset_index(drop=True)
        codes = firsts.groupby(list(columns), sort=False, dropna=dropna).ngroup()
        codes = codes.fillna(-1).to_numpy(dtype="int64")
    else:  # a few runs: a dict beats pandas' per-call overhead; any missing value is one NA
        firsts = zip(*(frame[col].to_numpy()[starts] for col in columns))
        seen: dict[tuple, int] = {}
        codes = np.empty(len(starts), dtype="int64")
        for i, key in enumerate(firsts):
            na = [bool(pd.isna(v)) if np.ndim(v) == 0 else False for v in key]
            if dropna and any(na):
                codes[i] = -1
                continue
            key = tuple(_NA if m else v for v, m in zip(key, na))
            codes[i] = seen.setdefault(key, len(seen))
    return np.repeat(codes, np.diff(np.append(starts, n)))


def _ascending(codes: np.ndarray, times: np.ndarray) -> bool:
    """True when the rows are in (code, time) order with no time missing: a stable sort
    by (code, time, row order) would leave every row where it is."""
    if len(times) and pd.isna(times[0]):
        return False
    same = codes[1:] == codes[:-1]
    return bool(np.all((codes[1:] > codes[:-1]) | (same & (times[1:] >= times[:-1]))))


def first_reason(*reasons: pd.Series) -> pd.Series:
    """Combine reason series: keep the first non-null reason per row."""
    result = reasons[0].copy()
    for extra in reasons[1:]:
        result = result.where(result.notna(), extra)
    return result


def jump_reason(close: float, prev_close: float, prev_time: pd.Timestamp, limit: float) -> str:
    """The reject reason of a close that jumped more than ``limit`` in |ln| from ``prev_close``."""
    return (
        f"close {close:.10g} jumps {close / prev_close:.4g}x from the previous valid close "
        f"{prev_close:.10g} of {prev_time} (|ln return| {abs(math.log(close / prev_close)):.3f} "
        f"> {limit:.3f})"
    )


def jump_reasons(
    rows: pd.DataFrame,
    series_columns: Sequence[str],
    time_column: str,
    limit: float,
    previous: pd.DataFrame | None = None,
) -> pd.Series:
    """Reject reasons of the close-to-close jump check (None where the row passes).

    A row fails when ``|ln(close / previous valid close)| > limit``. The previous valid
    close of a row is the close of the newest earlier bar (strictly earlier
    ``time_column``) of the same series among (a) the rows of ``rows`` that passed this
    check, in order (``rows`` must be in landing order: for several versions of one bar,
    the last that passed counts), and (b) ``previous`` (the landed history); the later of
    the two, ``rows`` winning a tie. A previous close more than ``max_gap`` before the
    row does not count (a new segment; project definition, as var max_gap_bars). A row
    without a previous close passes.
    Sequential on purpose: after a rejected spike, the next bar is compared with the close
    before the spike (project definition). After a level shift without a gap, the bars at
    the new level are rejected until the last valid close is more than ``max_gap`` old;
    the series then continues from the new level (a new segment downstream).

    Args:
        rows: the candidate rows (every earlier check passed): ``series_columns``,
            ``time_column`` (naive UTC), ``close`` (> 0, finite), ``max_gap``
            (timedelta: max_gap_bars x the row's bar interval).
        series_columns: the series key without the time (klines: exchange, symbol,
            bar_interval; dominance and daily: series).
        time_column: bar_start or reading_at.
        limit: max_abs_log_return (> 0).
        previous: the landed history's previous close per (series, time) of ``rows``:
            ``series_columns``, ``time_column``, ``prev_time``, ``prev_close`` (NaN /
            NaT when none), or None.
    Returns:
        object Series aligned with ``rows.index``.
    """
    out = pd.Series(None, index=rows.index, dtype="object")
    if rows.empty:
        return out
    keys = list(series_columns)
    work = rows[keys + [time_column, "close", "max_gap"]].copy()
    work["_order"] = np.arange(len(work))
    if previous is not None and len(previous):
        prev = previous[keys + [time_column, "prev_time", "prev_close"]].drop_duplicates(keys + [time_column])
        work = work.merge(prev, on=keys + [time_column], how="left")
        work.index = rows.index[work["_order"].to_numpy()]
        work["prev_time"] = pd.to_datetime(work["prev_time"]).astype("datetime64[us]")
    else:
        work["prev_time"] = pd.NaT
        work["prev_close"] = np.nan
        work.index = rows.index
    # series by code (group_codes, dropna=False: as groupby(keys, dropna=False)); each
    # series is checked on its own, so the order in which series are visited is free
    series = group_codes(work, keys, dropna=False)
    times = work[time_column].to_numpy()
    if not _ascending(series, times):  # usually in order already: one file, times ascending
        work["_series"] = series
        work = work.sort_values(["_series", time_column, "_order"], kind="stable")
        series = work["_series"].to_numpy()
    bounds = np.flatnonzero(series[1:] != series[:-1]) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(work)]):
        group = work.iloc[lo:hi]
        times = group[time_column].to_numpy()
        closes = group["close"].to_numpy(dtype="float64")
        ex_times = group["prev_time"].to_numpy()
        ex_closes = group["prev_close"].to_numpy(dtype="float64")
        max_gap = group["max_gap"].to_numpy(dtype="timedelta64[us]")
        ex_times = np.where(times - ex_times <= max_gap, ex_times, np.datetime64("NaT"))  # NaT stays NaT
        # fast path: no row fails when each is compared with the last version of the
        # previous distinct time (or the landed history's close when that is later)
        new_time = np.r_[True, times[1:] != times[:-1]]
        start = np.maximum.accumulate(np.where(new_time, np.arange(len(times)), 0))
        prev_idx = start - 1  # the last row of the previous time; -1 for the first time
        in_close = np.where(prev_idx >= 0, closes[np.maximum(prev_idx, 0)], np.nan)
        in_time = np.where(prev_idx >= 0, times[np.maximum(prev_idx, 0)], np.datetime64("NaT"))
        in_time = np.where(times - in_time <= max_gap, in_time, np.datetime64("NaT"))
        use_ex = ~np.isnat(ex_times) & (np.isnat(in_time) | (ex_times > in_time))
        ref = np.where(use_ex, ex_closes, np.where(np.isnat(in_time), np.nan, in_close))
        with np.errstate(divide="ignore", invalid="ignore"):
            jump = np.abs(np.log(closes / ref))
        if not (jump > limit).any():
            continue
        _walk_series(group, times, closes, ex_times, ex_closes, max_gap, limit, out)
    return out


def _walk_series(
    group: pd.DataFrame, times, closes, ex_times, ex_closes, max_gap, limit: float, out: pd.Series
) -> None:
    """Sequential jump check of one series (rows sorted by time, then landing order)."""
    last_time, last_close = None, None  # newest accepted row at an earlier time
    cur_time, cur_close = None, None  # last accepted row at the current time
    for i, label in enumerate(group.index):
        t = times[i]
        if cur_time is not None and t != cur_time:
            if cur_close is not None:
                last_time, last_close = cur_time, cur_close
            cur_close = None
        cur_time = t
        ref_time, ref_close = last_time, last_close
        if ref_time is not None and t - ref_time > max_gap[i]:
            ref_time, ref_close = None, None  # a gap: a new segment starts
        if not np.isnat(ex_times[i]) and (ref_time is None or ex_times[i] > ref_time):
            ref_time, ref_close = ex_times[i], ex_closes[i]  # within max_gap (masked above)
        if ref_close is not None and abs(math.log(closes[i] / ref_close)) > limit:
            out[label] = jump_reason(float(closes[i]), float(ref_close), pd.Timestamp(ref_time), limit)
            continue
        cur_close = closes[i]
