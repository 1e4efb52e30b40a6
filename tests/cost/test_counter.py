"""Exact counts of each op kind against hand-computed values, through both graph front ends.

The expected numbers are worked out by hand in the comments (see aicam_opt/cost/formulas.py for the
counting conventions), not computed with the code under test.
"""
from __future__ import annotations

import warnings

import onnx
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from aicam_opt.cost import OpCost, UncountedOpWarning, count_onnx, count_torch

ARITH = ("macs", "adds", "muls", "divs", "transcendentals", "compares")


class Fn(nn.Module):
    """A module running one function, so a single op can be exported."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def only_op(ops: list[OpCost], op: str) -> OpCost:
    matches = [o for o in ops if o.op == op]
    assert len(matches) == 1, [o.op for o in ops]
    return matches[0]


def arith(o: OpCost) -> dict[str, int]:
    return {k: getattr(o, k) for k in ARITH if getattr(o, k)}


# --- ATen (torch.export) ------------------------------------------------------------------------

def test_dense_3x3_conv_with_bias():
    conv = nn.Conv2d(4, 8, 3, padding=1)
    o = only_op(count_torch(conv, (torch.rand(1, 4, 10, 12),)), "conv2d")
    # 8 x 10 x 12 = 960 outputs, each 4 * 3 * 3 = 36 MACs, plus one bias add.
    assert arith(o) == {"macs": 34560, "adds": 960}
    assert o.op_class == "conv"
    assert o.params == 8 * 4 * 9 + 8
    assert o.bytes_read == 4 * (480 + 296) and o.bytes_written == 4 * 960


def test_depthwise_strided_conv():
    conv = nn.Conv2d(6, 6, 3, stride=2, padding=1, groups=6, bias=False)
    o = only_op(count_torch(conv, (torch.rand(1, 6, 16, 16),)), "conv2d")
    # 6 x 8 x 8 = 384 outputs, 9 MACs each (one channel per group).
    assert arith(o) == {"macs": 3456}
    assert o.op_class == "depthwise_conv" and o.params == 54


def test_grouped_conv_is_not_depthwise():
    conv = nn.Conv2d(8, 8, 1, groups=2, bias=False)
    o = only_op(count_torch(conv, (torch.rand(1, 8, 3, 3),)), "conv2d")
    assert o.op_class == "conv" and o.macs == 8 * 9 * 4  # 72 outputs x 4 input channels per group


def test_linear_and_bmm():
    o = only_op(count_torch(nn.Linear(10, 5), (torch.rand(2, 10),)), "linear")
    assert arith(o) == {"macs": 100, "adds": 10} and o.op_class == "matmul" and o.params == 55
    o = only_op(count_torch(Fn(torch.bmm), (torch.rand(2, 3, 4), torch.rand(2, 4, 5))), "matmul")
    assert arith(o) == {"macs": 2 * 3 * 5 * 4}


def test_trilinear_grid_sample_border():
    fn = Fn(lambda x, g: F.grid_sample(x, g, mode="bilinear", padding_mode="border", align_corners=True))
    o = only_op(count_torch(fn, (torch.rand(1, 2, 3, 4, 5), torch.rand(1, 1, 6, 7, 3))), "grid_sample")
    # 42 output positions x 2 channels. Per position: 24 adds, 19 muls, 12 compares (coordinates,
    # clamps, floors, fractions, 12 tap-weight products, 8 tap offsets); per element and channel:
    # 1 mul + 7 MACs over the 8 taps.
    assert arith(o) == {"macs": 84 * 7, "adds": 42 * 24, "muls": 42 * 19 + 84, "compares": 42 * 12}
    assert o.op_class == "grid_sample"
    assert o.bytes_read == 4 * (2 * 3 * 4 * 5 + 42 * 3) and o.bytes_written == 4 * 84


def test_bilinear_grid_sample_zeros_padding():
    fn = Fn(lambda x, g: F.grid_sample(x, g, mode="bilinear", padding_mode="zeros", align_corners=False))
    o = only_op(count_torch(fn, (torch.rand(1, 3, 5, 5), torch.rand(1, 4, 6, 2))), "grid_sample")
    # 24 positions x 3 channels. Per position: 2+4+4 = 10 adds, 2+4+2 = 8 muls, 8 bound tests +
    # 4 tap selects + 2 floors = 14 compares; per element: 1 mul + 3 MACs.
    assert arith(o) == {"macs": 72 * 3, "adds": 240, "muls": 24 * 8 + 72, "compares": 24 * 14}


def test_bilinear_interpolate():
    fn = Fn(lambda x: F.interpolate(x, size=(8, 12), mode="bilinear", align_corners=False))
    o = only_op(count_torch(fn, (torch.rand(1, 2, 4, 6),)), "upsample_bilinear2d")
    # 192 output elements x (6 muls + 3 adds); 8 + 12 = 20 source rows/columns x (1 mul, 5 adds, 3 compares).
    assert arith(o) == {"muls": 1152 + 20, "adds": 576 + 100, "compares": 60}
    assert o.op_class == "resize"


def test_avg_pool_and_adaptive_avg_pool():
    o = only_op(count_torch(nn.AvgPool2d(2), (torch.rand(1, 3, 6, 8),)), "avg_pool2d")
    assert arith(o) == {"adds": 36 * 3, "divs": 36} and o.op_class == "pool"  # 36 windows of 4
    o = only_op(count_torch(nn.AdaptiveAvgPool2d((2, 3)), (torch.rand(1, 2, 5, 7),)), "adaptive_avg_pool2d")
    # rows 5 -> 2: windows [0,3) [2,5) = 3 + 3; columns 7 -> 3: [0,3) [2,5) [4,7) = 9.
    # summed = 2 channels x 6 x 9 = 108 elements into 12 outputs.
    assert arith(o) == {"adds": 108 - 12, "divs": 12}


def test_softmax():
    o = only_op(count_torch(Fn(lambda x: torch.softmax(x, dim=-1)), (torch.rand(3, 5),)), "softmax")
    # 3 rows of 5: max 4 compares, 5 subtracts, 5 exps, 4 adds, 5 divides per row.
    assert arith(o) == {"compares": 12, "adds": 27, "transcendentals": 15, "divs": 15}
    assert o.op_class == "transcendental"


def test_relu_clamp_leaky_relu_sigmoid():
    x = (torch.rand(2, 3, 4),)  # 24 elements
    assert arith(only_op(count_torch(nn.ReLU(), x), "relu")) == {"compares": 24}
    assert arith(only_op(count_torch(Fn(lambda t: t.clamp(0, 1)), x), "clamp")) == {"compares": 48}
    assert arith(only_op(count_torch(Fn(lambda t: t.clamp(min=0)), x), "clamp")) == {"compares": 24}
    assert arith(only_op(count_torch(nn.LeakyReLU(0.2), x), "leaky_relu")) == {"compares": 24, "muls": 24}
    assert arith(only_op(count_torch(nn.Sigmoid(), x), "sigmoid")) == {"transcendentals": 24}


def test_broadcast_add_reads_each_input_once():
    o = only_op(count_torch(Fn(torch.add), (torch.rand(2, 3, 4), torch.rand(1, 3, 1))), "add")
    assert arith(o) == {"adds": 24} and o.op_class == "elementwise"
    assert o.bytes_read == 4 * (24 + 3) and o.bytes_written == 4 * 24


def test_batch_norm_inference():
    o = only_op(count_torch(nn.BatchNorm2d(3), (torch.rand(1, 3, 4, 4),)), "batch_norm")
    # per channel: scale = gamma / sqrt(var + eps), shift = beta - mean * scale; per element x * scale + shift.
    assert arith(o) == {"muls": 48 + 3, "adds": 48 + 6, "transcendentals": 3, "divs": 3}
    assert o.op_class == "norm" and o.params == 2 * 3  # weight and bias; running mean and var are statistics


def test_reductions_and_linspace():
    x = (torch.rand(1, 4, 3, 5),)
    assert arith(only_op(count_torch(Fn(lambda t: t.mean(dim=(2, 3))), x), "mean")) == {"adds": 56, "divs": 4}
    assert arith(only_op(count_torch(Fn(lambda t: t.amax(dim=(2, 3))), x), "amax")) == {"compares": 56}
    assert arith(only_op(count_torch(Fn(lambda t: t.sum(dim=1)), x), "sum")) == {"adds": 60 - 15}
    ops = count_torch(Fn(lambda t: t + torch.linspace(0, 1, 10)), (torch.rand(10),))
    assert arith(only_op(ops, "linspace")) == {"muls": 10, "adds": 11, "divs": 1}


def test_data_movement_is_bytes_only_and_views_are_free():
    ops = count_torch(Fn(lambda a, b: torch.cat([a, b], dim=1).view(-1)), (torch.rand(1, 2, 3), torch.rand(1, 4, 3)))
    cat, view = only_op(ops, "cat"), only_op(ops, "view")
    assert arith(cat) == {} and cat.bytes_read == 72 and cat.bytes_written == 72 and cat.op_class == "data_movement"
    assert view.bytes == 0 and "view" in view.note
    pad = only_op(count_torch(Fn(lambda t: F.pad(t, (0, 1, 0, 1), mode="replicate")), (torch.rand(1, 1, 4, 4),)), "pad")
    assert arith(pad) == {} and pad.bytes_read == 64 and pad.bytes_written == 100


def test_unknown_aten_op_is_flagged_uncounted():
    with pytest.warns(UncountedOpWarning, match="cumsum"):
        ops = count_torch(Fn(lambda t: torch.cumsum(t, dim=0) + 1), (torch.rand(5, 3),))
    cumsum = only_op(ops, "cumsum")
    assert not cumsum.counted and "UNCOUNTED" in cumsum.note
    assert cumsum.bytes_written == 60  # what is known about it is still reported
    assert only_op(ops, "add").counted


def test_export_restores_training_mode():
    model = nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3)).train()
    ops = count_torch(model, (torch.rand(1, 3, 4, 4),))
    assert only_op(ops, "batch_norm").counted  # costed as inference
    assert model.training and model[1].training


# --- ONNX ---------------------------------------------------------------------------------------

def onnx_graph(nodes, inputs, output, initializers=()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
                              [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
                              initializer=[numpy_helper.from_array(a, name) for name, a in initializers])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])


def weights(*shape):
    return torch.rand(*shape).numpy()


def test_onnx_conv_dense_and_depthwise():
    dense = onnx_graph([helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])],
                       [("x", [1, 4, 10, 12])], "y", [("w", weights(8, 4, 3, 3)), ("b", weights(8))])
    o = only_op(count_onnx(dense), "conv2d")
    assert arith(o) == {"macs": 34560, "adds": 960} and o.params == 296 and o.op_class == "conv"
    depthwise = onnx_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1], strides=[2, 2], group=6)],
                           [("x", [1, 6, 16, 16])], "y", [("w", weights(6, 1, 3, 3))])
    o = only_op(count_onnx(depthwise), "conv2d")
    assert arith(o) == {"macs": 3456} and o.op_class == "depthwise_conv"


def test_onnx_gemm_and_matmul():
    gemm = onnx_graph([helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)],
                      [("x", [2, 10])], "y", [("w", weights(5, 10)), ("b", weights(5))])
    assert arith(only_op(count_onnx(gemm), "linear")) == {"macs": 100, "adds": 10}
    mm = onnx_graph([helper.make_node("MatMul", ["a", "b"], ["y"])], [("a", [2, 3, 4]), ("b", [2, 4, 5])], "y")
    assert arith(only_op(count_onnx(mm), "matmul")) == {"macs": 120}


def test_onnx_grid_sample_resize_pool_softmax_elementwise():
    grid = onnx_graph([helper.make_node("GridSample", ["x", "g"], ["y"], mode="linear", padding_mode="border",
                                        align_corners=1)], [("x", [1, 2, 3, 4, 5]), ("g", [1, 1, 6, 7, 3])], "y")
    assert arith(only_op(count_onnx(grid), "grid_sample")) == {"macs": 588, "adds": 1008, "muls": 882, "compares": 504}
    resize = onnx_graph([helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="linear",
                                          coordinate_transformation_mode="half_pixel")],
                        [("x", [1, 2, 4, 6])], "y", [("sizes", torch.tensor([1, 2, 8, 12]).numpy())])
    assert arith(only_op(count_onnx(resize), "upsample_bilinear2d")) == {"muls": 1172, "adds": 676, "compares": 60}
    pool = onnx_graph([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
                      [("x", [1, 3, 6, 8])], "y")
    assert arith(only_op(count_onnx(pool), "avg_pool2d")) == {"adds": 108, "divs": 36}
    softmax = onnx_graph([helper.make_node("Softmax", ["x"], ["y"], axis=-1)], [("x", [3, 5])], "y")
    assert arith(only_op(count_onnx(softmax), "softmax")) == {"compares": 12, "adds": 27, "transcendentals": 15, "divs": 15}
    chain = onnx_graph([helper.make_node("Add", ["x", "c"], ["s"]), helper.make_node("Relu", ["s"], ["r"]),
                        helper.make_node("Clip", ["r", "lo", "hi"], ["y"])],
                       [("x", [2, 3, 4])], "y", [("c", weights(1, 3, 1)), ("lo", torch.tensor(0.0).numpy()),
                                                  ("hi", torch.tensor(1.0).numpy())])
    ops = count_onnx(chain)
    assert [arith(o) for o in ops] == [{"adds": 24}, {"compares": 24}, {"compares": 48}]
    assert ops[0].bytes_read == 4 * 27


def test_onnx_unknown_op_is_flagged_uncounted():
    model = onnx_graph([helper.make_node("CumSum", ["x", "axis"], ["c"]), helper.make_node("Relu", ["c"], ["y"])],
                       [("x", [5, 3])], "y", [("axis", torch.tensor(0).numpy())])
    with pytest.warns(UncountedOpWarning, match="CumSum"):
        ops = count_onnx(model)
    assert not only_op(ops, "CumSum").counted and "UNCOUNTED" in only_op(ops, "CumSum").note
    assert only_op(ops, "relu").counted


def test_counted_graphs_raise_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", UncountedOpWarning)
        count_torch(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), (torch.rand(1, 3, 8, 8),))
