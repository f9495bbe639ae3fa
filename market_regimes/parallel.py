"""Independent pieces of an engine's work on several threads, results in input order.

The engines split their work into pieces that do not share state (a series segment, a batch
of HMM windows, a detector x bar interval of a report); each piece is computed exactly as it
would be alone, and the results are put back in the order of the pieces, so a run on N
threads gives the same bits as a run on one (tested: tests/unit/test_parallel.py, and the
volatility and lifecycle engines' tests compare a forced parallel run with a serial one).

:func:`ordered_map` uses threads: they pay where the costly parts (numpy on whole arrays,
PyWavelets, the numba kernels compiled with ``nogil=True``) release the GIL. Pure-Python
loops (the grid walks) hold the GIL and stay serial: forking worker processes from the dbt
process (which has DuckDB's and dbt's threads) was tried and measured (the lifecycle walks
8.6 -> 4.8 s) but a forked worker died in a test build and left the pool waiting for ever,
so the project does not fork.

Number of threads: the environment variable ``MARKET_REGIMES_ENGINE_THREADS`` (1 = serial,
the reference path), default the machine's CPU count capped at 4 (an execution setting like
OMP_NUM_THREADS, not a model parameter: it never changes a result).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["engine_threads", "ordered_map", "workers_for"]

T = TypeVar("T")
R = TypeVar("R")

ENV_VAR = "MARKET_REGIMES_ENGINE_THREADS"
DEFAULT_MAX_THREADS = 4


def engine_threads() -> int:
    """Threads for :func:`ordered_map`: ``MARKET_REGIMES_ENGINE_THREADS`` (a whole number
    >= 1), else min(CPU count, 4).

    Raises:
        ValueError: the variable is set to something other than a whole number >= 1.
    """
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return max(1, min(os.cpu_count() or 1, DEFAULT_MAX_THREADS))
    try:
        threads = int(raw)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(f"{ENV_VAR} = {raw!r}: expected a whole number >= 1")
    return threads


# below this many input rows per worker a split is not worth its cost (a thread pool's start,
# pieces too small to keep two cores busy): an hourly update's few new bars per series run
# serially (benchmarks/update.py, one new hour)
MIN_ROWS_PER_WORKER = 50_000


def workers_for(rows: int) -> int:
    """Workers for a job over ``rows`` input rows: :func:`engine_threads`, fewer so that each
    worker has at least :data:`MIN_ROWS_PER_WORKER` rows, at least 1."""
    return max(1, min(engine_threads(), int(rows) // MIN_ROWS_PER_WORKER))


def ordered_map(fn: Callable[[T], R], items: Iterable[T], threads: int | None = None) -> list[R]:
    """``[fn(item) for item in items]``, the calls spread over up to ``threads`` threads.

    Args:
        fn: a function of one piece that touches no state shared with the other pieces.
        items: the pieces (materialised into a list first).
        threads: default :func:`engine_threads`; 1 (or a single piece) runs serially in
            the calling thread.

    Returns:
        The results in the order of ``items``.

    Raises:
        The first exception any call raised (in item order), after the running calls end.
    """
    pieces = list(items)
    threads = engine_threads() if threads is None else threads
    if threads <= 1 or len(pieces) <= 1:
        return [fn(piece) for piece in pieces]
    with ThreadPoolExecutor(max_workers=min(threads, len(pieces)), thread_name_prefix="market-regimes-engine") as pool:
        return list(pool.map(fn, pieces))
