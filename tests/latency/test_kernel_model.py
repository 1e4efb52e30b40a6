"""The fused kernel's latency model: predictions follow the spec, a fit recovers known figures, and
the host timing of the real kernel runs."""
from __future__ import annotations

import pytest

from aicam_opt.kernels.bench import KernelCase, time_cases
from aicam_opt.kernels.fullres import KernelSpec
from aicam_opt.latency.kernel_model import KernelCalibration, fit_kernel_calibration, l1_bytes, predict_kernel
from aicam_opt.latency.target import load_target

HOST = load_target("host")
UNIT = HOST.units["cpu"]
BANDWIDTH = HOST.bandwidth_gbps("cpu")
TRUTH = KernelCalibration(lane_efficiency=0.4, multicore_exponent=0.85, per_call_us=30.0, table_spill_ns=0.8,
                          source="test")


def test_prediction_grows_with_work_and_shrinks_with_threads():
    base = predict_kernel(KernelSpec(3, 16, 8, 16, "uint8"), UNIT, TRUTH, 3000, 4000, BANDWIDTH)
    deeper = predict_kernel(KernelSpec(3, 16, 16, 16, "uint8"), UNIT, TRUTH, 3000, 4000, BANDWIDTH)
    two = predict_kernel(KernelSpec(3, 16, 8, 16, "uint8"), UNIT, TRUTH, 3000, 4000, BANDWIDTH, threads=2)
    assert deeper.latency_ms > 1.5 * base.latency_ms
    assert two.latency_ms == pytest.approx(base.overhead_ms + base.compute_ms / 2 ** 0.85)
    assert base.bound == "compute"  # ~100 lane ops per byte moved


def test_tables_that_miss_l1_cost_extra():
    assert l1_bytes(UNIT) == 32 * 1024
    fits = KernelSpec(3, 16, 16, 16, "uint8")   # two row tables of 12 x 16 x 16 floats: 24 KB
    spills = KernelSpec(3, 16, 16, 32, "uint8")  # 48 KB
    no_spill = TRUTH.model_copy(update={"table_spill_ns": 0.0})
    assert predict_kernel(fits, UNIT, TRUTH, 500, 800, BANDWIDTH).latency_ms == \
        predict_kernel(fits, UNIT, no_spill, 500, 800, BANDWIDTH).latency_ms
    assert predict_kernel(spills, UNIT, TRUTH, 500, 800, BANDWIDTH).latency_ms > \
        predict_kernel(spills, UNIT, no_spill, 500, 800, BANDWIDTH).latency_ms


def test_fit_recovers_the_figures_that_made_the_rows():
    specs = [KernelSpec(3, 16, 8, 16, "uint8"), KernelSpec(1, 8, 4, 8, "float32"), KernelSpec(3, 16, 16, 32, "uint8"),
             KernelSpec(1, 16, 16, 32, "uint16")]
    rows = [(s, h, w, t, predict_kernel(s, UNIT, TRUTH, h, w, BANDWIDTH, t).latency_ms)
            for s in specs for h, w in ((300, 400), (1500, 2000)) for t in (1, 2)]
    fitted = fit_kernel_calibration(rows, UNIT, BANDWIDTH, "test")
    assert fitted.lane_efficiency == pytest.approx(0.4, rel=1e-3)
    assert fitted.multicore_exponent == pytest.approx(0.85, rel=1e-3)
    assert fitted.table_spill_ns == pytest.approx(0.8, rel=1e-2)
    # one thread only: the scaling is not fitted, it stays neutral
    single = fit_kernel_calibration([r for r in rows if r[3] == 1], UNIT, BANDWIDTH, "test")
    assert single.multicore_exponent == 1.0


def test_host_timing_of_the_real_kernel():
    cases = [KernelCase(KernelSpec(1, 8, 4, 8, "uint8"), 64, 96, 1), KernelCase(KernelSpec(1, 8, 4, 8, "float32"), 64, 96, 2)]
    timings = time_cases(cases, repeats=2)
    assert [t.case for t in timings] == cases and all(t.ms > 0 for t in timings)


def test_sd865_gpu_prediction_of_the_student_kernel_sits_in_the_hdrnet_anchor_range():
    from aicam_opt.latency.kernel_anchor import ANCHOR, anchor_range_ms, anchored_calibration

    sd865 = load_target("sd865")
    gpu = sd865.units["gpu"]
    cal = anchored_calibration(gpu)
    # the anchor's own kernel, in its own (8-tap) form, comes back at 61 ms / 2x
    own = predict_kernel(ANCHOR.spec, gpu, cal, ANCHOR.height, ANCHOR.width, sd865.bandwidth_gbps("gpu"),
                         schedule=ANCHOR.schedule)
    assert own.latency_ms == pytest.approx(ANCHOR.ms / ANCHOR.speedup, rel=1e-6)
    student = KernelSpec(3, 16, 8, 16, "uint8")  # the committed student's guide and grid, 8-bit camera pixels
    low, high = anchor_range_ms(student, gpu, 3000, 4000)
    predicted = predict_kernel(student, gpu, cal, 3000, 4000, sd865.bandwidth_gbps("gpu")).latency_ms
    assert low < predicted < high and 20 < low and high < 150
