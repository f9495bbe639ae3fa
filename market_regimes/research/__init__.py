"""Research reports on the warehouse's outputs (pure Python: pandas in, pandas out).

Unlike the engines, these modules may look ahead on purpose: they score what the regimes
said at bar t against what happened after it.

* :mod:`market_regimes.research.grid_outcomes` — do the grid verdicts predict whether the
  grid range holds over the next H bars?
"""

from market_regimes.research.grid_outcomes import (
    GridOutcomeConfig,
    auc,
    block_bootstrap_ci,
    block_bootstrap_diff_ci,
    evaluation_mask,
    forward_outcomes,
    outcome_report,
    reliability_table,
    verdict_shares,
)

__all__ = [
    "GridOutcomeConfig",
    "auc",
    "block_bootstrap_ci",
    "block_bootstrap_diff_ci",
    "evaluation_mask",
    "forward_outcomes",
    "outcome_report",
    "reliability_table",
    "verdict_shares",
]
