"""The dbt vars of a Dagster partition window (orchestration/defs/dbt_vars.py)."""

from datetime import datetime, timedelta, timezone

import pytest

from orchestration.defs.dbt_vars import partition_window_vars


def test_one_day_partition_becomes_utc_bounds():
    assert partition_window_vars(datetime(2025, 6, 1), datetime(2025, 6, 2)) == {
        "partition_start": "2025-06-01 00:00:00",
        "partition_end": "2025-06-02 00:00:00",
    }


def test_an_aware_window_is_converted_to_utc():
    cet = timezone(timedelta(hours=2))
    got = partition_window_vars(datetime(2025, 6, 1, 2, tzinfo=cet), datetime(2025, 6, 3, 2, tzinfo=cet))
    assert got == {"partition_start": "2025-06-01 00:00:00", "partition_end": "2025-06-03 00:00:00"}


def test_an_empty_or_reversed_window_is_an_error():
    with pytest.raises(ValueError, match="before or at its start"):
        partition_window_vars(datetime(2025, 6, 2), datetime(2025, 6, 2))
