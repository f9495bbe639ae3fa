"""Validation shared by the research reports' typed configs (lever outcomes, pooled findings).

Each report config is a frozen dataclass built from a dbt var (a mapping); these helpers
check its fields and parse its ``horizons`` so the reports reject a bad var the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from market_regimes.seed_config import convert_value


def _is_whole(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_report_config(
    cfg: object,
    label: str,
    min_horizon: int,
    whole_minimums: Mapping[str, int],
    open_unit: Iterable[str] = ("train_frac", "ci_level"),
) -> None:
    """Validate a report config in place (call from ``__post_init__`` of a frozen dataclass).

    ``cfg.horizons``: a non-empty sequence of distinct whole numbers >= `min_horizon`,
    stored back as a tuple of int; every field of `whole_minimums`: a whole number >= its
    minimum; every field of `open_unit`: a finite number in (0, 1).

    Raises:
        ValueError: "<label>: <key> = <value> <rule>" for the first bad field.
    """

    def bad(key: str, rule: str) -> ValueError:
        return ValueError(f"{label}: {key} = {getattr(cfg, key)!r} {rule}")

    horizons = cfg.horizons
    if isinstance(horizons, (str, bytes)) or not isinstance(horizons, Iterable):
        raise bad("horizons", "is not a sequence")
    horizons = tuple(horizons)
    if (
        not horizons
        or not all(_is_whole(h) and h >= min_horizon for h in horizons)
        or len(set(horizons)) != len(horizons)
    ):
        raise bad("horizons", f"must be distinct whole numbers >= {min_horizon}")
    object.__setattr__(cfg, "horizons", tuple(int(h) for h in horizons))
    for key, low in whole_minimums.items():
        value = getattr(cfg, key)
        if not _is_whole(value) or value < low:
            raise bad(key, f"must be a whole number >= {low}")
    for key in open_unit:
        value = getattr(cfg, key)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or not 0 < value < 1
        ):
            raise bad(key, "must be > 0 and < 1")


def parse_horizons(raw: object, label: str) -> tuple[int, ...]:
    """Horizons from a var value: a sequence of numbers, or text such as "1,4,24" / "[5, 10]".

    Raises:
        ValueError: "<label>: missing keys ['horizons']" when `raw` is None, or "<label>:
            horizons = ... is not a valid tuple of int".
    """
    if raw is None:
        raise ValueError(f"{label}: missing keys ['horizons']")
    items = [p.strip() for p in raw.strip("[]() ").split(",")] if isinstance(raw, str) else list(raw)
    try:
        return tuple(convert_value("int", item) for item in items)
    except (TypeError, ValueError):
        raise ValueError(f"{label}: horizons = {raw!r} is not a valid tuple of int") from None
