"""Bounds of the data-quality suites, from the dbt seed ``seeds/quality_thresholds.csv``.

The seed (key, value, description) holds every number the quality checks compare with, so a
seed edit changes the checks and no bound is written in code (docs/configuration.md: "Config, not
code"); its description column gives each bound's reason. The row bounds (oscillator_min ..
score_max) are read by the dbt data tests ``within_bounds`` of the marts; the statistical
ones (complete_share_min, rank_band_*, rsi_band_*, watch_share_max, rejected_share_max) and
the ledgers' bounds by the great-expectations suites. :class:`Thresholds` types and checks
the whole seed. The suites read the seed the warehouse was built with (table
``seeds.quality_thresholds``, :func:`thresholds_from_warehouse`), so a check always compares
with the bounds of the build it checks, and the package needs no seed files on disk;
:func:`load_thresholds` reads the CSV file of a project checkout (tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from market_regimes.seed_config import read_key_values, typed_values
from market_regimes.settings import seed_path

DEFAULT_THRESHOLDS_CSV = seed_path("quality_thresholds")


@dataclass(frozen=True)
class Thresholds:
    """Typed suite bounds; see the seed's description column for each."""

    min_table_rows: int
    price_min_exclusive: float
    volume_min: float
    dominance_pct_min: float
    dominance_pct_max: float
    oscillator_min: float
    oscillator_max: float
    ratio_min: float
    ratio_max: float
    correlation_min: float
    correlation_max: float
    dispersion_min: float
    half_life_min_exclusive: float
    volume_z_min: float
    volume_z_max: float
    score_min: float
    score_max: float
    complete_share_min: float
    rank_band_min: float
    rank_band_max: float
    rank_band_share_min: float
    rsi_band_min: float
    rsi_band_max: float
    rsi_band_share_min: float
    watch_share_max: float
    rejected_share_max: float

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> "Thresholds":
        """Build from seed rows (key -> value).

        Raises:
            ValueError: a key is missing or unknown, a value is not a finite number, or a
                ``*_min`` bound exceeds its ``*_max``.
        """
        parsed = typed_values(cls, values, "quality_thresholds")
        names = list(parsed)
        for name in names:
            if name.endswith("_min") and name[:-4] + "_max" in parsed and parsed[name] > parsed[name[:-4] + "_max"]:
                raise ValueError(f"quality_thresholds: {name} > {name[:-4]}_max")
        return cls(**parsed)


def load_thresholds(path: Path | str = DEFAULT_THRESHOLDS_CSV) -> Thresholds:
    """Read the seed CSV into :class:`Thresholds` (ValueError as :meth:`Thresholds.from_mapping`)."""
    return Thresholds.from_mapping(read_key_values(path))


def thresholds_from_warehouse(con) -> Thresholds:
    """The bounds of the seed a warehouse was built with: the rows (key, value) of
    ``seeds.quality_thresholds``, read on the open DuckDB connection `con`.

    Raises:
        LookupError: the seed table is missing (a warehouse built before the seed existed:
            run ``dbt seed``).
        ValueError: as :meth:`Thresholds.from_mapping`.
    """
    import duckdb

    try:
        rows = con.execute("select key, value from seeds.quality_thresholds").fetchall()
    except duckdb.CatalogException as exc:
        raise LookupError(f"the warehouse has no quality seeds ({exc}); build the seeds first: dbt seed") from exc
    return Thresholds.from_mapping({str(k): v for k, v in rows})
