"""Typed key/value seeds (dbt seeds with columns key, value, description).

Every threshold, weight and constant of the engines and checks lives in such a seed
("config, not code", docs/configuration.md); a frozen dataclass names and types the keys, and these
helpers read and convert the rows. Field types are read from the dataclass annotations
(strings under ``from __future__ import annotations``): ``bool`` (0/1/true/false),
``int`` (a whole number), ``float`` (finite), ``str`` (non-empty).
"""

from __future__ import annotations

import csv
import math
from dataclasses import fields
from pathlib import Path
from typing import Mapping


def read_key_values(path: Path | str) -> dict[str, str]:
    """The seed CSV's rows as key -> value text."""
    with open(path, newline="") as handle:
        return {row["key"]: row["value"] for row in csv.DictReader(handle)}


def convert_value(kind: str, raw: object) -> object:
    """One raw config value (a number, or its text) as `kind`: "bool" (0/1/true/false),
    "str" (non-empty, stripped), "int" (a whole number) or "float" (finite).

    Raises:
        ValueError / TypeError: the value is not of that kind.
    """
    if kind == "bool":
        text = str(raw).strip().lower()
        if text not in ("0", "1", "0.0", "1.0", "true", "false"):
            raise ValueError(text)
        return text in ("1", "1.0", "true")
    if kind == "str":
        text = str(raw).strip()
        if not text:
            raise ValueError(raw)
        return text
    number = float(raw)  # ValueError / TypeError for non-numbers
    if not math.isfinite(number):
        raise ValueError(raw)
    if kind == "int":
        if number != int(number):
            raise ValueError(raw)
        return int(number)
    return number


def typed_values(cls, values: Mapping[str, object], label: str, skip: tuple[str, ...] = ()) -> dict[str, object]:
    """Convert `values` (key -> raw value) to the field types of dataclass `cls`.

    skip: fields of `cls` that are not seed keys (the caller supplies them).

    Raises:
        ValueError: "<label>: missing keys [...], unknown keys [...]", or
            "<label>: <key> = <raw> is not a valid <type>".
    """
    kinds = {f.name: str(f.type) for f in fields(cls) if f.name not in skip}
    missing = sorted(set(kinds) - set(values))
    unknown = sorted(set(values) - set(kinds))
    if missing or unknown:
        raise ValueError(f"{label}: missing keys {missing}, unknown keys {unknown}")
    out: dict[str, object] = {}
    for name, kind in kinds.items():
        try:
            out[name] = convert_value(kind, values[name])
        except (TypeError, ValueError):
            raise ValueError(f"{label}: {name} = {values[name]!r} is not a valid {kind}") from None
    return out
