"""Engine parallelism (market_regimes/parallel.py): results in input order whatever the
number of threads or processes, the same values as a serial run, errors passed on, and the
thread count read from MARKET_REGIMES_ENGINE_THREADS."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from market_regimes import parallel
from market_regimes.parallel import engine_threads, ordered_map, process_map


def slow_square(x: int) -> int:
    # later items finish first: the order of the results must still be the input order
    time.sleep(0.002 * (10 - x))
    return x * x


def test_ordered_map_keeps_the_input_order_on_threads():
    assert ordered_map(slow_square, range(10), threads=3) == [x * x for x in range(10)]


def test_ordered_map_uses_several_threads_and_one_when_told():
    seen: set[str] = set()

    def record(x: int) -> int:
        seen.add(threading.current_thread().name)
        time.sleep(0.01)
        return x

    ordered_map(record, range(6), threads=2)
    assert len(seen) == 2 and all(name.startswith("market-regimes-engine") for name in seen)
    seen.clear()
    ordered_map(record, range(6), threads=1)
    assert seen == {threading.current_thread().name}  # serial, in the calling thread


def test_ordered_map_passes_the_error_on():
    def fail_on_three(x: int) -> int:
        if x == 3:
            raise ValueError("piece 3")
        return x

    with pytest.raises(ValueError, match="piece 3"):
        ordered_map(fail_on_three, range(6), threads=2)


def test_process_map_same_results_as_serial_in_order_from_child_processes():
    rng = np.random.default_rng(1)
    pieces = [rng.standard_normal(1000 + 100 * i) for i in range(7)]

    def summary(a: np.ndarray) -> tuple[int, float, np.ndarray]:
        return os.getpid(), float(np.cumsum(a)[-1]), np.sort(a)[:3]

    serial = [summary(p) for p in pieces]
    forked = process_map(summary, pieces, processes=2)
    assert [r[1] for r in forked] == [r[1] for r in serial]  # bit for bit
    for got, expected in zip(forked, serial):
        np.testing.assert_array_equal(got[2], expected[2])
    assert os.getpid() not in {r[0] for r in forked}  # computed in the children
    assert parallel._FORK_JOB is None  # cleared after the run


def test_process_map_serial_when_told_and_passes_errors_on():
    assert process_map(lambda x: (os.getpid(), x), [1, 2], processes=1) == [(os.getpid(), 1), (os.getpid(), 2)]

    def fail_on_two(x: int) -> int:
        if x == 2:
            raise KeyError("piece 2")
        return x

    with pytest.raises(KeyError, match="piece 2"):
        process_map(fail_on_two, range(4), processes=2)
    assert parallel._FORK_JOB is None


def test_engine_threads_from_the_environment(monkeypatch):
    monkeypatch.setenv("MARKET_REGIMES_ENGINE_THREADS", "3")
    assert engine_threads() == 3
    monkeypatch.delenv("MARKET_REGIMES_ENGINE_THREADS")
    assert engine_threads() == max(1, min(os.cpu_count() or 1, 4))
    for bad in ("0", "two", "-1", "1.5"):
        monkeypatch.setenv("MARKET_REGIMES_ENGINE_THREADS", bad)
        with pytest.raises(ValueError, match="MARKET_REGIMES_ENGINE_THREADS"):
            engine_threads()


def test_workers_for_small_jobs_is_one(monkeypatch):
    # an hourly update's few rows run serially; a full build's split over the engine threads
    monkeypatch.setenv("MARKET_REGIMES_ENGINE_THREADS", "4")
    assert parallel.workers_for(0) == 1
    assert parallel.workers_for(parallel.MIN_ROWS_PER_WORKER - 1) == 1
    assert parallel.workers_for(2 * parallel.MIN_ROWS_PER_WORKER) == 2
    assert parallel.workers_for(10**7) == 4
