"""The cost of the shipped program: the full-res part as the fused kernel compile builds, priced from its spec."""
from __future__ import annotations

import pytest

from aicam_opt.cost.records import FUSED_KERNEL
from aicam_opt.cost.shipped import shipped_student_cost
from aicam_opt.errors import AicamError
from aicam_opt.kernels.spec import KernelSpec, shipped_variant, spec_for
from aicam_opt.latency.kernel_model import KernelCalibration, predict_kernel
from aicam_opt.latency.model import Assignment, LatencyModel, Placement, load_calibration
from aicam_opt.latency.target import load_target
from aicam_opt.models.student import StudentConfig, StudentNet

KERNEL_CAL = KernelCalibration(lane_efficiency=0.4, multicore_exponent=0.9, per_call_us=40.0, source="test")


@pytest.fixture(scope="module")
def net():
    return StudentNet(StudentConfig(guide="luma_curve", grid_depth=4)).eval()


def test_full_res_ships_as_one_kernel_at_fp32_and_fp16_but_not_int8(net):
    for precision, compute in (("fp32", "float32"), ("fp16", "float16")):
        cost = shipped_student_cost(net, "preview", precision, "cpu")
        full = [op for op in cost.ops if op.part == "full_res"]
        assert len(full) == 1 and full[0].op_class == FUSED_KERNEL
        assert KernelSpec.from_key(full[0].kernel) == spec_for(net.cfg, "uint8", "tent", compute)
        assert full[0].image == (1080, 1920) and full[0].bytes == 1080 * 1920 * 6  # 8-bit pixels in and out once
    graph = shipped_student_cost(net, "preview", "int8", "cpu")
    assert len([op for op in graph.ops if op.part == "full_res"]) > 10 and not any(op.kernel for op in graph.ops)
    # the low-res part is the same graph either way
    assert [op for op in graph.ops if op.part == "low_res"] == [op for op in cost.ops if op.part == "low_res"]


def test_latency_model_prices_the_kernel_from_its_spec(net):
    target = load_target("host")
    model = LatencyModel(target, load_calibration("host").model_copy(update={"kernels": {"cpu": KERNEL_CAL}}))
    cost = shipped_student_cost(net, "video8k", "fp32", "cpu")
    prediction = model.predict(cost.ops, Placement(default=Assignment("cpu", "fp32", 2)))
    direct = predict_kernel(spec_for(net.cfg, "uint8"), target.units["cpu"], KERNEL_CAL, 4320, 7680,
                            target.bandwidth_gbps("cpu"), threads=2)
    assert prediction.parts_ms["full_res"] == pytest.approx(direct.latency_ms)
    # far below the op-by-op graph of the same part, which writes and reads every intermediate image
    graph = model.predict(shipped_student_cost(net, "video8k", "int8", "cpu").ops, Placement(default=Assignment("cpu", "fp32", 2)))
    assert prediction.parts_ms["full_res"] < graph.parts_ms["full_res"]


def test_a_unit_without_kernel_figures_is_a_clear_error(net):
    model = LatencyModel(load_target("host"), load_calibration("host").model_copy(update={"kernels": {}}))
    with pytest.raises(AicamError, match="fused full-res kernel on the cpu.*aicam-opt calibrate --target host"):
        model.predict(shipped_student_cost(net, "preview", "fp32", "cpu").ops)


def test_each_unit_gets_the_slice_form_it_runs_fastest_and_fp16_computes_in_half():
    """The rule `compile` ships by (kernels.spec.shipped_variant) is the cheaper form on every calibrated
    unit of both targets, for the committed student's kernel and a small one."""
    for target_name in ("sd865", "host"):
        model = LatencyModel(load_target(target_name), load_calibration(target_name))
        for unit_name, unit in model.target.units.items():
            if unit_name not in model.calibration.kernels:
                continue
            for cfg in (StudentConfig(), StudentConfig(guide="luma_curve", grid_depth=4)):
                for precision in [p for p in ("fp32", "fp16") if p in unit.precisions]:
                    slice, compute = shipped_variant(unit.kind, precision)
                    assert compute == ("float16" if precision == "fp16" else "float32")
                    times = {form: predict_kernel(spec_for(cfg, "uint8", form, compute), unit,
                                                  model.calibration.kernel_for(unit_name), 4320, 7680,
                                                  model.target.bandwidth_gbps(unit_name), unit.core_count).latency_ms
                             for form in ("tent", "taps")}
                    assert times[slice] == min(times.values()), (target_name, unit_name, cfg, times)
    with pytest.raises(ValueError, match="int8"):
        shipped_variant("gpu", "int8")


def test_the_gpu_fp16_kernel_is_priced_in_its_shipped_form(net):
    """On the sd865 GPU an fp16 full-res part is the two-tap, half-precision kernel: several times
    cheaper than the float32 tent the search priced before."""
    target = load_target("sd865")
    model = LatencyModel(target, load_calibration("sd865"))
    placement = Placement(default=Assignment("gpu", "fp16"))
    cost = shipped_student_cost(net, "video8k", "fp16", "gpu")
    kernel = next(op for op in cost.ops if op.part == "full_res")
    assert KernelSpec.from_key(kernel.kernel) == spec_for(net.cfg, "uint8", "taps", "float16")
    shipped = model.predict(cost.ops, placement).parts_ms["full_res"]
    tent32 = predict_kernel(spec_for(net.cfg, "uint8"), target.units["gpu"], model.calibration.kernel_for("gpu"),
                            4320, 7680, target.bandwidth_gbps("gpu")).latency_ms
    assert shipped < tent32 / 3


def test_the_fused_kernel_ships_through_tvm_only(net):
    """A runtime the kernel does not ship through is an error naming the ones it does; int8 (a QDQ graph) is not."""
    target = load_target("sd865")
    model = LatencyModel(target, load_calibration("sd865"))
    kernel = shipped_student_cost(net, "preview", "fp16", "gpu").ops
    with pytest.raises(AicamError, match=r"fused full-res kernel \(\S+\) does not ship through 'tflite-gpu' on the gpu; "
                                         r"it ships through tvm"):
        model.predict(kernel, Placement(default=Assignment("gpu", "fp16", None, "tflite-gpu")))
    default = model.predict(kernel, Placement(default=Assignment("gpu", "fp16", None)))
    assert default.runtimes == {"low_res": "tvm", "full_res": "tvm"}
    graph = shipped_student_cost(net, "preview", "int8", "dsp").ops
    placed = Placement(parts={"low_res": Assignment("dsp", "int8", None, "tflite-npu"),
                              "full_res": Assignment("dsp", "int8", None)})
    p = model.predict(graph, placed)
    assert p.runtimes == {"low_res": "tflite-npu", "full_res": "tvm"}
    # Moving to another runtime on the same unit is another inference call: downsample (full_res, TVM priced
    # as NNAPI) -> low_res (TFLite NPU) -> full_res (TVM) is three; all on the default runtime, one.
    dsp = load_calibration("sd865").units["dsp"]
    calls = dsp["tflite-npu"]["int8"].per_call_overhead_us + 2 * dsp["nnapi"]["int8"].per_call_overhead_us
    assert p.call_overhead_ms == pytest.approx(calls * 1e-3)
    one = model.predict(graph, Placement(default=Assignment("dsp", "int8", None)))
    assert one.call_overhead_ms == pytest.approx(dsp["nnapi"]["int8"].per_call_overhead_us * 1e-3)
