"""Volatility / spectral regime configuration (docs/volatility-regimes.md): every constant of the detector.

The values live in the dbt seed ``seeds/volatility_config.csv`` (key, value, description);
this module only names and types them, so a seed edit changes the detector and no number
is written in code. ``VolatilityConfig.from_mapping`` validates a key -> value mapping
(the seed's rows); ``load_config_csv`` reads the seed file directly (tests, benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from market_regimes.seed_config import read_key_values, typed_values
from market_regimes.settings import seed_path

DETECTORS = ("rv_percentile", "hmm")  # the values of vol_regime_detector
DEFAULT_CONFIG_CSV = seed_path("volatility_config")


@dataclass(frozen=True)
class VolatilityConfig:
    """Typed detector constants (see the seed's description column for each)."""

    toxic_abs_log_return: float
    hmm_window_bars: int
    hmm_min_fit_bars: int
    hmm_refit_every_bars: int
    hmm_refit_every_bars_intraday: int
    hmm_n_iter: int
    hmm_tol: float
    hmm_min_covar: float
    hmm_covars_prior: float
    hmm_init_low_quantile: float
    hmm_init_high_quantile: float
    hmm_init_stay_prob: float
    hmm_fit_transitions: bool
    hmm_random_state: int
    high_vol_prob_threshold: float
    wavelet_name: str
    wavelet_level: int
    wavelet_mode: str
    wavelet_window_bars: int
    direction_window_bars: int
    direction_min_efficiency_ratio: float
    hurst_window_bars: int
    hurst_min_chunk_bars: int
    ar1_window_bars: int
    strategy_fit_every_minutes: int
    turbulence_window_bars: int
    vol_regime_detector: str
    rv_window_bars: int
    rv_window_bars_intraday: int
    rv_quantile_window_bars: int
    rv_quantile_window_bars_intraday: int
    rv_quantile_every_bars: int
    rv_quantile_every_bars_intraday: int
    rv_enter_quantile: float
    rv_enter_quantile_intraday: float
    rv_exit_quantile: float
    rv_exit_quantile_intraday: float
    rv_variance_floor: float

    def __post_init__(self) -> None:
        problems = []
        if not 2 <= self.hmm_min_fit_bars <= self.hmm_window_bars:
            problems.append("need 2 <= hmm_min_fit_bars <= hmm_window_bars")
        if self.hmm_min_fit_bars < max(self.wavelet_window_bars, self.direction_window_bars):
            problems.append(
                "hmm_min_fit_bars must be >= wavelet_window_bars and direction_window_bars "
                "(every row of fct_volatility_regimes has all its inputs)"
            )
        if min(self.hmm_refit_every_bars, self.hmm_refit_every_bars_intraday, self.hmm_n_iter) < 1:
            problems.append("refit cadences and hmm_n_iter must be >= 1")
        if self.wavelet_window_bars % (2**self.wavelet_level):
            problems.append("wavelet_window_bars must be a multiple of 2^wavelet_level")
        w, c = self.hurst_window_bars, self.hurst_min_chunk_bars
        if c < 2 or w < 2 * c or w & (w - 1) or c & (c - 1):
            problems.append("hurst_window_bars and hurst_min_chunk_bars must be powers of 2, window >= 2 x chunk")
        if self.ar1_window_bars < 3 or self.direction_window_bars < 1 or self.turbulence_window_bars < 3:
            problems.append("ar1_window_bars >= 3, direction_window_bars >= 1, turbulence_window_bars >= 3")
        if not 0 < self.hmm_init_low_quantile < self.hmm_init_high_quantile < 1:
            problems.append("need 0 < hmm_init_low_quantile < hmm_init_high_quantile < 1")
        if not self.hmm_covars_prior >= 0:
            problems.append("hmm_covars_prior >= 0")
        if not 0 < self.hmm_init_stay_prob < 1 or not 0 <= self.high_vol_prob_threshold <= 1:
            problems.append("hmm_init_stay_prob in (0, 1), high_vol_prob_threshold in [0, 1]")
        if self.toxic_abs_log_return <= 0 or self.strategy_fit_every_minutes < 1:
            problems.append("toxic_abs_log_return > 0, strategy_fit_every_minutes >= 1")
        if self.vol_regime_detector not in DETECTORS:
            problems.append(
                f"vol_regime_detector must be one of {', '.join(DETECTORS)}, got {self.vol_regime_detector!r}"
            )
        if (
            min(
                self.rv_window_bars,
                self.rv_window_bars_intraday,
                self.rv_quantile_window_bars,
                self.rv_quantile_window_bars_intraday,
                self.rv_quantile_every_bars,
                self.rv_quantile_every_bars_intraday,
            )
            < 1
        ):
            problems.append("rv_*_bars must be >= 1")
        for suffix in ("", "_intraday"):
            enter, exit_ = getattr(self, f"rv_enter_quantile{suffix}"), getattr(self, f"rv_exit_quantile{suffix}")
            if not 0 <= exit_ <= enter <= 1:
                problems.append(f"need 0 <= rv_exit_quantile{suffix} <= rv_enter_quantile{suffix} <= 1")
        if not self.rv_variance_floor > 0:
            problems.append("rv_variance_floor > 0")
        if problems:
            raise ValueError("volatility config: " + "; ".join(problems))

    def refit_every(self, interval_minutes: int) -> int:
        """Refit cadence (clean returns) of a series with bars of `interval_minutes`."""
        return self.hmm_refit_every_bars if interval_minutes >= 1440 else self.hmm_refit_every_bars_intraday

    def rv_settings(self, interval_minutes: int) -> tuple[int, int, int, float, float]:
        """(rv window, quantile window, quantile cadence, enter quantile, exit quantile) of
        the rv_percentile detector on a series with bars of `interval_minutes`."""
        s = "" if interval_minutes >= 1440 else "_intraday"
        return (
            getattr(self, f"rv_window_bars{s}"),
            getattr(self, f"rv_quantile_window_bars{s}"),
            getattr(self, f"rv_quantile_every_bars{s}"),
            getattr(self, f"rv_enter_quantile{s}"),
            getattr(self, f"rv_exit_quantile{s}"),
        )

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> "VolatilityConfig":
        """Build from key -> value (numbers or numeric strings; booleans as 0/1/true/false;
        text for the wavelet keys).

        Raises:
            ValueError: a key is missing or unknown, a value has the wrong type, or the
                values are inconsistent (see __post_init__).
        """
        return cls(**typed_values(cls, values, "volatility config"))


def load_config_csv(path: Path | str = DEFAULT_CONFIG_CSV, **overrides: object) -> VolatilityConfig:
    """Read the seed CSV (key, value, description) into a :class:`VolatilityConfig`.

    overrides: key=value pairs replacing seed values (tests with small windows). Raises
    ValueError as :meth:`VolatilityConfig.from_mapping`.
    """
    values: dict[str, object] = dict(read_key_values(path))
    values.update(overrides)
    return VolatilityConfig.from_mapping(values)
