"""The student's ONNX export: ATen and ONNX counts agree, workloads bind, TVM agrees within 1%."""
from __future__ import annotations

import collections

import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from aicam_opt.cost import count_onnx, count_torch, model_cost
from aicam_opt.cost.tvm_check import AGREEING_BUCKETS, cross_check_onnx
from aicam_opt.errors import AicamError
from aicam_opt.models.student import StudentConfig, StudentNet

SIZE = (64, 96)


@pytest.fixture(scope="module")
def student():
    torch.manual_seed(0)
    return StudentNet(StudentConfig()).eval()


@pytest.fixture(scope="module")
def student_onnx(student, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "student.onnx"
    torch.onnx.export(student, (torch.rand(1, 3, *SIZE),), str(path), opset_version=20, dynamo=True, verbose=False)
    return path


def by_class(ops, field):
    sums = collections.Counter()
    for o in ops:
        sums[o.op_class] += getattr(o, field)
    return sums


def test_aten_and_onnx_counts_agree_on_the_student(student, student_onnx):
    aten = count_torch(student, (torch.rand(1, 3, *SIZE),))
    onnx_ops = count_onnx(student_onnx)
    assert all(o.counted for o in aten + onnx_ops)
    # The same compute ops under the same names, the same MACs per op class, and identical
    # arithmetic for the ops both graphs keep as they are.
    compute_ops = lambda ops: collections.Counter(o.op for o in ops if o.macs)  # noqa: E731
    assert compute_ops(aten) == compute_ops(onnx_ops) == {"conv2d": 28, "linear": 3, "matmul": 2, "grid_sample": 1}
    assert +by_class(aten, "macs") == +by_class(onnx_ops, "macs")
    aten_flops, onnx_flops = by_class(aten, "flops"), by_class(onnx_ops, "flops")
    for op_class in ("matmul", "depthwise_conv", "grid_sample", "resize"):
        assert aten_flops[op_class] == onnx_flops[op_class], op_class
    # The exporter folds batch norm into the convolutions, and what depends only on parameters
    # into constants: sigmoid(mix_logit) (1 transcendental) and the linspaces, so the ATen graph's
    # extra element-wise FLOPs are exactly its two linspaces (columns and rows).
    assert aten_flops["transcendental"] - onnx_flops["transcendental"] == 1
    linspaces = sum(o.flops for o in aten if o.op == "linspace")
    assert linspaces == (96 * 2 + 2) + (64 * 2 + 2)
    assert aten_flops["elementwise"] - onnx_flops["elementwise"] == linspaces
    assert "norm" in aten_flops and "norm" not in onnx_flops


def test_onnx_workload_binding(student_onnx):
    own = model_cost(student_onnx)
    assert (own.height, own.width) == SIZE and own.macs == sum(o.macs for o in count_onnx(student_onnx))
    assert model_cost(student_onnx, "64x96").macs == own.macs
    with pytest.raises(AicamError, match="fixed input size 64x96"):
        model_cost(student_onnx, "preview")


def test_onnx_with_symbolic_size_is_bound_to_the_workload(tmp_path):
    weight = numpy_helper.from_array(torch.rand(4, 3, 3, 3).numpy(), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, "H", "W"])],
                              initializer=[weight])
    path = tmp_path / "dynamic.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), str(path))
    assert model_cost(path, "preview").macs == 1080 * 1920 * 4 * 27
    with pytest.raises(AicamError, match="symbolic"):
        count_onnx(path)


def test_tvm_agrees_within_one_percent_on_conv_matmul_elementwise(student_onnx):
    check = cross_check_onnx(student_onnx)
    assert not check.unmapped_tvm_kinds  # every TVM call with FLOPs landed in a bucket
    for bucket in AGREEING_BUCKETS:
        assert abs(check.buckets[bucket].relative_difference) <= 0.01, check.table()
    assert check.worst_per_op_difference("conv") <= 0.01  # op by op, 28 convolutions
    assert check.worst_per_op_difference("matmul") <= 0.01
    # The documented differences, exactly: TVM counts reductions from their zero initialiser and
    # does not count exp, so softmax is 4 FLOPs per element for it.
    assert check.buckets["transcendental"].tvm == 4 * 256 * 256 + 4 * 3
