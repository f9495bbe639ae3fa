"""Engine parallelism (market_regimes/parallel.py): results in input order whatever the
number of threads, errors passed on, and the thread count read from
MARKET_REGIMES_ENGINE_THREADS."""

from __future__ import annotations

import os
import threading
import time

import pytest

from market_regimes import parallel
from market_regimes.parallel import engine_threads, ordered_map


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
