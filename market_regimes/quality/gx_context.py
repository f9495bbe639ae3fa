"""The process's great-expectations context: ephemeral (no files), quiet, created once.

Suites need an active context even to be built, and every validation goes through one
pandas DataFrame batch definition, re-used with a new frame each time.
"""

from __future__ import annotations

import os

_batch_definition = None


def batch_definition():
    """The whole-DataFrame batch definition of the ephemeral context (created on first call)."""
    global _batch_definition
    if _batch_definition is None:
        # no usage analytics (no internet here, and none wanted) and no tqdm bars in logs
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx  # seconds to import: only when a suite is built or run
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        _batch_definition = (
            context.data_sources.add_pandas("market_regimes_quality")
            .add_dataframe_asset("frame")
            .add_batch_definition_whole_dataframe("whole_frame")
        )
    return _batch_definition
