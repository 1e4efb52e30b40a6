"""Measure this machine's memory bandwidth and peak fp32 arithmetic: the figures of targets/host.yaml.

Run `python -m aicam_opt.latency.host_probe` and copy the printed figures (with the date) into
targets/host.yaml. Medians of repeats, because the machine is shared with other jobs.
"""
from __future__ import annotations

import json
import os
import platform
import time


from ..timing import median_time, memory_bandwidth_gbps






def peak_fp32_gflops(threads: int, n: int = 2048, repeats: int = 9) -> float:
    """Single-precision matmul throughput on `threads` threads (torch's BLAS, whose threads we control)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a = torch.randn(n, n)
        b = torch.randn(n, n)
        seconds = median_time(lambda: a @ b, repeats)
    finally:
        torch.set_num_threads(previous)
    return 2 * n ** 3 / seconds / 1e9


def main() -> None:
    figures = {
        "measured_at_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "machine": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "memory_bandwidth_gbps": round(memory_bandwidth_gbps(), 2),
        "peak_fp32_gflops_1_thread": round(peak_fp32_gflops(1), 1),
        "peak_fp32_gflops_all_threads": round(peak_fp32_gflops(os.cpu_count() or 1), 1),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
