"""Grid lifecycle configuration: every threshold, bar count, rate limit and multiplier of the
grid lifecycle engine (:mod:`market_regimes.engines.grid_lifecycle`).

The values live in the dbt seed ``seeds/grid_lifecycle_config.csv`` (key, value,
description; one row per field of :class:`LifecycleConfig`); this module only names, types
and validates them, so a seed edit changes the engine and no number is written in code.
Sources: the exit thresholds, the WARNING 2+ rule and the notification rate limits are the
trading team's exit-strategy thresholds; the probation parameters must stay inside the
trading teams' probationary bounds (allocation 0.50-0.60, levels 4-6); the restart gate
conditions, the post-stop range, the baseline minimum and the de-escalation count are
project definitions (the seed's description column gives each one's reason).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Iterable, Mapping

from market_regimes.seed_config import read_key_values, typed_values
from market_regimes.settings import seed_path

DEFAULT_CONFIG_CSV = seed_path("grid_lifecycle_config")

LABEL = "grid lifecycle config"

# the trading teams' probationary bounds (validated, as dbt_project.yml's grid_probation_* vars)
PROBATION_ALLOCATION_BOUNDS = (0.50, 0.60)
PROBATION_LEVEL_BOUNDS = (4, 6)


@dataclass(frozen=True)
class LifecycleConfig:
    """Typed grid lifecycle constants (units: bars are 1h bars, hours are real time on
    bar_start, scores are 0-100 points, prices in atr_14 multiples where named ``_atr``).

    See the seed's description column for each key. Direct construction is validated too.

    Raises (on construction):
        ValueError: "grid lifecycle config: <key> = <value> <rule>" for a value of the wrong
            type or out of range (bar counts >= 1, multiples > 0, probabilities and
            quantiles in [0, 1], warning_atr_ratio_min < warning_atr_ratio_max, probation
            parameters inside the trading teams' bounds, ...).
    """

    latest_transition_1h_bars: int
    latest_transition_4h_bars: int
    latest_half_life_multiple: float
    half_life_baseline_bars: int
    half_life_baseline_min_bars: int
    latest_atr_ratio: float
    latest_z_bound: float
    latest_z_bars: int
    warning_min_conditions: int
    warning_high_vol_prob: float
    warning_support_fall_bars: int
    warning_support_fall_points: float
    warning_er_short: float
    warning_half_life_multiple: float
    warning_atr_ratio_min: float
    warning_atr_ratio_max: float
    mandatory_outside_closes: int
    mandatory_stop_buffer_atr: float
    mandatory_swing_bars: int
    mandatory_swing_min_atr: float
    mandatory_swing_outer_frac: float
    de_escalation_bars: int
    gate_vol_change_max: float
    gate_1_bars: int
    gate_trend_max: float
    gate_adx_slope_max: float
    gate_2_bars: int
    gate_rqs_min: float
    gate_mean_rev_min: float
    gate_3_bars: int
    post_stop_range_max_bars: int
    post_stop_low_quantile: float
    post_stop_high_quantile: float
    time_floor_bars: int
    time_floor_repeat_multiple: int
    repeat_stops: int
    repeat_stop_window_hours: float
    probation_bars: int
    probation_min_round_trips: int
    probation_allocation: float
    probation_levels: int
    quick_stop_outside_closes: int
    notify_warning_hours: float
    notify_latest_hours: float
    notify_mandatory_hours: float

    def __post_init__(self) -> None:
        def bad(key: str, rule: str) -> ValueError:
            return ValueError(f"{LABEL}: {key} = {getattr(self, key)!r} {rule}")

        for f in fields(self):
            value = getattr(self, f.name)
            if str(f.type) == "int":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise bad(f.name, "is not a whole number")
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise bad(f.name, "is not a finite number")

        at_least_one = (
            "latest_transition_1h_bars",
            "latest_transition_4h_bars",
            "half_life_baseline_bars",
            "half_life_baseline_min_bars",
            "latest_z_bars",
            "warning_min_conditions",
            "warning_support_fall_bars",
            "mandatory_outside_closes",
            "mandatory_swing_bars",
            "de_escalation_bars",
            "post_stop_range_max_bars",
            "time_floor_repeat_multiple",
            "repeat_stops",
            "probation_bars",
            "quick_stop_outside_closes",
        )
        for key in at_least_one:
            if getattr(self, key) < 1:
                raise bad(key, "must be >= 1")
        for key in ("time_floor_bars", "probation_min_round_trips", "gate_1_bars", "gate_2_bars", "gate_3_bars"):
            if getattr(self, key) < 0:
                raise bad(key, "must be >= 0")
        positive = (
            "latest_half_life_multiple",
            "latest_atr_ratio",
            "latest_z_bound",
            "warning_half_life_multiple",
            "warning_support_fall_points",
            "mandatory_swing_min_atr",
            "repeat_stop_window_hours",
            "notify_warning_hours",
            "notify_latest_hours",
            "notify_mandatory_hours",
        )
        for key in positive:
            if not getattr(self, key) > 0:
                raise bad(key, "must be > 0")
        if not self.mandatory_stop_buffer_atr >= 0:
            raise bad("mandatory_stop_buffer_atr", "must be >= 0")
        if not 0 < self.mandatory_swing_outer_frac <= 0.5:
            raise bad("mandatory_swing_outer_frac", "must be > 0 and <= 0.5")
        if not 0 <= self.warning_high_vol_prob <= 1:
            raise bad("warning_high_vol_prob", "must be in [0, 1]")
        if not 0 <= self.warning_er_short <= 1:
            raise bad("warning_er_short", "must be in [0, 1]")
        if self.half_life_baseline_min_bars > self.half_life_baseline_bars:
            raise bad(
                "half_life_baseline_min_bars", f"must be <= half_life_baseline_bars = {self.half_life_baseline_bars}"
            )
        if self.warning_min_conditions > 5:
            raise bad("warning_min_conditions", "must be <= 5 (there are five WARNING conditions)")
        if not 0 < self.warning_atr_ratio_min < self.warning_atr_ratio_max:
            raise bad(
                "warning_atr_ratio_min", f"must be > 0 and < warning_atr_ratio_max = {self.warning_atr_ratio_max}"
            )
        for key in ("gate_vol_change_max", "gate_trend_max", "gate_rqs_min", "gate_mean_rev_min"):
            if not 0 <= getattr(self, key) <= 100:
                raise bad(key, "must be in [0, 100] (score points)")
        if not 0 <= self.post_stop_low_quantile < self.post_stop_high_quantile <= 1:
            raise bad(
                "post_stop_low_quantile",
                f"must be >= 0 and < post_stop_high_quantile = {self.post_stop_high_quantile} <= 1",
            )
        lo, hi = PROBATION_ALLOCATION_BOUNDS
        if not lo <= self.probation_allocation <= hi:
            raise bad("probation_allocation", f"must be in [{lo:.2f}, {hi:.2f}] (the trading teams' probation bounds)")
        lo_levels, hi_levels = PROBATION_LEVEL_BOUNDS
        if not lo_levels <= self.probation_levels <= hi_levels:
            raise bad(
                "probation_levels", f"must be in [{lo_levels}, {hi_levels}] (the trading teams' probation bounds)"
            )

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> "LifecycleConfig":
        """Build from key -> value (numbers or numeric strings), exactly the dataclass fields.

        Raises:
            ValueError: "grid lifecycle config: missing keys [...], unknown keys [...]",
                "... <key> = <raw> is not a valid int|float", or a range rule (see the class).
        """
        return cls(**typed_values(cls, values, LABEL))

    @classmethod
    def from_rows(cls, rows: object) -> "LifecycleConfig":
        """Build from the seed's rows.

        rows: a mapping key -> value; a pandas DataFrame with columns key and value (the
            seed as dbt loads it: values are doubles, whole numbers are accepted for int
            keys); or an iterable of rows, each a mapping with "key" and "value" or a
            (key, value) pair.

        Raises:
            ValueError: a key given twice ("duplicate key"), or as :meth:`from_mapping`.
        """
        if isinstance(rows, Mapping):
            return cls.from_mapping(rows)
        if hasattr(rows, "columns") and hasattr(rows, "to_dict"):  # a DataFrame
            pairs: Iterable = zip(rows["key"].tolist(), rows["value"].tolist())
        else:
            pairs = ((r["key"], r["value"]) if isinstance(r, Mapping) else tuple(r) for r in rows)
        values: dict[str, object] = {}
        for key, value in pairs:
            key = str(key)
            if key in values:
                raise ValueError(f"{LABEL}: duplicate key {key!r}")
            values[key] = value
        return cls.from_mapping(values)

    @classmethod
    def from_csv(cls, path: Path | str = DEFAULT_CONFIG_CSV, **overrides: object) -> "LifecycleConfig":
        """Read the seed CSV (key, value, description). overrides: key=value pairs replacing
        seed values (tests). Raises ValueError as :meth:`from_mapping`."""
        values: dict[str, object] = dict(read_key_values(path))
        values.update(overrides)
        return cls.from_mapping(values)

    # ------------------------------------------------------------------ helpers
    def fingerprint(self) -> str:
        """A short stable digest of every value (stored in a LifecycleState, so a state is
        never continued under a different config)."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:16]
