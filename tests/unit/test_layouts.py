"""File-name parsing of the landing layouts (docs/landing.md)."""

import pytest

from market_regimes.landing import LandingFileError, canonical_interval, parse_landing_path


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("1m", "1m"),
        ("5m", "5m"),
        ("15m", "15m"),
        ("60m", "1h"),
        ("1h", "1h"),
        ("240m", "4h"),
        ("4h", "4h"),
        ("1440m", "1d"),
        ("D", "1d"),
        ("1d", "1d"),
    ],
)
def test_interval_aliases(alias, expected):
    assert canonical_interval(alias) == expected


def test_kline_path_with_batch_tag_and_gzip():
    info = parse_landing_path("klines/Binance/btcusdt_60m__20240101T0000.csv.gz")
    assert (info.layout, info.exchange, info.symbol, info.bar_interval, info.tag, info.file_format) == (
        "klines",
        "binance",
        "BTCUSDT",
        "1h",
        "20240101T0000",
        "csv.gz",
    )


def test_snapshot_path():
    info = parse_landing_path("snapshots/2025/06/01/13/DOT-USDT_1m.json")
    assert (info.layout, info.symbol, info.bar_interval) == ("snapshots", "DOTUSDT", "1m")


def test_dominance_and_daily_paths():
    assert parse_landing_path("dominance/btc_dominance_daily.csv").series == "btc_dominance_daily"
    assert parse_landing_path("daily/DVOL.parquet").series == "DVOL"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("klines/binance/BTCUSDT_7m.csv", "unknown bar interval '7m'"),
        ("klines/binance/BTCUSDT.csv", "file name is not <SYMBOL>_<interval>"),
        ("klines/binance/BTCUSDT_1h.txt", "unsupported file type"),
        ("prices/BTCUSDT_1h.csv", "unknown layout folder 'prices'"),
        ("snapshots/2025/06/01/DOT-USDT_1m.json", "snapshot files must be"),
        ("klines/..binance/BTCUSDT_1h.csv", "exchange folder name '..binance' is not a valid exchange name"),
        ("klines/bïnance/BTCUSDT_1h.csv", "exchange folder name 'bïnance' is not a valid exchange name"),
        ("klines/a'b;--/BTCUSDT_1h.csv", 'exchange folder name "a\'b;--" is not a valid exchange name'),
        ("klines/\u212aucoin/BTCUSDT_1h.csv", "is not a valid exchange name"),  # KELVIN SIGN, lower() = 'k'
        ("klines/binance\n/BTCUSDT_1h.csv", "exchange folder name 'binance\\n' is not a valid exchange name"),
        ("corrections/snapshots/2025/06/01/13/DOT-USDT_1m.json", "unknown correction folder 'snapshots'"),
        ("corrections/klines/binance/BTCUSDT_7m.csv", "unknown bar interval '7m'"),
    ],
)
def test_bad_paths_fail_naming_the_file(path, message):
    with pytest.raises(LandingFileError) as err:
        parse_landing_path(path)
    assert str(err.value).startswith(path + ": ")
    assert message in str(err.value)


@pytest.mark.parametrize("folder", ["okx", "gate-io", "crypto_com", "Bybit2"])
def test_valid_exchange_folders_are_lower_cased(folder):
    assert parse_landing_path(f"klines/{folder}/BTCUSDT_1h.csv").exchange == folder.lower()


def test_correction_paths_parse_like_the_layout_they_correct():
    info = parse_landing_path("corrections/dominance/btc_dominance_daily.csv")
    assert (info.layout, info.series, info.correction, info.ledger_layout) == (
        "dominance",
        "btc_dominance_daily",
        True,
        "corrections/dominance",
    )
    assert not parse_landing_path("dominance/btc_dominance_daily.csv").correction
