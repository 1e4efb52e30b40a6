"""The cost of the shipped program: the full-res part as the fused kernel compile builds, priced from its spec."""
from __future__ import annotations

import pytest

from aicam_opt.cost.records import FUSED_KERNEL
from aicam_opt.cost.shipped import shipped_student_cost
from aicam_opt.errors import AicamError
from aicam_opt.kernels.spec import KernelSpec, spec_for
from aicam_opt.latency.kernel_model import KernelCalibration, predict_kernel
from aicam_opt.latency.model import Assignment, LatencyModel, Placement, load_calibration
from aicam_opt.latency.target import load_target
from aicam_opt.models.student import StudentConfig, StudentNet

KERNEL_CAL = KernelCalibration(lane_efficiency=0.4, multicore_exponent=0.9, per_call_us=40.0, source="test")


@pytest.fixture(scope="module")
def net():
    return StudentNet(StudentConfig(guide="luma_curve", grid_depth=4)).eval()


def test_full_res_ships_as_one_kernel_at_fp32_and_fp16_but_not_int8(net):
    for precision in ("fp32", "fp16"):
        cost = shipped_student_cost(net, "preview", precision)
        full = [op for op in cost.ops if op.part == "full_res"]
        assert len(full) == 1 and full[0].op_class == FUSED_KERNEL
        assert KernelSpec.from_key(full[0].kernel) == spec_for(net.cfg, "uint8")
        assert full[0].image == (1080, 1920) and full[0].bytes == 1080 * 1920 * 6  # 8-bit pixels in and out once
    graph = shipped_student_cost(net, "preview", "int8")
    assert len([op for op in graph.ops if op.part == "full_res"]) > 10 and not any(op.kernel for op in graph.ops)
    # the low-res part is the same graph either way
    assert [op for op in graph.ops if op.part == "low_res"] == [op for op in cost.ops if op.part == "low_res"]


def test_latency_model_prices_the_kernel_from_its_spec(net):
    target = load_target("host")
    model = LatencyModel(target, load_calibration("host").model_copy(update={"kernels": {"cpu": KERNEL_CAL}}))
    cost = shipped_student_cost(net, "video8k", "fp32")
    prediction = model.predict(cost.ops, Placement(default=Assignment("cpu", "fp32", 2)))
    direct = predict_kernel(spec_for(net.cfg, "uint8"), target.units["cpu"], KERNEL_CAL, 4320, 7680,
                            target.bandwidth_gbps("cpu"), threads=2)
    assert prediction.parts_ms["full_res"] == pytest.approx(direct.latency_ms)
    # far below the op-by-op graph of the same part, which writes and reads every intermediate image
    graph = model.predict(shipped_student_cost(net, "video8k", "int8").ops, Placement(default=Assignment("cpu", "fp32", 2)))
    assert prediction.parts_ms["full_res"] < graph.parts_ms["full_res"]


def test_a_unit_without_kernel_figures_is_a_clear_error(net):
    model = LatencyModel(load_target("host"), load_calibration("host").model_copy(update={"kernels": {}}))
    with pytest.raises(AicamError, match="fused full-res kernel on the cpu.*aicam-opt calibrate --target host"):
        model.predict(shipped_student_cost(net, "preview", "fp32").ops)


def test_the_fused_kernel_ships_through_tvm_only(net):
    """A runtime the kernel does not ship through is an error naming the ones it does; int8 (a QDQ graph) is not."""
    target = load_target("sd865")
    model = LatencyModel(target, load_calibration("sd865"))
    kernel = shipped_student_cost(net, "preview", "fp16").ops
    with pytest.raises(AicamError, match=r"fused full-res kernel \(\S+\) does not ship through 'tflite-gpu' on the gpu; "
                                         r"it ships through tvm"):
        model.predict(kernel, Placement(default=Assignment("gpu", "fp16", None, "tflite-gpu")))
    default = model.predict(kernel, Placement(default=Assignment("gpu", "fp16", None)))
    assert default.runtimes == {"low_res": "tvm", "full_res": "tvm"}
    graph = shipped_student_cost(net, "preview", "int8").ops
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
