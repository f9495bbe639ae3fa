"""Landing ledger: one row per record read, with its fate ("nothing lost", docs/landing.md).

``land_files`` reads new landing files of one layout and returns the rows to append to
that layout's raw table. Every record read gets exactly one ``status``:

* ``landed`` — valid, and either the first version of its key, or a different version
  that supersedes a *provisional* one (the newest bar of the file it came from);
* ``collapsed`` — an identical duplicate of the current version of its key (counted);
* ``rejected`` — quarantined with ``reject_reason`` (bad value, wrong field count,
  unparseable or unaligned timestamp, or a conflicting duplicate of a *final* bar).

Keys: klines (exchange, symbol, bar_interval, bar_start); dominance (series, reading_at);
daily (series, bar_start). Records are resolved in landing order: files sorted by path,
then line number, after the versions already landed (``existing``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .layouts import INTERVAL_MINUTES, LandingFile, LandingFileError, parse_landing_path
from .readers import TextTable, read_landing_file
from .validate import bar_checks, first_reason, parse_timestamps, to_float

log = logging.getLogger("market_regimes.landing")


@dataclass(frozen=True)
class LayoutSpec:
    """Output shape of one layout's raw ledger table."""

    key_columns: tuple[str, ...]
    value_columns: tuple[str, ...]
    columns: tuple[str, ...]


_COMMON_HEAD = ("source_file", "line_number", "content_hash", "layout")
_COMMON_TAIL = ("is_newest_in_file", "status", "reject_reason", "raw_record", "loaded_at")
OHLCV = ("open", "high", "low", "close", "volume")

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
#: Which raw table a landing layout writes to (snapshots are exchange candles too).
RAW_TABLE_OF_LAYOUT = {"klines": "klines", "snapshots": "klines", "dominance": "dominance", "daily": "daily"}

DTYPES = {
    "source_file": "object", "line_number": "int64", "content_hash": "object", "layout": "object",
    "exchange": "object", "symbol": "object", "bar_interval": "object", "bar_start": "datetime64[us]",
    "series": "object", "reading_interval": "object", "reading_at": "datetime64[us]",
    "open": "float64", "high": "float64", "low": "float64", "close": "float64", "volume": "float64",
    "dominance_pct": "float64", "is_newest_in_file": "bool", "status": "object", "reject_reason": "object",
    "raw_record": "object", "loaded_at": "datetime64[us]",
}


def empty_ledger(table: str) -> pd.DataFrame:
    """An empty ledger frame with the exact columns and dtypes of ``table``."""
    return pd.DataFrame({c: pd.Series([], dtype=DTYPES[c]) for c in LAYOUT_SPECS[table].columns})


def _parse_file(info: LandingFile, text: TextTable) -> pd.DataFrame:
    """Turn one file's text records into ledger rows (status still undecided)."""
    rec = text.records
    n = len(rec)
    out = pd.DataFrame({"line_number": rec["line_number"].astype("int64"), "raw_record": rec["raw_record"]})
    ts = parse_timestamps(rec["ts"]) if n else pd.Series([], dtype="datetime64[us]")
    if info.layout in ("klines", "snapshots"):
        exchange = info.exchange if info.layout == "klines" else text.extra.get("exchange")
        interval = info.bar_interval
        prices = pd.DataFrame({c: to_float(rec[c]) for c in ("open", "high", "low", "close")})
        volume = to_float(rec["volume"]) if info.layout == "klines" or rec["volume"].notna().any() else None
        reason = bar_checks(ts, rec["ts"], prices, volume, INTERVAL_MINUTES[interval])
        extra = pd.Series(None, index=rec.index, dtype="object")
        if "ticker" in rec:
            ticker = rec["ticker"].astype(str)
            ok = {t: t.strip().upper() == info.symbol for t in ticker.unique()}
            bad = ~ticker.map(ok).astype(bool)
            extra = extra.where(~bad, "ticker " + rec["ticker"].astype(str) + f" does not match file symbol {info.symbol}")
        if info.layout == "snapshots" and text.extra.get("hour_start"):
            hour = parse_timestamps(pd.Series([text.extra["hour_start"]])).iloc[0]
            outside = (ts < hour) | (ts >= hour + pd.Timedelta(hours=1))
            extra = extra.where(~outside.fillna(False), "outside the snapshot hour")
        out = out.assign(exchange=exchange, symbol=info.symbol, bar_interval=interval, bar_start=ts,
                         **{c: prices[c] for c in prices},
                         volume=volume if volume is not None else np.nan,
                         reject_reason=first_reason(reason, extra))
    elif info.layout == "dominance":
        pct = to_float(rec["dominance_pct"])
        prices = pd.DataFrame({c: pct for c in ("open", "high", "low", "close")})
        is_date = text.ts_kind == "date"
        reason = bar_checks(ts, rec["ts"], prices, None, INTERVAL_MINUTES["1d"] if is_date else None)
        extra = pd.Series(None, index=rec.index, dtype="object").where(~(pct > 100), "dominance above 100 percent")
        out = out.assign(series=info.series, reading_interval="1d" if is_date else "1m", reading_at=ts,
                         dominance_pct=pct, reject_reason=first_reason(reason, extra))
    elif info.layout == "daily":
        close = to_float(rec["close"])
        prices = pd.DataFrame({c: (to_float(rec[c]) if c in rec else close) for c in ("open", "high", "low", "close")})
        volume = to_float(rec["volume"]) if "volume" in rec else None
        reason = bar_checks(ts, rec["ts"], prices, volume, INTERVAL_MINUTES["1d"])
        out = out.assign(series=info.series, bar_start=ts, **{c: prices[c] for c in prices},
                         volume=volume if volume is not None else np.nan, reject_reason=reason)
    # Values of rejected rows are kept only in raw_record: a half-parsed number is no datum.
    valid = out["reject_reason"].isna()
    table = RAW_TABLE_OF_LAYOUT[info.layout]
    ts_col = "reading_at" if table == "dominance" else "bar_start"
    newest = out.loc[valid, ts_col].max() if valid.any() else pd.NaT
    out["is_newest_in_file"] = valid & (out[ts_col] == newest)
    out.loc[valid, "raw_record"] = None
    missing_raw = ~valid & out["raw_record"].isna()
    if missing_raw.any():
        out.loc[missing_raw, "raw_record"] = text.line_text(out.loc[missing_raw, "line_number"]).to_numpy()
    rej = text.framing_rejects
    if len(rej):
        framing = pd.DataFrame({"line_number": rej["line_number"].astype("int64"), "raw_record": rej["raw_record"],
                                "reject_reason": rej["reason"], "is_newest_in_file": False})
        out = pd.concat([out, framing], ignore_index=True) if len(out) else framing
    return out


def _same(a: tuple, b: tuple) -> bool:
    return all((x == y) or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
               for x, y in zip(a, b))


def resolve_duplicates(rows: pd.DataFrame, spec: LayoutSpec, existing: pd.DataFrame | None) -> pd.DataFrame:
    """Decide landed / collapsed / rejected for valid rows, in landing order.

    Args:
        rows: ledger rows in landing order with ``reject_reason`` set for invalid rows.
        spec: the layout's key and value columns.
        existing: the current version per key already landed (key + value columns +
            ``is_newest_in_file``), or None.
    Returns:
        ``rows`` with ``status`` and ``reject_reason`` filled in.
    """
    rows = rows.copy()
    rows["status"] = np.where(rows["reject_reason"].isna(), "landed", "rejected")
    valid = rows[rows["status"] == "landed"]
    if valid.empty:
        return rows
    keys = list(spec.key_columns)
    contested = valid.duplicated(keys, keep=False)
    if existing is not None and len(existing):
        hit = valid[keys].merge(existing[keys].drop_duplicates(), on=keys, how="left", indicator=True)["_merge"]
        contested = contested | (hit.to_numpy() == "both")
    if not contested.any():
        return rows
    current: dict[tuple, tuple[tuple, bool]] = {}
    if existing is not None and len(existing):
        for rec in existing[keys + list(spec.value_columns) + ["is_newest_in_file"]].itertuples(index=False):
            k = tuple(rec[: len(keys)])
            current[k] = (tuple(rec[len(keys):-1]), bool(rec[-1]))
    sub = valid[contested]
    key_tuples = list(sub[keys].itertuples(index=False, name=None))
    values = list(sub[list(spec.value_columns)].itertuples(index=False, name=None))
    for idx, k, v, newest in zip(sub.index, key_tuples, values, sub["is_newest_in_file"].to_numpy()):
        if k not in current:
            current[k] = (v, bool(newest))
            continue
        kept_values, kept_provisional = current[k]
        if _same(v, kept_values):
            rows.at[idx, "status"] = "collapsed"
        elif kept_provisional:
            current[k] = (v, bool(newest))  # supersedes a provisional bar
        else:
            rows.at[idx, "status"] = "rejected"
            rows.at[idx, "reject_reason"] = "conflicting duplicate of a final bar"
            rows.at[idx, "raw_record"] = ",".join(str(x) for x in (*k, *v))
    return rows


def iter_landed(
    table: str,
    files: Iterable[tuple[str, bytes, str]],
    loaded_at: pd.Timestamp,
    existing: Callable[[pd.DataFrame], pd.DataFrame | None] | None = None,
) -> Iterator[pd.DataFrame]:
    """Read, validate and resolve new landing files, one series at a time.

    Duplicates can only collide within a series (klines: symbol x interval; dominance
    and daily: the series), so files are grouped by series and each group is parsed,
    resolved and yielded on its own: peak memory is one series, not the whole batch.

    Args:
        table: ``klines`` (klines/ and snapshots/ files), ``dominance`` or ``daily``.
        files: (source_file relative to the landing directory, raw bytes, content hash).
            Files with an already-landed hash must be filtered out by the caller.
        loaded_at: timestamp stamped on every row (naive UTC).
        existing: given new valid rows' distinct keys, returns the current landed
            version per key (key + value columns + is_newest_in_file), or None.
    Yields:
        DataFrames with exactly ``LAYOUT_SPECS[table].columns`` (dtypes in ``DTYPES``),
        one per series, in order of the series' first file path.
    Raises:
        LandingFileError: a file-level problem, naming the file.
    """
    spec = LAYOUT_SPECS[table]
    # Group by series before parsing. Snapshots and kline files of one symbol and interval
    # share a group whatever the exchange (a snapshot's exchange is inside the file).
    groups: dict[tuple, list[tuple[LandingFile, str, bytes, str]]] = {}
    for source_file, content, content_hash in sorted(files, key=lambda f: f[0]):
        info = parse_landing_path(source_file)
        if RAW_TABLE_OF_LAYOUT[info.layout] != table:
            raise LandingFileError(source_file, f"layout {info.layout!r} does not land into raw.{table}")
        groups.setdefault((info.symbol, info.bar_interval, info.series), []).append(
            (info, source_file, content, content_hash))
    for key in list(groups):
        parts = []
        for info, source_file, content, content_hash in groups.pop(key):
            frame = _parse_file(info, read_landing_file(info, content)).sort_values("line_number", kind="stable")
            frame["source_file"], frame["content_hash"], frame["layout"] = source_file, content_hash, info.layout
            for col in spec.columns:
                if col not in frame:
                    frame[col] = None
            parts.append(frame)
            log.info("read %s: %d records, %d rejected", source_file, len(frame),
                     int(frame["reject_reason"].notna().sum()))
        rows = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        del parts
        ex = None
        if existing is not None:
            valid = rows[rows["reject_reason"].isna()]
            if len(valid):
                ex = existing(valid[list(spec.key_columns)].drop_duplicates())
        rows = resolve_duplicates(rows, spec, ex)
        rows["loaded_at"] = loaded_at
        yield rows[list(spec.columns)].astype({c: DTYPES[c] for c in spec.columns})


def land_files(
    table: str,
    files: Iterable[tuple[str, bytes, str]],
    loaded_at: pd.Timestamp,
    existing: Callable[[pd.DataFrame], pd.DataFrame | None] | None = None,
) -> pd.DataFrame:
    """All of :func:`iter_landed` in one DataFrame (an empty ledger frame when no files)."""
    frames = list(iter_landed(table, files, loaded_at, existing))
    if not frames:
        return empty_ledger(table)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def existing_version_sql(table: str, relation: str, keys_relation: str) -> str:
    """SQL returning the current landed version per key of ``keys_relation``'s keys.

    The current version is the latest landed row (loaded_at, source_file, line_number).
    """
    spec = LAYOUT_SPECS[table]
    keys = ", ".join(spec.key_columns)
    cols = ", ".join((*spec.key_columns, *spec.value_columns, "is_newest_in_file"))
    join = " and ".join(f"r.{k} = k.{k}" for k in spec.key_columns)
    return (
        f"select {cols} from (select r.* from {relation} r semi join {keys_relation} k on {join} "
        f"where r.status = 'landed') qualify row_number() over (partition by {keys} "
        f"order by loaded_at desc, source_file desc, line_number desc) = 1"
    )


__all__ = ["LAYOUT_SPECS", "LandingFileError", "empty_ledger", "existing_version_sql", "iter_landed", "land_files",
           "resolve_duplicates"]
