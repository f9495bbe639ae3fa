"""dbt vars of Dagster runs, as small pure functions (no Dagster context, no manifest)."""

from __future__ import annotations

from datetime import datetime, timezone


def partition_window_vars(start: datetime, end: datetime) -> dict[str, str]:
    """dbt vars of a partition window [start, end): ``partition_start`` / ``partition_end``
    as ``YYYY-MM-DD HH:MM:SS`` in UTC (an aware datetime is converted, a naive one is taken
    as UTC). Raises ValueError when end is not after start."""

    def utc(t: datetime) -> datetime:
        return t.astimezone(timezone.utc).replace(tzinfo=None) if t.tzinfo is not None else t

    start, end = utc(start), utc(end)
    if end <= start:
        raise ValueError(f"partition window ends at {end} before or at its start {start}")
    fmt = "%Y-%m-%d %H:%M:%S"
    return {"partition_start": start.strftime(fmt), "partition_end": end.strftime(fmt)}
