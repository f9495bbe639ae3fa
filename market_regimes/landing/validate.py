"""Row-level validation of landed records (docs/landing.md), vectorised with pandas.

Each check yields a reason string for the rows it fails; a row keeps the *first* reason
in the order below, so a row with several problems is quarantined once, for the most
basic one:

1. unparseable timestamp
2. unaligned timestamp (bar_start not a multiple of the bar interval since the epoch)
3. non-finite or unparseable price (open/high/low/close)
4. non-positive price
5. high below low
6. high below max(open, close)
7. low above min(open, close)
8. non-finite or negative volume
9. layout-specific checks (ticker mismatch, dominance outside (0, 100], snapshot minute
   outside its hour)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PRICE_COLUMNS = ("open", "high", "low", "close")


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
    parsed = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
    out = parsed.dt.tz_localize(None).astype("datetime64[us]")
    failed = out.isna() & values.notna()
    if failed.any():  # careful path for the few values ISO-8601 parsing refused
        text = values[failed].astype(str).str.strip()
        is_epoch = text.str.fullmatch(r"\d{12,13}")
        retry = pd.to_datetime(text[~is_epoch], format="ISO8601", utc=True, errors="coerce")
        out[text[~is_epoch].index] = retry.dt.tz_localize(None).astype("datetime64[us]")
        if is_epoch.any():
            ms = pd.to_numeric(text[is_epoch], errors="coerce")
            out[text[is_epoch].index] = pd.to_datetime(ms, unit="ms", errors="coerce").astype("datetime64[us]")
    return out


def to_float(values: pd.Series) -> pd.Series:
    """Parse numbers; unparseable text becomes NaN (reported as non-finite)."""
    return pd.to_numeric(values, errors="coerce").astype("float64")


def bar_checks(ts: pd.Series, raw_ts: pd.Series, prices: pd.DataFrame, volume: pd.Series | None,
               interval_minutes: int | None) -> pd.Series:
    """Return the first failing reason per row (None where the row is valid).

    Args:
        ts: parsed timestamps (NaT = unparseable).
        raw_ts: the original timestamp text, quoted in the reason.
        prices: float columns open/high/low/close.
        volume: float volume or None when the layout has no volume.
        interval_minutes: bar length for the alignment check; None skips it.
    """
    o, h, lo, c = (prices[col] for col in PRICE_COLUMNS)
    finite = np.isfinite(prices[list(PRICE_COLUMNS)].to_numpy()).all(axis=1)
    positive = (prices[list(PRICE_COLUMNS)].to_numpy() > 0).all(axis=1)
    conditions = [ts.isna().to_numpy()]
    reasons = ["unparseable timestamp"]
    if interval_minutes is not None:
        epoch_us = ts.fillna(pd.Timestamp(0)).astype("datetime64[us]").astype("int64")
        conditions.append((epoch_us.to_numpy() % (interval_minutes * 60_000_000)) != 0)
        reasons.append(f"unaligned timestamp for a {interval_minutes}-minute bar")
    conditions += [~finite, ~positive, (h < lo).to_numpy(), (h < np.maximum(o, c)).to_numpy(),
                   (lo > np.minimum(o, c)).to_numpy()]
    reasons += ["non-finite or unparseable price", "non-positive price", "high below low",
                "high below max(open, close)", "low above min(open, close)"]
    if volume is not None:
        conditions += [~np.isfinite(volume.to_numpy()), (volume < 0).to_numpy()]
        reasons += ["non-finite or unparseable volume", "negative volume"]
    reason = np.select(conditions, reasons, default="")
    out = pd.Series(reason, index=ts.index, dtype="object")
    bad_ts = out.eq("unparseable timestamp")
    if bad_ts.any():
        out[bad_ts] = "unparseable timestamp " + raw_ts[bad_ts].astype(str).str.slice(0, 40).map(repr)
    return out.where(out != "", None)


def first_reason(*reasons: pd.Series) -> pd.Series:
    """Combine reason series: keep the first non-null reason per row."""
    result = reasons[0].copy()
    for extra in reasons[1:]:
        result = result.where(result.notna(), extra)
    return result
