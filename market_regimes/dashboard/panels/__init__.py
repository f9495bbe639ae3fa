"""The panel registry: one module per dashboard panel, each fed by one mart.

A panel module exposes
* ``TITLE`` (str): the section heading;
* ``SOURCE`` (str): the relation (``schema.name``) it reads; without it the panel is skipped;
* ``subtitle(settings) -> str``: one line under the heading (states any downsampling);
* ``build(con, settings=Settings()) -> list[plotly Figure] | None``: the panel's charts,
  one per view (driver, bucket, series, market...; the view's selector text in
  ``layout.meta.label``), or None when ``SOURCE`` (or another relation it cannot do
  without) is missing. It only reads, through the DuckDB connection ``con``;
* optionally ``REQUIRES`` (relations it cannot do without besides SOURCE) and
  ``OPTIONAL`` (relations that add detail when present), tuples of ``schema.name``;
  :func:`relations_read` lists them all (the Dagster asset depends on them).

To add a panel (e.g. a later detector): write ``panels/<name>.py`` with those four names
and append the module to :data:`PANELS`; its position is its place on the page.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType

from ..settings import Settings
from . import (
    findings,
    forward_returns,
    grid_regimes,
    levers,
    market_regimes,
    price_regimes,
    regime_distribution,
    transitions,
    volatility_regimes,
)

PANELS: tuple[ModuleType, ...] = (
    price_regimes,
    levers,
    regime_distribution,
    transitions,
    forward_returns,
    findings,
    market_regimes,
    volatility_regimes,
    grid_regimes,
)

REQUIRED_ATTRIBUTES = ("TITLE", "SOURCE", "subtitle", "build")


@dataclass
class PanelResult:
    """What one panel produced.

    name: module name (also the HTML id prefix); figures: the charts, or None when the
    panel was skipped (its mart is missing); seconds: wall time of ``build``.
    """

    name: str
    title: str
    source: str
    subtitle: str
    figures: list | None
    seconds: float = 0.0

    @property
    def shown(self) -> bool:
        """True when the panel has at least one chart to show."""
        return bool(self.figures)


def panel_name(module: ModuleType) -> str:
    """A panel's short name: the last part of its module name (``price_regimes``)."""
    return module.__name__.rsplit(".", 1)[-1]


def validate(module: ModuleType) -> None:
    """Raise TypeError when ``module`` lacks one of TITLE, SOURCE, subtitle, build."""
    missing = [a for a in REQUIRED_ATTRIBUTES if not hasattr(module, a)]
    if missing:
        raise TypeError(f"panel module {module.__name__} lacks {', '.join(missing)}")


def relations_read(module: ModuleType) -> tuple[str, ...]:
    """Every relation a panel may read: SOURCE, then REQUIRES, then OPTIONAL."""
    return (module.SOURCE, *getattr(module, "REQUIRES", ()), *getattr(module, "OPTIONAL", ()))


def build_panels(
    con,
    settings: Settings = Settings(),
    panels: Sequence[ModuleType] = PANELS,
    log: Callable[[str], None] | None = None,
) -> list[PanelResult]:
    """Build every panel in order; ``log`` (e.g. ``print``) gets one progress line per panel.

    A panel whose mart is missing yields a result with ``figures=None``; an error inside a
    panel's build propagates (a broken panel is a bug, not a missing table).
    """
    results = []
    for module in panels:
        validate(module)
        name = panel_name(module)
        started = time.perf_counter()
        figures = module.build(con, settings)
        seconds = time.perf_counter() - started
        result = PanelResult(
            name=name,
            title=module.TITLE,
            source=module.SOURCE,
            subtitle=module.subtitle(settings),
            figures=figures,
            seconds=seconds,
        )
        if log:
            if figures is None:
                log(f"  {name:<20} skipped: {module.SOURCE} (or a relation it needs) is missing")
            else:
                log(f"  {name:<20} {len(figures):>4} chart(s) from {module.SOURCE} in {seconds:.1f} s")
        results.append(result)
    return results
