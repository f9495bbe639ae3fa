"""Landing ledger: one row per record read, with its fate ("nothing lost", docs/landing.md).

``land_files`` reads new landing files of one layout and returns the rows to append to
that layout's raw table. Every record read gets exactly one ``status``:

* ``landed`` — valid, and either the first version of its key, a different version that
  supersedes a *provisional* one (the newest bar of the file it came from), or a
  *correction* (a file under ``corrections/``) that supersedes the current version on
  purpose (``superseded_version`` keeps the values it replaced);
* ``collapsed`` — an identical duplicate of the current version of its key (counted);
* ``rejected`` — quarantined with ``reject_reason``: a bad value, an implausible value
  (:class:`~market_regimes.landing.validate.LandingPlausibility`), wrong field count,
  unparseable or unaligned timestamp, a conflicting duplicate of a *final* bar, a
  correction of a key that never landed — or the whole file (one row, line_number 0,
  reason ``file: <reason>``: unreadable, bad name, unknown header, no records, ...).

Keys: klines (exchange, symbol, bar_interval, bar_start); dominance (series, reading_at);
daily (series, bar_start). Records are resolved in landing order: per series, the files
sorted by path, then the correction files sorted by path, each by line number, after the
versions already landed (``existing``).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..frames import map_distinct
from .layouts import CORRECTIONS, INTERVAL_MINUTES, LandingFile, LandingFileError, parse_landing_path
from .readers import TextTable, read_landing_file
from .validate import (
    LandingPlausibility,
    bar_checks,
    first_reason,
    group_codes,
    jump_reasons,
    parse_timestamps,
    run_starts,
    to_float,
)

log = logging.getLogger("market_regimes.landing")


@dataclass(frozen=True)
class LayoutSpec:
    """Output shape of one layout's raw ledger table."""

    key_columns: tuple[str, ...]
    value_columns: tuple[str, ...]
    columns: tuple[str, ...]


_COMMON_HEAD = ("source_file", "line_number", "content_hash", "layout")
# superseded_version came later: it stays the LAST column so an existing ledger (an
# incremental append table) gets it by on_schema_change=append_new_columns.
_COMMON_TAIL = ("is_newest_in_file", "status", "reject_reason", "raw_record", "loaded_at", "superseded_version")
OHLCV = ("open", "high", "low", "close", "volume")
#: Prefix of the reason of a whole-file reject (one ledger row with line_number 0).
FILE_REJECT_PREFIX = "file: "
#: The reason of a correction whose key has no landed version.
CORRECTION_WITHOUT_KEY = "correction of a key that never landed"

LAYOUT_SPECS: dict[str, LayoutSpec] = {
    "klines": LayoutSpec(
        key_columns=("exchange", "symbol", "bar_interval", "bar_start"),
        value_columns=OHLCV,
        columns=_COMMON_HEAD + ("exchange", "symbol", "bar_interval", "bar_start") + OHLCV + _COMMON_TAIL,
    ),
    "dominance": LayoutSpec(
        key_columns=("series", "reading_at"),
        value_columns=("dominance_pct",),
        columns=_COMMON_HEAD + ("series", "reading_interval", "reading_at", "dominance_pct") + _COMMON_TAIL,
    ),
    "daily": LayoutSpec(
        key_columns=("series", "bar_start"),
        value_columns=OHLCV,
        columns=_COMMON_HEAD + ("series", "bar_start") + OHLCV + _COMMON_TAIL,
    ),
}
#: Which raw table a ledger ``layout`` value writes to (snapshots are exchange candles too;
#: ``corrections/<layout>`` rows correct that layout's table).
RAW_TABLE_OF_LAYOUT = {
    "klines": "klines",
    "snapshots": "klines",
    "dominance": "dominance",
    "daily": "daily",
    f"{CORRECTIONS}/klines": "klines",
    f"{CORRECTIONS}/dominance": "dominance",
    f"{CORRECTIONS}/daily": "daily",
}

DTYPES = {
    "source_file": "object",
    "line_number": "int64",
    "content_hash": "object",
    "layout": "object",
    "exchange": "object",
    "symbol": "object",
    "bar_interval": "object",
    "bar_start": "datetime64[us]",
    "series": "object",
    "reading_interval": "object",
    "reading_at": "datetime64[us]",
    "open": "float64",
    "high": "float64",
    "low": "float64",
    "close": "float64",
    "volume": "float64",
    "dominance_pct": "float64",
    "is_newest_in_file": "bool",
    "status": "object",
    "reject_reason": "object",
    "raw_record": "object",
    "loaded_at": "datetime64[us]",
    "superseded_version": "object",
}


def empty_ledger(table: str) -> pd.DataFrame:
    """An empty ledger frame with the exact columns and dtypes of ``table``."""
    return pd.DataFrame({c: pd.Series([], dtype=DTYPES[c]) for c in LAYOUT_SPECS[table].columns})


def _text(value: str | None, index: pd.Index) -> pd.Series:
    """A column holding one text value on every row, as ``object`` (the ledger's text
    dtype, :data:`DTYPES`): a plain scalar would make an Arrow-backed string column that
    every later step (grouping, duplicate keys, the final cast) has to convert."""
    values = np.empty(len(index), dtype=object)
    values.fill(value)  # one reference on every row (np.full would copy a str per row)
    return pd.Series(values, index=index, dtype="object")


def _is_correction(layout: pd.Series) -> np.ndarray:
    """Per row: is the ``layout`` a ``corrections/...`` one (bool array). The test runs
    once per run of equal neighbours (a file's rows share their layout)."""
    starts = run_starts(layout.to_frame(), [layout.name])
    prefix = CORRECTIONS + "/"
    firsts = np.array([isinstance(v, str) and v.startswith(prefix) for v in layout.to_numpy()[starts]], dtype=bool)
    return np.repeat(firsts, np.diff(np.append(starts, len(layout))))


def _strictly_increasing(codes: np.ndarray, times: np.ndarray) -> bool:
    """True when every row's (code, time) pair is above the previous row's: a higher
    code, or the same code and a later time (a NaT is never later). Then no pair occurs
    twice (no duplicate key); False says nothing."""
    if len(codes) < 2:
        return True
    later = (codes[1:] == codes[:-1]) & (times[1:] > times[:-1])
    return bool(np.all((codes[1:] > codes[:-1]) | later))


def _time_column(table: str) -> str:
    return LAYOUT_SPECS[table].key_columns[-1]


def snapshot_minute_sibling(source_file: str) -> str | None:
    """The ``_1m.json`` snapshot of the same hour and symbol as a ``_1h.json`` snapshot path
    (the file its candle is cross-checked against), else None."""
    if source_file.startswith("snapshots/") and source_file.endswith("_1h.json"):
        return source_file[: -len("_1h.json")] + "_1m.json"
    return None


def _snapshot_reasons(
    info: LandingFile, text: TextTable, ts: pd.Series, prices: pd.DataFrame, sibling: tuple[str, TextTable] | None
) -> pd.Series:
    """Row reasons of the snapshot cross-checks (docs/landing.md, "Hourly snapshots"), None
    where a row passes: the hour of the folder against ``metadata.hour_start``, the symbol
    of the file name against ``metadata.symbol``, every row inside the hour, and a ``_1h``
    candle against the minute prices of its hour's ``_1m`` file (`sibling`: its path and
    text, when landed in the same batch or before): high >= the highest minute price, low
    <= the lowest, close = the price of minute :59 when present (relative 1e-12: both files
    are integers / their price_scale)."""
    reason = pd.Series(None, index=ts.index, dtype="object")
    meta_hour = text.extra.get("hour_start")
    hour = pd.Timestamp(info.hour_start) if info.hour_start else None
    if meta_hour:
        parsed = parse_timestamps(pd.Series([meta_hour])).iloc[0]
        if hour is not None and not (parsed == hour):
            return reason.fillna(
                f"snapshot metadata.hour_start {meta_hour} is not the hour of its folder ({hour:%Y-%m-%d %H:%M} UTC)"
            )
        hour = parsed if hour is None else hour
    meta_symbol = text.extra.get("symbol")
    if isinstance(meta_symbol, str) and meta_symbol.replace("-", "").replace("/", "").upper() != info.symbol:
        return reason.fillna(f"snapshot metadata.symbol {meta_symbol} does not match the file name's {info.symbol}")
    if hour is not None and not pd.isna(hour):
        outside = (ts < hour) | (ts >= hour + pd.Timedelta(hours=1))
        reason = reason.where(~outside.fillna(False), "outside the snapshot hour")
    if sibling is None or info.bar_interval != "1h" or not len(ts):
        return reason
    sibling_file, minutes = sibling
    m_ts = parse_timestamps(minutes.records["ts"]) if len(minutes.records) else pd.Series([], dtype="datetime64[us]")
    m_close = pd.to_numeric(minutes.records["close"], errors="coerce") if len(minutes.records) else pd.Series([])
    inside = m_ts.notna() & m_close.notna() & np.isfinite(m_close) & (m_close > 0)
    if hour is not None:
        inside &= (m_ts >= hour) & (m_ts < hour + pd.Timedelta(hours=1))
    if not inside.any():
        return reason
    m_ts, m_close = m_ts[inside], m_close[inside].astype("float64")
    highest, lowest = float(m_close.max()), float(m_close.min())
    last = m_close[m_ts == m_ts.max()].iloc[-1] if m_ts.max() == hour + pd.Timedelta(minutes=59) else None
    check = pd.Series(None, index=ts.index, dtype="object")
    for i in ts.index:
        if ts[i] != hour or pd.notna(reason[i]):
            continue
        high, low, close = (float(prices.at[i, c]) for c in ("high", "low", "close"))
        if not (high >= highest or np.isclose(high, highest, rtol=1e-12, atol=0.0)):
            check[i] = f"1h candle high {high:g} below the highest minute price {highest:g} of {sibling_file}"
        elif not (low <= lowest or np.isclose(low, lowest, rtol=1e-12, atol=0.0)):
            check[i] = f"1h candle low {low:g} above the lowest minute price {lowest:g} of {sibling_file}"
        elif last is not None and not np.isclose(close, float(last), rtol=1e-12, atol=0.0):
            check[i] = f"1h candle close {close:g} differs from the minute :59 price {float(last):g} of {sibling_file}"
    return reason.where(reason.notna(), check)


def _parse_file(
    info: LandingFile,
    text: TextTable,
    loaded_at: pd.Timestamp | None = None,
    plausibility: LandingPlausibility | None = None,
    sibling: tuple[str, TextTable] | None = None,
) -> pd.DataFrame:
    """Turn one file's text records into ledger rows (status still undecided).

    With ``plausibility`` the row checks include the plausibility bounds (timestamps in
    [earliest, loaded_at + max_future_bars x the bar interval], prices <= max_price,
    volumes <= max_volume); the jump check runs later, across the series' files.
    ``is_newest_in_file`` is set later too (:func:`_mark_newest`). A snapshot's rows also
    get the cross-checks of :func:`_snapshot_reasons` (`sibling`: the ``_1m`` file of a
    ``_1h`` snapshot's hour, path and text).
    """
    rec = text.records
    n = len(rec)
    out = pd.DataFrame({"line_number": rec["line_number"].astype("int64"), "raw_record": rec["raw_record"]})
    ts = parse_timestamps(rec["ts"]) if n else pd.Series([], dtype="datetime64[us]")
    table = RAW_TABLE_OF_LAYOUT[info.layout]

    def with_columns(**columns) -> pd.DataFrame:
        """``out.assign(**columns)`` built in one step (assign inserts column by column)."""
        return pd.DataFrame({**{c: out[c] for c in out.columns}, **columns}, index=out.index)

    def bounds(minutes: int) -> dict:
        if plausibility is None:
            return {}
        latest = None
        if loaded_at is not None:
            latest = loaded_at + pd.Timedelta(minutes=minutes * plausibility.max_future_bars)
        return {
            "earliest": plausibility.earliest_for(table),
            "latest": latest,
            "max_price": plausibility.max_price,
            "max_volume": plausibility.max_volume,
        }

    if info.layout in ("klines", "snapshots"):
        exchange = info.exchange if info.layout == "klines" else text.extra.get("exchange")
        interval = info.bar_interval
        prices = pd.DataFrame({c: to_float(rec[c]) for c in ("open", "high", "low", "close")})
        volume = to_float(rec["volume"]) if info.layout == "klines" or rec["volume"].notna().any() else None
        reason = bar_checks(
            ts, rec["ts"], prices, volume, INTERVAL_MINUTES[interval], **bounds(INTERVAL_MINUTES[interval])
        )
        extra = pd.Series(None, index=rec.index, dtype="object")
        if "ticker" in rec:
            ticker = rec["ticker"]
            if ticker.dtype == object and pd.api.types.infer_dtype(ticker, skipna=False) == "string":
                # all text already (astype(str) would change nothing): test each run of equal
                # neighbours once, a file's ticker is usually one value
                starts = run_starts(rec, ["ticker"])
                firsts = [t.strip().upper() != info.symbol for t in ticker.to_numpy()[starts]]
                bad = np.repeat(np.array(firsts, dtype=bool), np.diff(np.append(starts, len(ticker))))
            else:
                ticker = ticker.astype(str)
                bad = ~map_distinct(ticker, lambda t: t.strip().upper() == info.symbol).astype(bool)
            if bad.any():  # the reason text only for the rows that fail
                extra[bad] = "ticker " + ticker[bad] + f" does not match file symbol {info.symbol}"
        if info.layout == "snapshots":
            snap = _snapshot_reasons(info, text, ts, prices, sibling)
            extra = extra.where(extra.notna(), snap)
        out = with_columns(
            exchange=_text(exchange, out.index),
            symbol=_text(info.symbol, out.index),
            bar_interval=_text(interval, out.index),
            bar_start=ts,
            **{c: prices[c] for c in prices},
            volume=volume if volume is not None else np.nan,
            reject_reason=first_reason(reason, extra),
        )
    elif info.layout == "dominance":
        pct = to_float(rec["dominance_pct"])
        prices = pd.DataFrame({c: pct for c in ("open", "high", "low", "close")})
        is_date = text.ts_kind == "date"
        reading_minutes = INTERVAL_MINUTES["1d"] if is_date else INTERVAL_MINUTES["1m"]
        reason = bar_checks(
            ts, rec["ts"], prices, None, INTERVAL_MINUTES["1d"] if is_date else None, **bounds(reading_minutes)
        )
        extra = pd.Series(None, index=rec.index, dtype="object").where(~(pct > 100), "dominance above 100 percent")
        out = with_columns(
            series=_text(info.series, out.index),
            reading_interval=_text("1d" if is_date else "1m", out.index),
            reading_at=ts,
            dominance_pct=pct,
            reject_reason=first_reason(reason, extra),
        )
    elif info.layout == "daily":
        close = to_float(rec["close"])
        prices = pd.DataFrame({c: (to_float(rec[c]) if c in rec else close) for c in ("open", "high", "low", "close")})
        volume = to_float(rec["volume"]) if "volume" in rec else None
        reason = bar_checks(ts, rec["ts"], prices, volume, INTERVAL_MINUTES["1d"], **bounds(INTERVAL_MINUTES["1d"]))
        out = with_columns(
            series=_text(info.series, out.index),
            bar_start=ts,
            **{c: prices[c] for c in prices},
            volume=volume if volume is not None else np.nan,
            reject_reason=reason,
        )
    # Values of rejected rows are kept only in raw_record: a half-parsed number is no datum.
    valid = out["reject_reason"].isna()
    out.loc[valid, "raw_record"] = None
    missing_raw = ~valid & out["raw_record"].isna()
    if missing_raw.any():
        out.loc[missing_raw, "raw_record"] = text.line_text(out.loc[missing_raw, "line_number"]).to_numpy()
    rej = text.framing_rejects
    if len(rej):
        framing = pd.DataFrame(
            {
                "line_number": rej["line_number"].astype("int64"),
                "raw_record": rej["raw_record"],
                "reject_reason": rej["reason"],
            }
        )
        out = pd.concat([out, framing], ignore_index=True) if len(out) else framing
    return out


def _mark_newest(rows: pd.DataFrame, time_column: str) -> pd.Series:
    """``is_newest_in_file``: the valid rows at the newest valid time of their file
    (source_file, content_hash); always False in a correction file (a correction is final
    on purpose) and for rejected rows."""
    valid = rows["reject_reason"].isna() & ~_is_correction(rows["layout"])
    times = rows[time_column].where(valid)
    # a file's rows: group codes of (source_file, content_hash), -1 (no group) when missing
    files = group_codes(rows, ["source_file", "content_hash"], dropna=True)
    times = times.where(files >= 0)  # no file, no newest (as groupby's dropped NaN keys)
    newest = times.groupby(files, sort=False).transform("max")
    return (valid & (times == newest)).astype(bool)


def _layout_of_path(source_file: str) -> str:
    """The ledger layout of a file whose name could not be parsed (its folder)."""
    parts = source_file.split("/")
    if parts[0] == CORRECTIONS and len(parts) > 1 and f"{CORRECTIONS}/{parts[1]}" in RAW_TABLE_OF_LAYOUT:
        return f"{CORRECTIONS}/{parts[1]}"
    return parts[0]


def file_reject(table: str, source_file: str, content_hash: str, layout: str, reason: str) -> pd.DataFrame:
    """The single ledger row of a file quarantined whole: line_number 0, status
    ``rejected``, reject_reason ``file: <reason>``, no key, no values, no raw_record."""
    row = {c: None for c in LAYOUT_SPECS[table].columns}
    row.update(
        source_file=source_file,
        line_number=0,
        content_hash=content_hash,
        layout=layout,
        is_newest_in_file=False,
        status="rejected",
        reject_reason=FILE_REJECT_PREFIX + reason,
    )
    return pd.DataFrame([row])


def _same(a: tuple, b: tuple) -> bool:
    return all(
        (x == y) or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
        for x, y in zip(a, b)
    )


def _version_json(values: tuple, value_columns: tuple[str, ...], origin: dict) -> str:
    """A replaced version as JSON: its source_file, line_number (and loaded_at when it
    landed earlier) and values (NaN as null)."""
    doc = {k: v for k, v in origin.items() if v is not None}
    for col, v in zip(value_columns, values):
        doc[col] = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
    return json.dumps(doc)


def resolve_duplicates(rows: pd.DataFrame, spec: LayoutSpec, existing: pd.DataFrame | None) -> pd.DataFrame:
    """Decide landed / collapsed / rejected for valid rows, in landing order.

    Args:
        rows: ledger rows in landing order with ``reject_reason`` set for invalid rows;
            a ``layout`` of ``corrections/...`` marks a correction row.
        spec: the layout's key and value columns.
        existing: the current version per key already landed (key + value columns +
            ``is_newest_in_file``, optionally ``source_file``, ``line_number``,
            ``loaded_at`` of that version), or None.
    Returns:
        ``rows`` with ``status``, ``reject_reason`` and ``superseded_version`` filled in.
        A correction that differs from the current version lands and records the
        replaced version in ``superseded_version`` (JSON); one equal to it collapses; one
        of a key without a landed version is rejected (:data:`CORRECTION_WITHOUT_KEY`).
    """
    rows = rows.copy(deep=False)  # copy-on-write: the caller's frame is never modified
    status = np.array(["rejected", "landed"], dtype=object)[rows["reject_reason"].isna().to_numpy().astype(np.intp)]
    rows["status"] = pd.Series(status, index=rows.index, dtype="object")
    if "superseded_version" not in rows:
        rows["superseded_version"] = None
    landed = status == "landed"
    if not landed.any():
        return rows
    keys = list(spec.key_columns)
    used = {*keys, *spec.value_columns, "is_newest_in_file", "source_file", "line_number", "layout"}
    valid = rows.loc[landed, [c for c in rows.columns if c in used]]
    is_correction = _is_correction(valid["layout"]) if "layout" in valid else np.zeros(len(valid), dtype=bool)
    # duplicated keys: the series part as group codes (equal values, equal code, NaN
    # equal to NaN as in DataFrame.duplicated), then (code, time) pairs
    series = group_codes(valid, keys[:-1], dropna=False) if len(keys) > 1 else np.zeros(len(valid), dtype="int64")
    times = valid[keys[-1]].to_numpy()
    if _strictly_increasing(series, times):
        duplicated = np.zeros(len(valid), dtype=bool)  # the usual case: one file, times ascending
    else:
        duplicated = pd.DataFrame({"series": series, "time": times}).duplicated(keep=False).to_numpy()
    contested = duplicated | is_correction
    if existing is not None and len(existing):
        hit = valid[keys].merge(existing[keys].drop_duplicates(), on=keys, how="left", indicator=True)["_merge"]
        contested = contested | (hit.to_numpy() == "both")
    if not contested.any():
        return rows
    current: dict[tuple, tuple[tuple, bool, dict]] = {}
    if existing is not None and len(existing):
        origin_cols = [c for c in ("source_file", "line_number", "loaded_at") if c in existing]
        for rec in existing[keys + list(spec.value_columns) + ["is_newest_in_file"] + origin_cols].to_dict("records"):
            k = tuple(rec[c] for c in keys)
            origin = {c: (str(rec[c]) if c == "loaded_at" else rec[c]) for c in origin_cols}
            if "line_number" in origin:
                origin["line_number"] = int(origin["line_number"])
            current[k] = (tuple(rec[c] for c in spec.value_columns), bool(rec["is_newest_in_file"]), origin)
    sub = valid[contested]
    key_tuples = list(sub[keys].itertuples(index=False, name=None))
    values = list(sub[list(spec.value_columns)].itertuples(index=False, name=None))
    files = sub["source_file"].tolist() if "source_file" in sub else [None] * len(sub)
    lines = sub["line_number"].tolist()
    for idx, k, v, newest, corr, src, line in zip(
        sub.index,
        key_tuples,
        values,
        sub["is_newest_in_file"].to_numpy(),
        is_correction[contested],
        files,
        lines,
    ):
        origin = {"source_file": src, "line_number": int(line)}
        if corr:
            if k not in current:
                rows.at[idx, "status"] = "rejected"
                rows.at[idx, "reject_reason"] = CORRECTION_WITHOUT_KEY
                rows.at[idx, "raw_record"] = ",".join(str(x) for x in (*k, *v))
            elif _same(v, current[k][0]):
                rows.at[idx, "status"] = "collapsed"
            else:
                rows.at[idx, "superseded_version"] = _version_json(current[k][0], spec.value_columns, current[k][2])
                current[k] = (v, False, origin)  # a correction is final on purpose
            continue
        if k not in current:
            current[k] = (v, bool(newest), origin)
            continue
        kept_values, kept_provisional, _ = current[k]
        if _same(v, kept_values):
            rows.at[idx, "status"] = "collapsed"
        elif kept_provisional:
            current[k] = (v, bool(newest), origin)  # supersedes a provisional bar
        else:
            rows.at[idx, "status"] = "rejected"
            rows.at[idx, "reject_reason"] = "conflicting duplicate of a final bar"
            rows.at[idx, "raw_record"] = ",".join(str(x) for x in (*k, *v))
    return rows


def _read_sibling(source_file: str | None, contents: Mapping[str, bytes]) -> tuple[str, TextTable] | None:
    """(path, text) of a snapshot's ``_1m`` sibling when its bytes are known and readable."""
    if source_file is None or source_file not in contents:
        return None
    try:
        return source_file, read_landing_file(parse_landing_path(source_file), contents[source_file])
    except LandingFileError:
        return None  # the sibling is quarantined on its own


def _read_one(
    table: str,
    info: LandingFile,
    source_file: str,
    content: bytes,
    content_hash: str,
    loaded_at: pd.Timestamp,
    plausibility: LandingPlausibility | None,
    siblings: Mapping[str, bytes] | None = None,
) -> tuple[pd.DataFrame, TextTable | None]:
    """One file's ledger rows, or its single file-reject row (see :func:`file_reject`).
    siblings: contents of snapshot ``_1m`` files by path (the cross-check of a ``_1h``)."""
    spec = LAYOUT_SPECS[table]
    try:
        text = read_landing_file(info, content)
        sibling = _read_sibling(snapshot_minute_sibling(source_file), siblings or {})
        frame = _parse_file(info, text, loaded_at, plausibility, sibling)
    except LandingFileError as exc:
        log.warning("quarantined %s", exc)
        return file_reject(table, source_file, content_hash, info.ledger_layout, exc.reason), None
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - one unreadable file must not block the batch
        log.warning("quarantined %s: %s", source_file, exc)
        return file_reject(
            table, source_file, content_hash, info.ledger_layout, f"unreadable ({type(exc).__name__}: {str(exc)[:300]})"
        ), None
    if frame.empty:
        what = {"snapshots": "an empty array", "parquet": "no rows"}.get(
            info.layout if info.layout == "snapshots" else info.file_format, "a header only"
        )
        return file_reject(table, source_file, content_hash, info.ledger_layout, f"no records ({what})"), None
    frame = frame.sort_values("line_number", kind="stable")
    frame["source_file"] = _text(source_file, frame.index)
    frame["content_hash"] = _text(content_hash, frame.index)
    frame["layout"] = _text(info.ledger_layout, frame.index)
    for col in spec.columns:
        if col not in frame:
            frame[col] = None
    if log.isEnabledFor(logging.INFO):  # the count costs a pass over the rows
        log.info("read %s: %d records, %d rejected", source_file, len(frame), int(frame["reject_reason"].notna().sum()))
    return frame, text


def _apply_jump_check(
    rows: pd.DataFrame,
    table: str,
    texts: dict[tuple[str, str], TextTable],
    plausibility: LandingPlausibility,
    previous: Callable[[pd.DataFrame], pd.DataFrame | None] | None,
) -> pd.DataFrame:
    """Reject the rows whose close jumps more than ``max_abs_log_return`` from the previous
    valid close of their series (:func:`~market_regimes.landing.validate.jump_reasons`)."""
    spec = LAYOUT_SPECS[table]
    time_col = _time_column(table)
    series_cols = list(spec.key_columns[:-1])
    close_col = "dominance_pct" if table == "dominance" else "close"
    used = [*series_cols, time_col, close_col, "reading_interval" if table == "dominance" else "bar_interval"]
    cand = rows.loc[rows["reject_reason"].isna() & (rows["line_number"] > 0), [c for c in rows if c in used]]
    if cand.empty:
        return rows
    minutes = map_distinct(
        cand["reading_interval"]
        if table == "dominance"
        else cand["bar_interval"]
        if table == "klines"
        else pd.Series("1d", index=cand.index),
        INTERVAL_MINUTES,
    )
    cand = cand[series_cols + [time_col]].assign(
        close=cand[close_col].astype("float64"),
        max_gap=pd.to_timedelta(minutes.astype("float64") * plausibility.max_gap_bars, unit="min"),
    )
    prev = None
    if previous is not None:  # (series, time) and the oldest previous time that can count
        keys = cand[series_cols + [time_col]].assign(since=cand[time_col] - cand["max_gap"])
        prev = previous(keys.drop_duplicates(series_cols + [time_col]))
    reasons = jump_reasons(cand, series_cols, time_col, plausibility.max_abs_log_return, prev)
    bad = reasons.dropna()
    if bad.empty:
        return rows
    rows = rows.copy()
    rows.loc[bad.index, "reject_reason"] = bad
    for (src, digest), idx in rows.loc[bad.index].groupby(["source_file", "content_hash"], sort=False).groups.items():
        text = texts[(src, digest)]
        rows.loc[idx, "raw_record"] = text.line_text(rows.loc[idx, "line_number"]).to_numpy()
    return rows


def iter_landed(
    table: str,
    files: Iterable[tuple[str, bytes, str]],
    loaded_at: pd.Timestamp,
    existing: Callable[[pd.DataFrame], pd.DataFrame | None] | None = None,
    plausibility: LandingPlausibility | None = None,
    previous: Callable[[pd.DataFrame], pd.DataFrame | None] | None = None,
    context: Mapping[str, bytes] | None = None,
) -> Iterator[pd.DataFrame]:
    """Read, validate and resolve new landing files, one series at a time.

    Duplicates can only collide within a series (klines: symbol x interval; dominance
    and daily: the series), so files are grouped by series and each group is parsed,
    resolved and yielded on its own: peak memory is one series, not the whole batch.

    A file-level problem never stops the batch: the file is quarantined as one row
    (:func:`file_reject`: line_number 0, status rejected, ``file: <reason>``), also a
    file without records (``file: no records (a header only)``), so every file read has at
    least one ledger row and ``raw.landing_files`` lists it.

    Args:
        table: ``klines`` (klines/, snapshots/ and corrections/klines/ files),
            ``dominance`` or ``daily`` (and their corrections/ folders).
        files: (source_file relative to the landing directory, raw bytes, content hash).
            Files already landed under the same path with the same hash must be filtered
            out by the caller.
        loaded_at: timestamp stamped on every row (naive UTC); the plausibility bound of
            future timestamps is relative to it.
        existing: given new valid rows' distinct keys, returns the current landed
            version per key (key + value columns + is_newest_in_file, optionally
            source_file, line_number, loaded_at), or None.
        plausibility: the plausibility bounds; None skips the plausibility checks
            (library callers that only read a series, e.g. the Binance collector; the
            dbt landing models always pass the project's bounds).
        previous: given the distinct (series, time) of new valid rows (with ``since``, the
            oldest previous time that can count), returns the landed history's previous
            close per row (series columns, time, ``prev_time``, ``prev_close``) for the
            jump check (:func:`previous_close_sql`), or None (no history).
        context: contents of landing files that are not landed in this batch but that
            checks read: the ``_1m`` snapshot of the hour of a new ``_1h`` snapshot
            (:func:`snapshot_minute_sibling`; the batch's own files are used directly).
    Yields:
        DataFrames with exactly ``LAYOUT_SPECS[table].columns`` (dtypes in ``DTYPES``):
        first one of the files whose name cannot be parsed (if any), then one per series,
        in order of the series' first file path.
    """
    spec = LAYOUT_SPECS[table]
    time_col = _time_column(table)
    groups: dict[tuple, list[tuple[LandingFile, str, bytes, str]]] = {}
    unparsed = []
    files = sorted(files, key=lambda f: f[0])
    siblings = dict(context or {})
    siblings.update({f: c for f, c, _ in files if f.startswith("snapshots/") and f.endswith("_1m.json")})
    for source_file, content, content_hash in files:
        try:
            info = parse_landing_path(source_file)
            if RAW_TABLE_OF_LAYOUT[info.ledger_layout] != table:
                raise LandingFileError(source_file, f"layout {info.ledger_layout!r} does not land into raw.{table}")
        except LandingFileError as exc:
            log.warning("quarantined %s", exc)
            unparsed.append(file_reject(table, source_file, content_hash, _layout_of_path(source_file), exc.reason))
            continue
        # Snapshots and kline files of one symbol and interval share a group whatever the
        # exchange (a snapshot's exchange is inside the file); corrections join their series.
        groups.setdefault((info.symbol, info.bar_interval, info.series), []).append(
            (info, source_file, content, content_hash)
        )

    def finish(rows: pd.DataFrame) -> pd.DataFrame:
        rows["loaded_at"] = loaded_at
        rows = rows[list(spec.columns)]
        cast = {c: DTYPES[c] for c in spec.columns if rows[c].dtype != DTYPES[c]}  # the others are already
        return rows.astype(cast) if cast else rows

    if unparsed:
        rows = pd.concat(unparsed, ignore_index=True)
        rows["superseded_version"] = None
        yield finish(rows)
    for key in list(groups):
        entries = sorted(groups.pop(key), key=lambda e: (e[0].correction, e[1]))  # corrections last
        parts, texts = [], {}
        for info, source_file, content, content_hash in entries:
            frame, text = _read_one(table, info, source_file, content, content_hash, loaded_at, plausibility, siblings)
            parts.append(frame)
            if text is not None:
                texts[(source_file, content_hash)] = text
        rows = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        del parts
        if plausibility is not None:
            rows = _apply_jump_check(rows, table, texts, plausibility, previous)
        del texts
        rows["is_newest_in_file"] = _mark_newest(rows, time_col)
        ex = None
        if existing is not None:
            valid = rows[rows["reject_reason"].isna()]
            if len(valid):
                ex = existing(valid[list(spec.key_columns)].drop_duplicates())
        rows = resolve_duplicates(rows, spec, ex)
        yield finish(rows)


def land_files(
    table: str,
    files: Iterable[tuple[str, bytes, str]],
    loaded_at: pd.Timestamp,
    existing: Callable[[pd.DataFrame], pd.DataFrame | None] | None = None,
    plausibility: LandingPlausibility | None = None,
    previous: Callable[[pd.DataFrame], pd.DataFrame | None] | None = None,
    context: Mapping[str, bytes] | None = None,
) -> pd.DataFrame:
    """All of :func:`iter_landed` in one DataFrame (an empty ledger frame when no files)."""
    frames = list(iter_landed(table, files, loaded_at, existing, plausibility, previous, context))
    if not frames:
        return empty_ledger(table)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


#: SQL order of the versions of a key, newest first (docs/landing.md): the latest landing
#: batch, within it a correction before any other row (corrections are resolved last),
#: then the later file and line. The staging views use the same order.
VERSION_ORDER = f"loaded_at desc, (layout like '{CORRECTIONS}/%') desc, source_file desc, line_number desc"


def existing_version_sql(table: str, relation: str, keys_relation: str) -> str:
    """SQL returning the current landed version per key of ``keys_relation``'s keys.

    The current version is the first landed row in :data:`VERSION_ORDER`. Columns: key,
    values, is_newest_in_file, source_file, line_number, loaded_at.
    """
    spec = LAYOUT_SPECS[table]
    keys = ", ".join(spec.key_columns)
    cols = ", ".join(
        (*spec.key_columns, *spec.value_columns, "is_newest_in_file", "source_file", "line_number", "loaded_at")
    )
    join = " and ".join(f"r.{k} = k.{k}" for k in spec.key_columns)
    return (
        f"select {cols} from (select r.* from {relation} r semi join {keys_relation} k on {join} "
        f"where r.status = 'landed') qualify row_number() over (partition by {keys} "
        f"order by {VERSION_ORDER}) = 1"
    )


def previous_close_sql(table: str, relation: str, keys_relation: str) -> str:
    """SQL returning, per (series, time) row of ``keys_relation``, the close of the newest
    current landed version of the same series strictly before that time (``prev_time``,
    ``prev_close``; NULL when none): the landed history of the jump check.

    ``keys_relation`` has the series columns (key without the time), the time column and
    ``since``: landed rows before the smallest ``since`` are not read (they are more than
    max_gap_bars intervals old and never count).
    """
    spec = LAYOUT_SPECS[table]
    series = spec.key_columns[:-1]
    time_col = spec.key_columns[-1]
    close = "dominance_pct" if table == "dominance" else "close"
    on_series = " and ".join(f"r.{c} = s.{c}" for c in series)
    asof = " and ".join([f"k.{c} = c.{c}" for c in series] + [f"k.{time_col} > c.{time_col}"])
    return (
        f"with s as (select distinct {', '.join(series)} from {keys_relation}), "
        f"cur as (select r.{', r.'.join(series)}, r.{time_col}, r.{close} as close from {relation} r "
        f"semi join s on {on_series} where r.status = 'landed' "
        f"and r.{time_col} >= (select min(since) from {keys_relation}) "
        f"qualify row_number() over (partition by r.{', r.'.join(spec.key_columns)} order by {VERSION_ORDER}) = 1) "
        f"select k.{', k.'.join(series)}, k.{time_col}, c.{time_col} as prev_time, c.close as prev_close "
        f"from {keys_relation} k asof left join cur c on {asof}"
    )


__all__ = [
    "CORRECTION_WITHOUT_KEY",
    "FILE_REJECT_PREFIX",
    "LAYOUT_SPECS",
    "LandingFileError",
    "VERSION_ORDER",
    "empty_ledger",
    "existing_version_sql",
    "file_reject",
    "iter_landed",
    "land_files",
    "previous_close_sql",
    "resolve_duplicates",
]
