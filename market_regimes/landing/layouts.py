"""Landing-directory layouts: which folder holds what, and how file names are parsed.

Layouts (docs/landing.md; the folder decides the layout, headers are validated by the readers):

* ``klines/<exchange>/<SYMBOL>_<interval>[__<tag>].csv[.gz|.parquet]`` — exchange candles.
* ``snapshots/YYYY/MM/DD/HH/<BASE>-<QUOTE>_1m.json`` (or ``_1h.json``) — hourly snapshots.
* ``dominance/<series>.csv[.gz|.parquet]`` — market-dominance readings (percent points).
* ``daily/<SERIES>.csv[.gz|.parquet]`` — daily index / volatility / price series.
* ``corrections/<klines|dominance|daily>/...`` — deliberate corrections of landed rows,
  laid out like the layout they correct (docs/landing.md, "Corrections").

Every function here is pure: it maps a path *relative to the landing directory* (forward
slashes) to a small record, or raises :class:`LandingFileError` naming the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

#: Canonical bar intervals and their length in minutes (docs/architecture.md).
INTERVAL_MINUTES: dict[str, int] = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "4h": 240, "1d": 1440}

#: Aliases seen in exchange file names (docs/landing.md): 60m=1h, 240m=4h, 1440m=D=1d.
INTERVAL_ALIASES: dict[str, str] = {
    **{k: k for k in INTERVAL_MINUTES},
    "1min": "1m",
    "5min": "5m",
    "15min": "15m",
    "60m": "1h",
    "60min": "1h",
    "240m": "4h",
    "1440m": "1d",
    "d": "1d",
    "1D": "1d",
    "D": "1d",
}

LAYOUTS = ("klines", "snapshots", "dominance", "daily")
#: The folder of deliberate corrections, and the layouts it may correct (tabular ones).
CORRECTIONS = "corrections"
CORRECTABLE_LAYOUTS = ("klines", "dominance", "daily")
#: An exchange folder name (and a snapshot's metadata.source): ASCII letters, digits, '-'
#: and '_' (upper case is folded to lower case). Project definition: the name becomes a
#: key value and a folder name, so it may hold nothing a path or SQL would read as syntax.
EXCHANGE_NAME = re.compile(r"[A-Za-z0-9_-]+")

_DATA_SUFFIXES = (".csv.gz", ".csv", ".parquet")
_KLINE_NAME = re.compile(r"^(?P<symbol>[A-Za-z0-9.]+)_(?P<interval>[A-Za-z0-9]+?)(?:__(?P<tag>[A-Za-z0-9._-]+))?$")
_SNAPSHOT_PATH = re.compile(
    r"^snapshots/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<h>\d{2})/"
    r"(?P<base>[A-Za-z0-9]+)-(?P<quote>[A-Za-z0-9]+)_(?P<interval>1m|1h)\.json$"
)
_SERIES_NAME = re.compile(r"^(?P<series>[A-Za-z0-9._-]+?)(?:__(?P<tag>[A-Za-z0-9._-]+))?$")


class LandingFileError(ValueError):
    """A file-level landing problem: the whole file is refused.

    The landing ledger quarantines such a file as one row (line_number 0, status
    ``rejected``, reason ``file: <reason>``) and lands the other files
    (:func:`market_regimes.landing.ledger.iter_landed`). The message always starts with
    the file's path so the user can find it.
    """

    def __init__(self, source_file: str, reason: str):
        super().__init__(f"{source_file}: {reason}")
        self.source_file = source_file
        self.reason = reason


@dataclass(frozen=True)
class LandingFile:
    """What a landing path says about its content.

    Attributes:
        source_file: path relative to the landing directory, forward slashes.
        layout: one of :data:`LAYOUTS`.
        file_format: ``csv``, ``csv.gz``, ``parquet`` or ``json``.
        exchange: klines/snapshots only (folder name, or ``metadata.source`` for
            snapshots — filled in by the reader).
        symbol: klines/snapshots only, upper case (``ETH-USDT`` -> ``ETHUSDT``).
        bar_interval: canonical interval for klines/snapshots; ``None`` otherwise.
        series: dominance/daily only: the file stem (without a batch tag).
        tag: optional collector batch tag after ``__``.
        correction: True for a file under ``corrections/`` (``layout`` is then the
            layout it corrects).
        hour_start: snapshots only: the hour of the file's folder, ``YYYY-MM-DD HH:00:00``
            (UTC), cross-checked against ``metadata.hour_start`` when landed.
    """

    source_file: str
    layout: str
    file_format: str
    exchange: str | None = None
    symbol: str | None = None
    bar_interval: str | None = None
    series: str | None = None
    tag: str | None = None
    correction: bool = False
    hour_start: str | None = None

    @property
    def ledger_layout(self) -> str:
        """The ``layout`` value of the file's ledger rows: the layout, or
        ``corrections/<layout>`` for a correction."""
        return f"{CORRECTIONS}/{self.layout}" if self.correction else self.layout


def exchange_name(raw: str, source_file: str, what: str = "exchange folder name") -> str:
    """Validate an exchange name (:data:`EXCHANGE_NAME`) and return it in lower case.

    Raises:
        LandingFileError: the name holds anything but ASCII letters, digits, '-' and '_'.
    """
    if not EXCHANGE_NAME.fullmatch(raw):  # fullmatch: '$' would accept a trailing newline
        raise LandingFileError(
            source_file, f"{what} {raw!r} is not a valid exchange name (ASCII letters, digits, '-' and '_' only)"
        )
    return raw.lower()


def canonical_interval(alias: str, source_file: str = "<interval>") -> str:
    """Map an interval alias (``60m``, ``D``, ``1440m`` ...) to ``1m 5m 15m 1h 4h 1d``.

    Raises:
        LandingFileError: unknown alias.
    """
    for candidate in (alias, alias.lower()):
        if candidate in INTERVAL_ALIASES:
            return INTERVAL_ALIASES[candidate]
    raise LandingFileError(source_file, f"unknown bar interval {alias!r} in file name")


def _split_suffix(name: str, source_file: str) -> tuple[str, str]:
    for suffix in _DATA_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)], suffix.lstrip(".")
    raise LandingFileError(source_file, f"unsupported file type (expected one of {', '.join(_DATA_SUFFIXES)})")


def parse_landing_path(source_file: str) -> LandingFile:
    """Parse a path relative to the landing directory into a :class:`LandingFile`.

    ``corrections/<layout>/<rest>`` parses ``<layout>/<rest>`` (klines, dominance or
    daily) and marks it a correction.

    Raises:
        LandingFileError: unknown layout folder, an exchange folder name that is not
            :data:`EXCHANGE_NAME`, or an unparseable file name.
    """
    if source_file.startswith(CORRECTIONS + "/"):
        inner = source_file[len(CORRECTIONS) + 1 :]
        layout = inner.split("/")[0]
        if layout not in CORRECTABLE_LAYOUTS:
            raise LandingFileError(
                source_file,
                f"unknown correction folder {layout!r} (expected {CORRECTIONS}/<{'|'.join(CORRECTABLE_LAYOUTS)}>/...)",
            )
        try:
            info = parse_landing_path(inner)
        except LandingFileError as exc:
            raise LandingFileError(source_file, exc.reason) from None
        return replace(info, source_file=source_file, correction=True)
    parts = source_file.split("/")
    layout = parts[0]
    if layout == "klines":
        if len(parts) != 3:
            raise LandingFileError(source_file, "kline files must be klines/<exchange>/<SYMBOL>_<interval>.csv")
        exchange, name = exchange_name(parts[1], source_file), parts[2]
        stem, fmt = _split_suffix(name, source_file)
        match = _KLINE_NAME.match(stem)
        if not match:
            raise LandingFileError(source_file, "file name is not <SYMBOL>_<interval>[__<tag>]")
        return LandingFile(
            source_file=source_file,
            layout="klines",
            file_format=fmt,
            exchange=exchange,
            symbol=match["symbol"].upper(),
            bar_interval=canonical_interval(match["interval"], source_file),
            tag=match["tag"],
        )
    if layout == "snapshots":
        match = _SNAPSHOT_PATH.match(source_file)
        if not match:
            raise LandingFileError(
                source_file, "snapshot files must be snapshots/YYYY/MM/DD/HH/<BASE>-<QUOTE>_1m.json or _1h.json"
            )
        try:
            datetime(int(match["y"]), int(match["m"]), int(match["d"]), int(match["h"]))
        except ValueError:
            raise LandingFileError(
                source_file, "snapshot folder snapshots/YYYY/MM/DD/HH is not a valid UTC hour"
            ) from None
        return LandingFile(
            source_file=source_file,
            layout="snapshots",
            file_format="json",
            symbol=(match["base"] + match["quote"]).upper(),
            bar_interval=match["interval"],
            hour_start=f"{match['y']}-{match['m']}-{match['d']} {match['h']}:00:00",
        )
    if layout in ("dominance", "daily"):
        if len(parts) != 2:
            raise LandingFileError(source_file, f"{layout} files must sit directly in {layout}/")
        stem, fmt = _split_suffix(parts[1], source_file)
        match = _SERIES_NAME.match(stem)
        if not match:
            raise LandingFileError(source_file, "file name is not <series>[__<tag>]")
        return LandingFile(
            source_file=source_file, layout=layout, file_format=fmt, series=match["series"], tag=match["tag"]
        )
    raise LandingFileError(
        source_file, f"unknown layout folder {layout!r} (expected one of {', '.join((*LAYOUTS, CORRECTIONS))})"
    )
