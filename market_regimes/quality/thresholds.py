"""Bounds of the data-quality suites, from the dbt seed ``seeds/quality_thresholds.csv``.

The seed (key, value, description) holds every number the suites compare with, so a
seed edit changes the checks and no bound is written in code (docs/configuration.md: "Config, not
code"); its description column gives each bound's reason. The one bound that is an
engine constant, the cap of ``sr_boost``, comes from ``seeds/uptrend_config.csv``
(``sr_boost_weight``). The checks read the seeds the warehouse was built with (tables
``seeds.quality_thresholds`` and ``seeds.uptrend_config``, :func:`thresholds_from_warehouse`),
so a check always compares with the bounds of the build it checks, and the package needs no
seed files on disk; :func:`load_thresholds` reads the CSV files of a project checkout (tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from market_regimes.engines.uptrend_config import DEFAULT_CONFIG_CSV as UPTREND_CONFIG_CSV
from market_regimes.engines.uptrend_config import load_config_csv
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
    #: not a quality_thresholds key: seed uptrend_config's sr_boost_weight (SR boost cap)
    sr_boost_max: float

    @classmethod
    def from_mapping(cls, values: Mapping[str, object], sr_boost_max: float) -> "Thresholds":
        """Build from seed rows (key -> value).

        Raises:
            ValueError: a key is missing or unknown, a value is not a finite number, or a
                ``*_min`` bound exceeds its ``*_max``.
        """
        parsed = typed_values(cls, values, "quality_thresholds", skip=("sr_boost_max",))
        names = list(parsed)
        for name in names:
            if name.endswith("_min") and name[:-4] + "_max" in parsed and parsed[name] > parsed[name[:-4] + "_max"]:
                raise ValueError(f"quality_thresholds: {name} > {name[:-4]}_max")
        return cls(**parsed, sr_boost_max=float(sr_boost_max))


def load_thresholds(
    path: Path | str = DEFAULT_THRESHOLDS_CSV, uptrend_config_path: Path | str = UPTREND_CONFIG_CSV
) -> Thresholds:
    """Read the seed CSVs into :class:`Thresholds` (ValueError as :meth:`Thresholds.from_mapping`)."""
    values = read_key_values(path)
    return Thresholds.from_mapping(values, sr_boost_max=load_config_csv(uptrend_config_path).sr_boost_weight)


def thresholds_from_warehouse(con) -> Thresholds:
    """The bounds of the seeds a warehouse was built with: the rows (key, value) of
    ``seeds.quality_thresholds`` and ``sr_boost_weight`` of ``seeds.uptrend_config``, read on
    the open DuckDB connection `con`.

    Raises:
        LookupError: a seed table is missing (a warehouse built before the seed existed:
            run ``dbt seed``), or uptrend_config has no sr_boost_weight row.
        ValueError: as :meth:`Thresholds.from_mapping`.
    """
    import duckdb

    try:
        rows = con.execute("select key, value from seeds.quality_thresholds").fetchall()
        boost = con.execute("select value from seeds.uptrend_config where key = 'sr_boost_weight'").fetchall()
    except duckdb.CatalogException as exc:
        raise LookupError(f"the warehouse has no quality seeds ({exc}); build the seeds first: dbt seed") from exc
    if not boost:
        raise LookupError("seeds.uptrend_config has no sr_boost_weight row")
    return Thresholds.from_mapping({str(k): v for k, v in rows}, sr_boost_max=float(boost[0][0]))
