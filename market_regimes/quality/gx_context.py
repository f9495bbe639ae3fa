"""The process's great-expectations context: ephemeral (no files), quiet, created once.

Suites need an active context even to be built, and every validation goes through one
pandas DataFrame batch definition, re-used with a new frame each time.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings

_batch_definition = None


def great_expectations():
    """The ``great_expectations`` module, imported safely in any process.

    With the optional ``spark`` dependency group installed, great-expectations imports
    ``pyspark.sql.connect``, whose import calls ``sys.exit(0)`` when ``__main__`` has neither
    ``__spec__`` nor ``__file__`` (pyspark takes that for its doctest runner) — true of
    ``python -c`` and of pytest-xdist's workers, where the validations then ended the process
    (measured: 20 failed tests of ``make test`` after ``make spark-check``). For the import only,
    ``__main__`` gets a ``__file__`` so that pyspark raises ImportError instead (missing
    ``google.rpc``), which great-expectations handles; it is removed again afterwards.
    """
    if "great_expectations" not in sys.modules:
        main = sys.modules.get("__main__")
        doctest_like = (
            main is not None
            and getattr(main, "__spec__", None) is None
            and not hasattr(main, "__file__")
            and not hasattr(sys, "ps1")
        )
        if doctest_like:
            main.__file__ = "<string>"
        try:
            with warnings.catch_warnings():  # pyspark's "pandas >= 3.0.0 not fully supported": not used here
                warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
                importlib.import_module("great_expectations")  # seconds: only when a suite is built or run
        finally:
            if doctest_like:
                del main.__file__
    return sys.modules["great_expectations"]


def batch_definition():
    """The whole-DataFrame batch definition of the ephemeral context (created on first call)."""
    global _batch_definition
    if _batch_definition is None:
        # no usage analytics (no internet here, and none wanted) and no tqdm bars in logs
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        gx = great_expectations()
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        _batch_definition = (
            context.data_sources.add_pandas("market_regimes_quality")
            .add_dataframe_asset("frame")
            .add_batch_definition_whole_dataframe("whole_frame")
        )
    return _batch_definition
