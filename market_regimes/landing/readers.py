"""Readers: turn one landing file's bytes into a table of text records with line numbers.

A reader never drops a record. Records it cannot split into the header's fields become
*framing rejects* (``wrong field count``); everything else is handed on as text (or the
Parquet value) for :mod:`market_regimes.landing.validate` to check value by value.

File-level problems raise :class:`~market_regimes.landing.layouts.LandingFileError`
naming the file: an unreadable or truncated gzip archive, bytes that are not UTF-8, an
empty file, an unknown header, invalid JSON, a snapshot without ``metadata`` /
``market_summary``, a bad snapshot ``source`` or ``price_scale``, an unreadable Parquet
file. The ledger quarantines such a file whole (one row, line 0) and lands the others.

Line numbers are 1-based physical lines of the decompressed CSV (the header is line 1);
for Parquet they are 1-based row numbers, for snapshot JSON the 1-based position in the
``minute_prices`` / ``candles`` array.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .layouts import LandingFile, LandingFileError, exchange_name

#: Accepted CSV headers per layout, as {canonical column: accepted header names}.
#: ``ts`` is the timestamp column. Optional columns may be absent.
KLINE_COLUMNS = {
    "ts": ("date", "timestamp", "open_time"),
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("close",),
    "volume": ("volume",),
}
KLINE_OPTIONAL = {"ticker": ("ticker", "symbol")}
DOMINANCE_COLUMNS = {"ts": ("date_utc", "timestamp", "date"), "dominance_pct": ("dominance_pct",)}
DAILY_REQUIRED = {"ts": ("date", "date_utc", "timestamp"), "close": ("close",)}
DAILY_OPTIONAL = {"open": ("open",), "high": ("high",), "low": ("low",), "volume": ("volume",)}


@dataclass
class TextTable:
    """Records of one file before value validation.

    Attributes:
        columns: canonical column names present (``ts`` first).
        records: DataFrame with ``line_number`` (int64), ``raw_record`` (str) and one
            column per canonical name (str for CSV, native values for Parquet/JSON;
            the ``ts`` text of a clean CSV is an Arrow-backed ``str`` column).
        framing_rejects: DataFrame (line_number, reason, raw_record) of records that
            could not be split into the header's fields.
        ts_kind: ``date`` when the timestamp column is a calendar date (daily files,
            ``date_utc``), else ``timestamp``.
        extra: layout-specific metadata (snapshot exchange, price scale ...).
    """

    columns: list[str]
    records: pd.DataFrame
    framing_rejects: pd.DataFrame
    ts_kind: str = "timestamp"
    extra: dict = field(default_factory=dict)
    source_text: str | None = None

    def line_text(self, line_numbers: pd.Series) -> pd.Series:
        """Original text of the given 1-based lines (fast-path tables keep no raw_record)."""
        if self.source_text is None:
            if "parquet_frame" in self.extra:  # a Parquet row as comma-separated values
                rows = self.extra["parquet_frame"].set_index("line_number").loc[line_numbers.to_numpy()]
                text = rows.drop(columns="raw_record").astype(str).agg(",".join, axis=1)
                return pd.Series(text.to_numpy(), index=line_numbers.index, dtype="object")
            by_line = self.records.set_index("line_number")["raw_record"]
            return pd.Series(by_line.loc[line_numbers.to_numpy()].to_numpy(), index=line_numbers.index, dtype="object")
        lines = self.source_text.splitlines()
        return pd.Series([lines[n - 1] for n in line_numbers], index=line_numbers.index, dtype="object")


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "line_number": pd.Series([], dtype="int64"),
            "reason": pd.Series([], dtype="object"),
            "raw_record": pd.Series([], dtype="object"),
        }
    )


def _decompress(info: LandingFile, content: bytes) -> bytes:
    if info.file_format != "csv.gz":
        return content
    try:
        return gzip.decompress(content)
    except (EOFError, OSError, zlib.error) as exc:
        raise LandingFileError(info.source_file, f"unreadable or truncated gzip archive ({exc})") from exc


def _map_header(info: LandingFile, header: list[str], required: dict, optional: dict) -> list[str]:
    """Map header names to canonical names; raise on unknown or missing columns."""
    lookup = {}
    for canon, names in {**required, **optional}.items():
        for name in names:
            lookup[name] = canon
    mapped = []
    for raw in header:
        name = raw.strip().lstrip("\ufeff").lower()
        if name not in lookup:
            raise LandingFileError(info.source_file, f"unknown header column {raw!r} (header: {','.join(header)})")
        mapped.append(lookup[name])
    missing = [c for c in required if c not in mapped]
    if missing or len(set(mapped)) != len(mapped):
        raise LandingFileError(
            info.source_file,
            f"header {','.join(header)!r} lacks {missing or 'unique columns'}; "
            f"expected {','.join(names[0] for names in required.values())}",
        )
    return mapped


def _header_spec(info: LandingFile) -> tuple[dict, dict]:
    if info.layout == "klines":
        return KLINE_COLUMNS, KLINE_OPTIONAL
    if info.layout == "dominance":
        return DOMINANCE_COLUMNS, {}
    if info.layout == "daily":
        return DAILY_REQUIRED, DAILY_OPTIONAL
    raise LandingFileError(info.source_file, f"no tabular reader for layout {info.layout!r}")


def _ts_kind(info: LandingFile, header: list[str]) -> str:
    first = header[0].strip().lstrip("\ufeff").lower()
    if info.layout == "daily":
        return "date"
    if info.layout == "dominance" and first in ("date_utc", "date"):
        return "date"
    return "timestamp"


def read_csv_text(info: LandingFile, content: bytes) -> TextTable:
    """Split a CSV landing file into header-mapped text records (see module doc)."""
    data = _decompress(info, content)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LandingFileError(info.source_file, f"not UTF-8 text ({exc})") from exc
    first_line = text.split("\n", 1)[0].rstrip("\r")
    required, optional = _header_spec(info)
    if first_line.strip():
        header = next(csv.reader([first_line]))
        columns = _map_header(info, header, required, optional)
        fast = _read_csv_fast(data, columns)
        if fast is not None:
            return TextTable(
                columns=columns,
                records=fast,
                framing_rejects=_empty_rejects(),
                ts_kind=_ts_kind(info, header),
                source_text=text,
            )
    lines = text.splitlines()
    header_idx = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_idx is None:
        raise LandingFileError(info.source_file, "empty file (no header)")
    header = next(csv.reader([lines[header_idx]]))
    columns = _map_header(info, header, required, optional)
    n_fields = len(columns)

    good_lines: list[int] = []
    good_rows: list[list[str]] = []
    raw_good: list[str] = []
    rej_lines: list[int] = []
    rej_raw: list[str] = []
    rej_reason: list[str] = []
    quoted = '"' in text
    for i in range(header_idx + 1, len(lines)):
        line = lines[i]
        if not line.strip():
            continue  # blank lines carry no record
        fields = next(csv.reader([line])) if quoted else line.split(",")
        if len(fields) != n_fields:
            rej_lines.append(i + 1)
            rej_raw.append(line)
            rej_reason.append(f"wrong field count: {len(fields)} fields, header has {n_fields}")
            continue
        good_lines.append(i + 1)
        good_rows.append(fields)
        raw_good.append(line)

    records = (
        pd.DataFrame(good_rows, columns=columns, dtype="object")
        if good_rows
        else pd.DataFrame({c: pd.Series([], dtype="object") for c in columns})
    )
    records.insert(0, "line_number", pd.Series(good_lines, dtype="int64"))
    records.insert(1, "raw_record", pd.Series(raw_good, dtype="object"))
    rejects = pd.DataFrame(
        {
            "line_number": pd.Series(rej_lines, dtype="int64"),
            "reason": pd.Series(rej_reason, dtype="object"),
            "raw_record": pd.Series(rej_raw, dtype="object"),
        }
    )
    return TextTable(columns=columns, records=records, framing_rejects=rejects, ts_kind=_ts_kind(info, header))


_NUMERIC = {"open", "high", "low", "close", "volume", "dominance_pct"}


def _read_csv_fast(data: bytes, columns: list[str]) -> pd.DataFrame | None:
    """Parse a clean CSV with Arrow's C reader; None when the file needs the careful path.

    Clean means: header on line 1, no blank or quoted lines, every record has the
    header's field count and every numeric field parses as a float (``NaN`` and ``inf``
    do; they are caught by validation). Then line_number = record index + 2.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if b'"' in data or b"\r" in data or b"\n\n" in data:
        return None
    n_records = data.count(b"\n") - (1 if data.endswith(b"\n") else 0)
    types = {c: (pa.float64() if c in _NUMERIC else pa.string()) for c in columns}
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=columns, use_threads=False),
            convert_options=pacsv.ConvertOptions(
                column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False, null_values=[]
            ),
        )
    except pa.ArrowInvalid:
        return None
    if table.num_rows != n_records:
        return None
    n = table.num_rows
    # numbers as float64; the timestamp text stays in Arrow (parse_timestamps parses it
    # there), other text becomes object arrays of str as before; no value is null
    frame = {
        "line_number": pd.Series(np.arange(2, n + 2, dtype="int64")),
        "raw_record": pd.Series(None, index=pd.RangeIndex(n), dtype="object"),
    }
    for col in columns:
        values = table.column(col)
        if col in _NUMERIC:
            frame[col] = pd.Series(values.to_numpy(), dtype="float64")
        elif col == "ts":  # Arrow-backed text: parse_timestamps parses it in Arrow, no copy
            frame[col] = values.to_pandas()
        else:
            frame[col] = pd.Series(values.to_numpy(zero_copy_only=False), dtype="object")
    return pd.DataFrame(frame)


def read_parquet_table(info: LandingFile, content: bytes) -> TextTable:
    """Read a Parquet landing file; columns are mapped like a CSV header."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(content))
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise LandingFileError(info.source_file, f"unreadable Parquet file ({exc})") from exc
    required, optional = _header_spec(info)
    header = list(table.column_names)
    columns = _map_header(info, header, required, optional)
    frame = table.to_pandas()
    frame.columns = columns
    frame.insert(0, "line_number", pd.Series(range(1, len(frame) + 1), dtype="int64"))
    # raw_record is filled in only for rejected rows (TextTable.line_text), as for CSV
    frame.insert(1, "raw_record", pd.Series(None, index=frame.index, dtype="object"))
    return TextTable(
        columns=columns,
        records=frame,
        framing_rejects=_empty_rejects(),
        ts_kind=_ts_kind(info, header),
        extra={"parquet_frame": frame},
    )


def read_snapshot(info: LandingFile, content: bytes) -> TextTable:
    """Read an hourly snapshot JSON file (docs/landing.md) into kline records.

    ``_1m.json``: ``minute_prices`` ``[[epoch_ms, price_int], ...]`` -> 1m bars with
    o = h = l = c = price_int / price_scale and no volume. ``_1h.json``: ``candles``
    ``[[epoch_ms, o, h, l, c, volume], ...]`` with integer prices / price_scale.
    Entries of the wrong shape are framing rejects.
    ``extra`` carries ``exchange`` (= ``metadata.source``) and ``price_scale``.

    Raises:
        LandingFileError: invalid JSON; no ``metadata`` or ``market_summary`` object; a
            ``metadata.source`` that is missing or not a valid exchange name
            (:data:`~market_regimes.landing.layouts.EXCHANGE_NAME`); a
            ``metadata.price_scale`` that is present but not a positive finite number
            (absent = 100, docs/landing.md); no ``minute_prices`` / ``candles`` array.
    """
    try:
        doc = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LandingFileError(info.source_file, f"invalid or truncated JSON ({exc})") from exc
    columns = ["ts", "open", "high", "low", "close", "volume"]
    empty = pd.DataFrame(
        {
            "line_number": pd.Series([], dtype="int64"),
            "raw_record": pd.Series([], dtype="object"),
            **{c: pd.Series([], dtype="object") for c in columns},
        }
    )
    missing = [k for k in ("metadata", "market_summary") if not isinstance(doc, dict) or k not in doc]
    if missing:
        raise LandingFileError(info.source_file, f"snapshot file lacks {' and '.join(missing)}")
    meta = doc["metadata"]
    if not isinstance(meta, dict):
        raise LandingFileError(info.source_file, f"snapshot metadata is not an object ({type(meta).__name__})")
    source = meta.get("source")
    if not isinstance(source, str) or not source:
        raise LandingFileError(info.source_file, "snapshot metadata has no source (the exchange)")
    exchange = exchange_name(source, info.source_file, "snapshot metadata.source")
    scale = price_scale(meta, info.source_file)
    key = "minute_prices" if info.bar_interval == "1m" else "candles"
    entries = doc.get(key)
    if not isinstance(entries, list):
        raise LandingFileError(info.source_file, f"snapshot lacks the {key!r} array")
    want = 2 if key == "minute_prices" else 6
    good, rej = [], []
    for pos, entry in enumerate(entries, start=1):
        raw = json.dumps(entry)
        if not isinstance(entry, list) or len(entry) != want:
            n = len(entry) if isinstance(entry, list) else 1
            rej.append((pos, f"wrong field count: {n} fields, expected {want}", raw))
            continue
        if key == "minute_prices":
            ts, price = entry
            good.append((pos, raw, ts, price, price, price, price, None))
        else:
            good.append((pos, raw, *entry))
    records = pd.DataFrame(good, columns=["line_number", "raw_record", *columns]) if good else empty
    records = records.astype({"line_number": "int64"})
    # Integer prices become decimal prices; anything non-numeric is left for validation.
    for col in ("open", "high", "low", "close"):
        records[col] = pd.to_numeric(records[col], errors="coerce") / scale
    rejects = pd.DataFrame(rej, columns=["line_number", "reason", "raw_record"]) if rej else _empty_rejects()
    return TextTable(
        columns=columns,
        records=records,
        framing_rejects=rejects,
        extra={
            "exchange": exchange,
            "price_scale": scale,
            "hour_start": meta.get("hour_start"),
            "symbol": meta.get("symbol"),
        },
    )


#: The price scale of a snapshot without ``metadata.price_scale`` (docs/landing.md).
DEFAULT_PRICE_SCALE = 100.0


def price_scale(meta: dict, source_file: str) -> float:
    """A snapshot's ``metadata.price_scale`` (integer prices / scale = prices), as float.

    Absent: :data:`DEFAULT_PRICE_SCALE`. Present, it must be a JSON number (not a string,
    not a boolean), finite and > 0 (project definition: 0 or "abc" has no meaning; the
    former ``or 100`` turned 0 silently into 100).

    Raises:
        LandingFileError: naming the file and the value.
    """
    if "price_scale" not in meta:
        return DEFAULT_PRICE_SCALE
    raw = meta["price_scale"]
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw) or raw <= 0:
        raise LandingFileError(source_file, f"snapshot metadata.price_scale {raw!r} is not a positive finite number")
    return float(raw)


def read_landing_file(info: LandingFile, content: bytes) -> TextTable:
    """Dispatch to the reader for the file's layout and format.

    Raises:
        LandingFileError: a file-level problem (see the module doc); ``empty file (0
            bytes)`` for a file without a byte.
    """
    if not content:
        raise LandingFileError(info.source_file, "empty file (0 bytes)")
    if info.layout == "snapshots":
        return read_snapshot(info, content)
    if info.file_format == "parquet":
        return read_parquet_table(info, content)
    return read_csv_text(info, content)
