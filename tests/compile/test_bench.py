"""The host speed benchmark runs and records all three engines (a benchmark: `make bench` only)."""
from __future__ import annotations

import pytest

from aicam_opt.compile.bench import bench


@pytest.mark.bench
def test_bench_times_compiled_onnxruntime_and_pytorch(candidates):
    report = bench(candidates["tiny_fp32"], ["12MP"], repeats=1, threads=1)
    row = report["full_res"]["12MP"]
    assert row["compiled_tvm"]["s"] > 0 and report["end_to_end_compiled"]["12MP"]["s"] > 0
    if "baselines_skipped" not in row:
        assert row["speedup_vs_onnxruntime"] > 1 and row["speedup_vs_pytorch_eager"] > 1
    assert {"compiled_tvm", "onnxruntime", "pytorch_eager"} <= set(report["low_res"])
