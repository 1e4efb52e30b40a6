"""How long things take on this machine, and how fast it moves memory: the one timing helper and the
one bandwidth probe that the benchmarks, the host calibration and the gate's host timing share."""
from __future__ import annotations

import resource
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np


def run_times(fn: Callable[[], object], repeats: int, budget_s: float = float("inf"), warmup: bool = False) -> list[float]:
    """Wall times of up to `repeats` runs of `fn`, stopping early once `budget_s` is spent."""
    if warmup:
        fn()  # page faults and first-touch allocation are not part of the steady state
    times: list[float] = []
    start = time.perf_counter()
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        if time.perf_counter() - start > budget_s:
            break
    return times


def best_time(fn: Callable[[], object], repeats: int, budget_s: float = 60.0) -> float:
    """Minimum wall time of `repeats` runs (fewer if the budget is spent): the least disturbed run."""
    return min(run_times(fn, repeats, budget_s))


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of `repeats` runs after one warm-up run: robust on a shared machine."""
    return statistics.median(run_times(fn, repeats, warmup=True))


def memory_bandwidth_gbps(megabytes: int = 512, repeats: int = 15) -> float:
    """Copy bandwidth (bytes read + bytes written per second) of a buffer far larger than the caches."""
    src = np.ones(megabytes * (1 << 20) // 8, dtype=np.float64)
    dst = np.empty_like(src)
    return 2 * src.nbytes / median_time(lambda: np.copyto(dst, src), repeats) / 1e9


def peak_rss_bytes() -> int:
    """This process's peak RSS since exec: VmHWM. (getrusage's ru_maxrss is not used: on Linux it
    keeps the parent's RSS at fork time across exec, which would charge the benchmark's own memory.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
