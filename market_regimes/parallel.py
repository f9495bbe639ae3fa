"""Independent pieces of an engine's work on several threads, results in input order.

The engines split their work into pieces that do not share state (a series segment, a batch
of HMM windows, a detector x bar interval of a report); each piece is computed exactly as it
would be alone, and the results are put back in the order of the pieces, so a run on N
threads gives the same bits as a run on one (tested: tests/unit/test_parallel.py, and the
volatility and lifecycle engines' tests compare a forced parallel run with a serial one).

:func:`ordered_map` uses threads: enough where the costly parts (numpy on whole arrays,
PyWavelets, the numba kernels compiled with ``nogil=True``) release the GIL.
:func:`process_map` forks worker processes for pieces that are pure-Python loops (the grid
walks), which hold the GIL: the children inherit the pieces (nothing is pickled on the way
in) and send back only their results. It forks from a dbt process that has other threads
(DuckDB's): the children run only the piece function (no DuckDB, no I/O), Python's cyclic
garbage collector is frozen across the fork so that no child finalises an object of the
parent, and a platform other than Linux runs the pieces serially.

Number of threads: the environment variable ``MARKET_REGIMES_ENGINE_THREADS`` (1 = serial,
the reference path), default the machine's CPU count capped at 4 (an execution setting like
OMP_NUM_THREADS, not a model parameter: it never changes a result).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["engine_threads", "ordered_map", "process_map", "workers_for"]

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


# below this many input rows per worker a split is not worth its start-up (a thread pool
# ~1 ms, a fork and the pickled results ~0.1-0.2 s): an hourly update's few new bars per
# series run serially (measured: benchmarks/update.py, one new hour)
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


# fork where it is the platform's own (Linux); macOS' system libraries are not fork-safe in a
# process with threads, Windows has no fork: there the pieces run serially
_CAN_FORK = sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()

# (function, pieces) of the running process_map: the forked children read it from the
# memory they inherit
_FORK_JOB: tuple[Callable, list] | None = None


def _run_piece(i: int):
    fn, pieces = _FORK_JOB  # type: ignore[misc]
    return fn(pieces[i])


def process_map(fn: Callable[[T], R], items: Iterable[T], processes: int | None = None) -> list[R]:
    """``[fn(item) for item in items]``, the calls spread over up to ``processes`` forked
    worker processes (see the module docstring).

    Args:
        fn: a function of one piece that touches no state shared with the other pieces and
            returns a picklable result (DataFrames and arrays are).
        items: the pieces (materialised into a list first; never pickled).
        processes: default :func:`engine_threads`; 1, a single piece, or a platform other
            than Linux run serially in the calling process.

    Returns:
        The results in the order of ``items``.

    Raises:
        The first exception a call raised (in item order).
    """
    global _FORK_JOB
    pieces = list(items)
    processes = engine_threads() if processes is None else processes
    if processes <= 1 or len(pieces) <= 1 or not _CAN_FORK:
        return [fn(piece) for piece in pieces]
    if _FORK_JOB is not None:
        raise RuntimeError("process_map: not re-entrant (a piece function called process_map)")
    _FORK_JOB = (fn, pieces)
    gc.freeze()  # the children never collect (or finalise) the parent's objects
    try:
        with multiprocessing.get_context("fork").Pool(min(processes, len(pieces))) as pool:
            return pool.map(_run_piece, range(len(pieces)), chunksize=1)
    finally:
        gc.unfreeze()
        _FORK_JOB = None
