"""The latency model on hand-built ops: roofline, precision, fusion, placement, overheads."""
import pytest

from aicam_opt.cost.records import OpCost
from aicam_opt.errors import AicamError
from aicam_opt.latency.model import Assignment, Calibration, LatencyModel, Placement, PrecisionCalibration, fuse
from aicam_opt.latency.target import load_target

PEAK_FP32 = 2.84e9 * 16  # one prime A77
BANDWIDTH = 44e9


def calibration(per_op_us=0.0, per_call_us=0.0, memory=1.0, dense=0.5, vector=0.25, cache_speedup=1.0) -> Calibration:
    figures = PrecisionCalibration(compute_efficiency={"conv": dense, "matmul": dense, "default": vector},
                                   memory_efficiency=memory, per_op_overhead_us=per_op_us,
                                   per_call_overhead_us=per_call_us, cache_speedup=cache_speedup)
    runtimes = {"cpu": ("paddle-lite", "onnxruntime"), "gpu": ("paddle-lite", "tflite-gpu"), "dsp": ("nnapi", "tflite-npu")}
    return Calibration(target="sd865", units={u: {r: {p: figures for p in ("fp32", "fp16", "int8")} for r in rs}
                                              for u, rs in runtimes.items()})


def model(**kw) -> LatencyModel:
    return LatencyModel(load_target("sd865"), calibration(**kw))


def conv(name="conv", macs=10_000_000, read=40_000, written=40_000, part="whole") -> OpCost:
    return OpCost(name, "conv2d", "conv", part, macs=macs, bytes_read=read, bytes_written=written)


def elementwise(name, n, operands=1, part="whole", op="relu") -> OpCost:
    return OpCost(name, op, "elementwise", part, compares=n, bytes_read=4 * n * operands, bytes_written=4 * n)


def test_compute_bound_conv_takes_flops_over_peak_times_efficiency():
    p = model(per_op_us=5).predict([conv(macs=100_000_000)])
    expected_ms = 2 * 100e6 / (PEAK_FP32 * 0.5) * 1e3 + 0.005
    assert p.latency_ms == pytest.approx(expected_ms)
    assert p.ops[0].bound == "compute"


def test_memory_bound_op_takes_bytes_over_bandwidth_and_fp16_halves_it():
    n = 10_000_000  # 80 MB of traffic: far beyond any cache
    op = elementwise("relu", n)
    m = model(memory=0.5)
    fp32 = m.predict([op], Placement(Assignment("cpu", "fp32")))
    assert fp32.latency_ms == pytest.approx(8 * n / (BANDWIDTH * 0.5) * 1e3)
    assert fp32.ops[0].bound == "memory"
    fp16 = m.predict([op], Placement(Assignment("cpu", "fp16")))
    assert fp16.latency_ms == pytest.approx(fp32.latency_ms / 2)


def test_working_set_in_cache_is_served_faster():
    small = elementwise("relu", 100_000)  # 800 kB: fits the 4 MB L3
    # vector efficiency far above 1 keeps the op memory-bound in both cases
    slow = model(cache_speedup=1.0, vector=100).predict([small]).latency_ms
    fast = model(cache_speedup=4.0, vector=100).predict([small]).latency_ms
    assert fast == pytest.approx(slow / 4)


def test_fusion_removes_intermediate_traffic_and_launches():
    n = 1_000_000
    ops = [conv(macs=1000, read=4 * n, written=4 * n), elementwise("relu", n), elementwise("add", n, operands=2, op="add")]
    groups = fuse(ops)
    assert len(groups) == 1
    g = groups[0]
    # conv input + the residual operand of the add; one output. The relu's and the conv's outputs never touch memory.
    assert g.bytes_read == 4 * n + 4 * n
    assert g.bytes_written == 4 * n
    unfused_traffic = sum(o.bytes for o in ops)
    assert g.bytes_read + g.bytes_written < unfused_traffic / 2

    m = model(per_op_us=10)
    fused = m.predict(ops)
    assert [t.fused_into for t in fused.ops] == ["", "conv", "conv"]
    assert sum(t.overhead_ms for t in fused.ops) == pytest.approx(0.010)  # one launch, not three
    unfused = LatencyModel(m.target, m.calibration).predict([ops[0]]).latency_ms + sum(
        m.predict([o]).latency_ms for o in ops[1:])
    assert fused.latency_ms < unfused


def test_softmax_and_pooling_are_not_fused():
    ops = [OpCost("mm", "bmm", "matmul", macs=1000, bytes_read=800, bytes_written=400),
           OpCost("sm", "softmax", "transcendental", transcendentals=100, bytes_read=400, bytes_written=400),
           OpCost("pool", "avg_pool2d", "pool", adds=100, bytes_read=400, bytes_written=100)]
    assert len(fuse(ops)) == 3


def test_placement_on_two_units_adds_the_transfer_of_the_handed_over_tensor():
    grid_bytes = 4 * 12 * 8 * 16 * 16
    ops = [conv("low_conv", part="low_res", written=grid_bytes), elementwise("apply", 2_000_000, part="full_res")]
    m = model(per_call_us=100)
    same = m.predict(ops, Placement(Assignment("gpu", "fp16")))
    assert same.transfer_ms == 0 and same.transfer_bytes == 0
    assert same.call_overhead_ms == pytest.approx(0.1)  # one call on one unit

    split = m.predict(ops, Placement(default=Assignment("gpu", "fp16"), parts={"low_res": Assignment("dsp", "int8")}))
    t = m.target.transfer("dsp", "gpu")
    int8_grid = grid_bytes // 4
    assert split.transfer_bytes == int8_grid
    assert split.transfer_ms == pytest.approx(t.latency_us.value / 1e3 + int8_grid / (t.bandwidth_gbps.value * 1e9) * 1e3)
    assert split.call_overhead_ms == pytest.approx(0.2)  # a call on each unit
    assert split.latency_ms == pytest.approx(sum(split.parts_ms.values()) + split.call_overhead_ms + split.transfer_ms)


def test_uncounted_ops_are_reported_and_views_cost_nothing():
    ops = [conv(), OpCost("mystery", "weird_op", "elementwise", counted=False),
           OpCost("flatten", "flatten", "data_movement")]
    p = model(per_op_us=5).predict(ops)
    assert p.uncounted == ["mystery"]
    assert p.ops[2].latency_ms == 0  # a view launches no kernel


def test_more_cores_are_faster_for_compute_bound_work():
    m = model()
    one = m.predict([conv(macs=10**9)], Placement(Assignment("cpu", "fp32", 1))).latency_ms
    four = m.predict([conv(macs=10**9)], Placement(Assignment("cpu", "fp32", 4))).latency_ms
    assert four == pytest.approx(one * 2.84 / (2.84 + 3 * 2.42))


def test_unsupported_precision_on_a_unit_is_an_error():
    with pytest.raises(AicamError, match="not supported on the gpu"):
        model().predict([conv()], Placement(Assignment("gpu", "int8")))


def test_student_like_order_crosses_twice_and_calls_three_times():
    """downsample (full_res) -> low-res CNN -> full-res apply: image in, grid back."""
    small_image = 4 * 3 * 256 * 256
    grid = 4 * 12 * 8 * 16 * 16
    ops = [OpCost("downsample", "upsample_bilinear2d", "resize", "full_res", adds=10, bytes_read=10**6, bytes_written=small_image),
           conv("low_conv", part="low_res", written=grid),
           elementwise("apply", 2_000_000, part="full_res")]
    m = model(per_call_us=100)
    p = m.predict(ops, Placement(default=Assignment("gpu", "fp16"), parts={"low_res": Assignment("dsp", "int8")}))
    assert p.transfer_bytes == small_image // 2 + grid // 4  # fp16 image to the DSP, int8 grid back
    assert p.call_overhead_ms == pytest.approx(0.3)  # gpu, dsp, gpu
    assert [t.op.name for t in p.ops] == ["downsample", "low_conv", "apply"]  # execution order kept
