"""Uptrend Engine configuration: every constant of docs/uptrend-engine.md.

The values live in the dbt seed ``seeds/uptrend_config.csv`` (key, value, description);
this module only names and types them, so a seed edit changes the engine and no number
is written in code. ``UptrendConfig.from_mapping`` validates a key -> value mapping (the
seed's rows); ``load_config_csv`` reads the seed file directly (tests, benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from market_regimes.seed_config import read_key_values, typed_values
from market_regimes.settings import seed_path

DEFAULT_CONFIG_CSV = seed_path("uptrend_config")


@dataclass(frozen=True)
class UptrendConfig:
    """Typed Uptrend Engine constants (see the seed's description column for each)."""

    bootstrap_to_s3: bool
    first_dip_enabled: bool
    sr_window_bars: int
    swing_bars: int
    swing_min_prominence: float
    level_cluster_pct: float
    max_levels: int
    sr_boost_weight: float
    sr_boost_atr: float
    ts_rsi_offset: float
    ts_rsi_scale: float
    ts_adx_offset: float
    ts_adx_scale: float
    ox_w_e20: float
    ox_k_e20: float
    ox_w_e60: float
    ox_k_e60: float
    ox_w_e144: float
    ox_k_e144: float
    ox_w_e250: float
    ox_k_e250: float
    ox_w_dsep_fast: float
    ox_s_dsep_fast: float
    ox_w_dsep_mid: float
    ox_s_dsep_mid: float
    ox_w_atr: float
    ox_w_slope: float
    ox_s_slope: float
    ox_edx_gain: float
    ox_edx_floor: float
    ox_edx_cap: float
    dx_hallway_decay: float
    dx_narrow_gain: float
    dx_narrow_width: float
    dx_narrow_scale: float
    dx_atr_ratio_center: float
    dx_atr_ratio_scale: float
    dx_rsi_slope_scale: float
    dx_adx_slope_scale: float
    dx_adx_min: float
    dx_w_loc: float
    dx_w_exh: float
    dx_w_relief: float
    dx_w_curl: float
    dx_edx_floor: float
    dx_edx_cap: float
    dx_edx_gain: float
    edx_min_bars: int
    edx_slow_ema_scale: float
    edx_slow_rsi_scale: float
    edx_slow_adx_scale: float
    zigzag_atr_mult: float
    zigzag_min_leg_bars: int
    edx_struct_min_pivots: int
    edx_part_scale: float
    edx_comp_scale: float
    edx_comp_min_bars: int
    edx_w_slow: float
    edx_w_struct: float
    edx_w_part: float
    edx_w_comp: float
    buy_atr: float
    buy_gate: float
    first_dip_gate: float
    first_dip_fast_bars: int
    first_dip_mid_bars: int
    first_dip_atr: float
    rebuy_retest_atr: float
    rebuy_gate: float
    rebuy_dx_min: float
    edx_supp_high_edx: float
    edx_supp_high: float
    edx_supp_mid_edx: float
    edx_supp_mid_gain: float
    trim_ox: float
    trim_level_atr: float

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> "UptrendConfig":
        """Build from key -> value (numbers or numeric strings; booleans as 0/1/true/false).

        Raises:
            ValueError: a key is missing or unknown, or a value is not a number.
        """
        return cls(**typed_values(cls, values, "uptrend config"))


def load_config_csv(path: Path | str = DEFAULT_CONFIG_CSV, **overrides: object) -> UptrendConfig:
    """Read the seed CSV (key, value, description) into an :class:`UptrendConfig`.

    overrides: key=value pairs replacing seed values (tests of options such as
    first_dip_enabled). Raises ValueError as :meth:`UptrendConfig.from_mapping`.
    """
    values: dict[str, object] = dict(read_key_values(path))
    values.update(overrides)
    return UptrendConfig.from_mapping(values)
