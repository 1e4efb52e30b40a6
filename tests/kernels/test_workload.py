"""The kernel's workload, derived from its spec, against TVM's own count of the same PrimFunc; and what
the latency model makes of each variant."""
from __future__ import annotations

from dataclasses import replace

import pytest

from aicam_opt.errors import AicamError
from aicam_opt.kernels.fullres import KernelSpec, define_fullres
from aicam_opt.kernels.workload import executed, tvm_flops
from aicam_opt.latency.kernel_model import KernelCalibration, predict_kernel
from aicam_opt.latency.target import load_target

SPECS = [KernelSpec(3, 16, 8, 16, "float32"), KernelSpec(1, 16, 8, 16, "uint8"), KernelSpec(3, 8, 4, 8, "uint16"),
         KernelSpec(1, 4, 2, 16, "float32"), KernelSpec(3, 16, 16, 32, "uint8"),
         # the variants: taps slice, half arithmetic (uint16 scales in float32), YUV 4:2:0 layouts
         KernelSpec(3, 16, 8, 16, "uint8", slice="taps"), KernelSpec(1, 4, 2, 16, "float32", slice="taps"),
         KernelSpec(3, 16, 8, 16, "uint8", compute="float16"), KernelSpec(3, 8, 4, 8, "uint16", compute="float16"),
         KernelSpec(1, 4, 2, 16, "float32", slice="taps", compute="float16"),
         KernelSpec(3, 16, 8, 16, "uint8", layout="nv12"), KernelSpec(1, 4, 2, 16, "uint8", layout="nv21"),
         KernelSpec(3, 16, 16, 32, "uint8", slice="taps", layout="nv12", yuv="bt709_limited"),
         KernelSpec(3, 8, 4, 8, "uint8", slice="taps", compute="float16", layout="nv21"),
         KernelSpec(3, 16, 8, 16, "uint8", compute="float16", layout="nv12", yuv="bt709_limited")]


def tvm_estimate(spec: KernelSpec, height: int, width: int) -> float:
    import tvm
    from tvm.s_tir.analysis import estimate_tir_flops

    func = define_fullres(spec)
    if spec.layout == "rgb":
        shapes = {func.params[0]: tvm.tirx.decl_buffer((height, width, 3), spec.dtype)}
    else:
        shapes = {func.params[0]: tvm.tirx.decl_buffer((height, width), "uint8"),
                  func.params[1]: tvm.tirx.decl_buffer(((height + 1) // 2, (width + 1) // 2, 2), "uint8")}
    return float(estimate_tir_flops(tvm.IRModule({"fullres": func.specialize(shapes)})))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_closed_form_equals_tvm_estimate(spec):
    for height, width in ((37, 101), (256, 64)):
        assert tvm_flops(spec, height, width) == tvm_estimate(spec, height, width)


def test_executed_work_grows_with_what_the_spec_bakes_in():
    base = executed(KernelSpec(3, 16, 8, 16, "float32"))
    # each depth bin: 24 FMA (12 coefficients x 2) and its shared tent weight
    deeper = executed(KernelSpec(3, 16, 9, 16, "float32"))
    assert deeper.per_pixel.fma - base.per_pixel.fma == 24
    # a luma guide drops two colour curves of 16 knots: 2 x (3 + 16 + 1) FMA
    luma = executed(KernelSpec(1, 16, 8, 16, "float32"))
    assert base.per_pixel.fma - luma.per_pixel.fma == 40
    # 8-bit pixels: a quarter of the bytes of float32, but conversions on the way in and out
    u8 = executed(KernelSpec(3, 16, 8, 16, "uint8"))
    assert u8.pixel_bytes(10, 10) * 4 == base.pixel_bytes(10, 10) and u8.per_pixel.convert > base.per_pixel.convert
    # the GPU schedule folds the y lerp into every lookup: more arithmetic per pixel, no row tables
    gpu = executed(KernelSpec(3, 16, 8, 16, "float32"), "gpu")
    assert gpu.per_pixel.total > base.per_pixel.total and gpu.per_row.total == 0


def test_taps_trade_arithmetic_for_gathers():
    tent, taps = KernelSpec(3, 16, 8, 16, "uint8"), KernelSpec(3, 16, 8, 16, "uint8", slice="taps")
    cpu_tent, cpu_taps = executed(tent, "cpu"), executed(taps, "cpu")
    # per coefficient 3 lerps (sub + FMA) of 4 gathered values instead of D tent terms of 2 FMA; the tent
    # kernel's guide block also finds each lane's depth bin (5 ops)
    assert cpu_tent.per_pixel.total - cpu_taps.per_pixel.total == pytest.approx(12 * (2 * 8 - 6) + 4 * 8 - 8 + 5)
    assert (cpu_tent.gathers_per_pixel, cpu_taps.gathers_per_pixel) == (0, 48)
    assert cpu_taps.per_row.total * 2 < cpu_tent.per_row.total and cpu_taps.table_bytes * 2 == cpu_tent.table_bytes
    # on the GPU the taps slice is HDRNet's 8-corner form, whatever the schedule is called
    assert executed(taps, "gpu") == replace(executed(tent, "gpu_taps"), spec=taps)
    assert executed(taps, "gpu").per_pixel.total * 2 < executed(tent, "gpu").per_pixel.total


def test_fp16_and_yuv_change_bytes_not_the_slice():
    spec = KernelSpec(3, 16, 8, 16, "uint8")
    half = executed(replace(spec, compute="float16"))
    assert half.per_pixel == executed(spec).per_pixel and half.table_bytes * 2 == executed(spec).table_bytes
    nv12 = executed(replace(spec, layout="nv12"))
    assert nv12.pixel_bytes(1080, 1920) == 2 * 1080 * 1920 * 3 // 2  # 1.5 bytes a pixel, in and out
    assert nv12.pixel_bytes(37, 101) == 2 * (37 * 101 + 2 * 19 * 51)  # odd: the last chroma row/column half used
    assert nv12.per_pixel.convert < executed(spec).per_pixel.convert  # one code per pixel in, not three
    assert executed(replace(spec, layout="nv12", yuv="bt709_limited")).per_pixel.fma > nv12.per_pixel.fma


@pytest.fixture(scope="module")
def sd865():
    return load_target("sd865")


CALIBRATION = KernelCalibration(lane_efficiency=0.3, multicore_exponent=0.9, per_call_us=0.0, source="test figures")


def test_latency_model_prices_fp16_at_the_units_fp16_peak(sd865):
    spec = KernelSpec(3, 16, 8, 16, "uint8")
    for unit_name, threads in (("cpu", 4), ("gpu", 1)):
        unit = sd865.unit(unit_name)
        ratio = unit.precisions["fp16"].ops_per_cycle.value / unit.precisions["fp32"].ops_per_cycle.value
        fp32 = predict_kernel(spec, unit, CALIBRATION, 4320, 7680, 44.0, threads)
        fp16 = predict_kernel(replace(spec, compute="float16"), unit, CALIBRATION, 4320, 7680, 44.0, threads)
        assert ratio == 2 and fp16.compute_ms == pytest.approx(fp32.compute_ms / ratio)


def test_latency_model_refuses_fp16_where_the_unit_has_none():
    host_cpu = load_target("host").unit("cpu")
    assert "fp16" not in host_cpu.precisions
    with pytest.raises(AicamError, match="no fp16 arithmetic"):
        predict_kernel(KernelSpec(3, 16, 8, 16, "uint8", compute="float16"), host_cpu, CALIBRATION, 100, 100, 10.0)


def test_latency_model_charges_gathers_by_unit(sd865):
    """A GPU lane issues a gather like an arithmetic op: taps win there. A CPU loads each gathered
    value as a scalar (4 lane slots on the A77): at D = 8 the tent form stays cheaper."""
    tent, taps = KernelSpec(3, 16, 8, 16, "uint8"), KernelSpec(3, 16, 8, 16, "uint8", slice="taps")
    gpu, cpu = sd865.unit("gpu"), sd865.unit("cpu")
    assert predict_kernel(taps, gpu, CALIBRATION, 4320, 7680, 44.0).compute_ms * 2 < \
        predict_kernel(tent, gpu, CALIBRATION, 4320, 7680, 44.0).compute_ms
    cpu_taps = predict_kernel(taps, cpu, CALIBRATION, 4320, 7680, 44.0, 4)
    assert cpu_taps.lane_ops == pytest.approx(executed(taps).ops(4320, 7680).total + 48 * 4320 * 7680 * 4)
    assert cpu_taps.compute_ms > predict_kernel(tent, cpu, CALIBRATION, 4320, 7680, 44.0, 4).compute_ms


def test_unknown_schedule_is_an_error():
    with pytest.raises(ValueError, match="schedule"):
        executed(KernelSpec(3, 16, 8, 16), "dsp")
