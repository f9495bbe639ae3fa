"""Jobs, schedules and the landing sensor (docs/orchestration.md).

- ``regime_update``: every dbt asset (collectors excluded) on the daily partitions except
  the research reports (asset group ``reports``: look-ahead evaluations over the whole
  history, about 40 s of model time on the sample, that no regime reads), the models
  only they read (dbt tag ``research_input``: the detectors' labels side by side) and the
  seeds (loaded by full builds and the daily job: see SEEDS). A run targets a
  partition range (tags ``dagster/asset_partition_range_start|end``): the rollups rebuild
  that window in one dbt invocation, then everything downstream runs.
- ``daily_update``: the same plus the research reports.
- Schedules (UTC): ``micro_update`` every 5 minutes and ``meso_update`` hourly at minute 5
  run ``regime_update``; ``macro_update`` daily at 00:15 runs ``daily_update``. Every
  schedule and the sensor start STOPPED: nothing writes to the warehouse unless a user asks
  (turn one on in the UI's Automation page, or ``dagster schedule start meso_update`` /
  ``dagster sensor start landing_sensor``). Each targets yesterday..today, so the bars of
  the day that just closed are rolled up once more after midnight. Every regime timeframe
  lives in the same tables, and the indicators, engines and levers are incremental or
  cheap; the cadence is what differs.
- ``landing_sensor``: fingerprints the landing directory (path, size, mtime of every
  file; MARKET_REGIMES_LANDING); on a change it requests one run over every partition
  (a new file may hold any history, and the rollups of the whole range take ~1 s on the
  sample) with run_key = the fingerprint, so a directory state runs once.
"""

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
    sensor,
)
from dagster_dbt import build_dbt_asset_selection

from market_regimes.settings import landing_path

from .dbt_assets import dbt_asset_groups, downstream_dbt_assets
from .partitions import daily_partitions

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"

#: the research reports (schema ``reports``) and the models only they read (dbt tag
#: ``research_input``): rebuilt daily, not on every update
RESEARCH_REPORTS = AssetSelection.groups("reports") | build_dbt_asset_selection(
    [downstream_dbt_assets], dbt_select="tag:research_input"
)

#: the seeds (thresholds, weights, members) are loaded by full builds and the daily job: an
#: hourly run that reloaded an edited seed would apply it to the new bars only (the
#: incremental models keep their history), so a seed edit is a full build's business
SEEDS = AssetSelection.groups("seeds")
regime_update = define_asset_job(
    "regime_update",
    selection=AssetSelection.assets(*dbt_asset_groups) - RESEARCH_REPORTS - SEEDS,  # partitions inferred
    description="dbt build of the warehouse for a range of daily partitions (rollups) and everything downstream "
    "except the research reports.",
)

daily_update = define_asset_job(
    "daily_update",
    selection=AssetSelection.assets(*dbt_asset_groups),
    description="regime_update plus the research reports (schema reports).",
)


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags targeting the partition keys first..last (inclusive) in one run."""
    return {RANGE_START: first, RANGE_END: last}


def recent_range(now: datetime) -> dict[str, str]:
    """Tags for yesterday..today (UTC) at `now`, clipped to the partition set."""
    keys = daily_partitions.get_partition_keys(current_time=now)
    today = now.astimezone(timezone.utc).strftime("%Y-%m-%d")
    yesterday = (now.astimezone(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%d")
    first = yesterday if yesterday in keys else today
    return range_tags(first, today)


def _update_schedule(name: str, cron: str, status: DefaultScheduleStatus, job=regime_update):
    @schedule(name=name, cron_schedule=cron, job=job, execution_timezone="UTC", default_status=status)
    def _schedule(context: ScheduleEvaluationContext):
        now = context.scheduled_execution_time or datetime.now(timezone.utc)
        return RunRequest(run_key=f"{name}:{now.isoformat()}", tags=recent_range(now))

    return _schedule


micro_update = _update_schedule("micro_update", "*/5 * * * *", DefaultScheduleStatus.STOPPED)
meso_update = _update_schedule("meso_update", "5 * * * *", DefaultScheduleStatus.STOPPED)
macro_update = _update_schedule("macro_update", "15 0 * * *", DefaultScheduleStatus.STOPPED, daily_update)


def landing_fingerprint(landing: Path) -> tuple[str, int]:
    """(sha256 over the sorted (relative path, size, mtime_ns) of every visible file, file
    count). Hidden files (a collector's temp file) are ignored."""
    digest = hashlib.sha256()
    count = 0
    for path in sorted(p for p in landing.rglob("*") if p.is_file()):
        rel = path.relative_to(landing)
        if any(part.startswith(".") for part in rel.parts):
            continue
        stat = path.stat()
        digest.update(f"{rel.as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        count += 1
    return digest.hexdigest(), count


@sensor(job=regime_update, minimum_interval_seconds=60, default_status=DefaultSensorStatus.STOPPED)
def landing_sensor(context: SensorEvaluationContext):
    """Run the warehouse over every partition when the landing directory changes."""
    landing = landing_path()  # env MARKET_REGIMES_LANDING, relative paths from the project directory
    if not landing.is_dir():
        return SkipReason(f"landing directory {landing} does not exist")
    fingerprint, files = landing_fingerprint(landing)
    if fingerprint == context.cursor:
        return SkipReason(f"no change in {landing} ({files} files)")
    context.update_cursor(fingerprint)
    keys = daily_partitions.get_partition_keys()
    return RunRequest(run_key=fingerprint, tags=range_tags(keys[0], keys[-1]))


schedules = [micro_update, meso_update, macro_update]
sensors = [landing_sensor]
jobs = [regime_update, daily_update]
