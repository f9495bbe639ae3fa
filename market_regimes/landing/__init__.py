"""Landing: read landing-directory files, validate rows, keep a per-row ledger (docs/landing.md)."""

from .layouts import INTERVAL_MINUTES, LandingFile, LandingFileError, canonical_interval, parse_landing_path
from .ledger import LAYOUT_SPECS, empty_ledger, land_files, resolve_duplicates
from .validate import LandingPlausibility

__all__ = [
    "INTERVAL_MINUTES",
    "LAYOUT_SPECS",
    "LandingFile",
    "LandingFileError",
    "LandingPlausibility",
    "canonical_interval",
    "empty_ledger",
    "land_files",
    "parse_landing_path",
    "resolve_duplicates",
]
