"""`make bench`: regenerates reports/bench/runtime.json (the README table) and checks the targets.

The numbers come from `python -m aicam_opt.runtime.bench` (this test calls the same code); this
test checks what the issue asks of them: a real 100 MP photo enhanced end to end within about 1 GB
of RSS beyond its input and output buffers, and the compiled path far ahead of onnxruntime.
"""
from __future__ import annotations

from pathlib import Path

import pytest

REPORT = Path(__file__).resolve().parents[2] / "reports" / "bench" / "runtime.json"


@pytest.mark.bench
def test_runtime_benchmark():
    from aicam_opt.runtime import bench

    results = bench.run(REPORT, quick=True)
    print()
    print(bench.markdown(results))
    e2e = results["e2e_100mp"]
    assert e2e["output_shape"] == [8160, 12240, 3]
    assert e2e["peak_rss_beyond_buffers_mb"] < 1100, e2e
    photo = results["photo"]["12MP"]
    assert photo["compiled_uint8"]["mp_s"] > 10 and results["photo"]["100MP"]["compiled_uint8"]["mp_s"] > 10
    if "speedup_compiled_float32_vs_onnxruntime" in photo:  # not measured when memory is short (see JSON)
        assert photo["speedup_compiled_float32_vs_onnxruntime"] >= 20, photo
    flick = results["video_flicker"]
    if "with_smoothing" in flick:
        assert flick["with_smoothing"]["flicker"] <= flick["without_smoothing"]["flicker"] * 1.001, flick
