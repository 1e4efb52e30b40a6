"""Count the ops of an ONNX graph (any .onnx: ours or a user's), after ONNX shape inference.

Every node of the main graph is costed with the same formulas as the ATen counter. Reshape-like
nodes (Reshape, Flatten, Squeeze, Unsqueeze, Identity) are zero-byte views, as in onnxruntime;
Transpose, Concat, Slice, Gather, Expand, Pad, Cast ... materialise their output (bytes only).
Graph inputs with symbolic sizes must be bound (`input_shapes`), because counts are per concrete
size. A node without a rule, or whose shapes inference could not determine, is an UNCOUNTED row.
"""
from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import onnx
from onnx import helper, numpy_helper

from ..errors import AicamError
from . import formulas as f
from .formulas import Arith, numel
from .records import OpCost
from .uncounted import uncounted_note, warn_if_uncounted


@dataclass(frozen=True)
class TensorInfo:
    shape: tuple[int, ...]
    dtype: str
    itemsize: int

    @property
    def nbytes(self) -> int:
        return numel(self.shape) * self.itemsize


@dataclass
class OnnxNode:
    node: onnx.NodeProto
    tensors: dict[str, TensorInfo]
    constants: dict[str, Any]  # small constant inputs (initializers, Constant outputs) as numpy arrays

    def attr(self, name: str, default: Any = None) -> Any:
        for a in self.node.attribute:
            if a.name == name:
                value = helper.get_attribute_value(a)
                return value.decode() if isinstance(value, bytes) else value
        return default

    def has_input(self, i: int) -> bool:
        return len(self.node.input) > i and self.node.input[i] != ""

    def shape(self, i: int) -> tuple[int, ...]:
        return self.tensors[self.node.input[i]].shape

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.tensors[self.node.output[0]].shape

    @property
    def n_out(self) -> int:
        return numel(self.out_shape)


Rule = Callable[[OnnxNode], tuple[str, Arith]]


def _conv(n: OnnxNode) -> tuple[str, Arith]:
    groups = int(n.attr("group", 1))
    depthwise = groups > 1 and groups == n.shape(0)[1]
    return ("depthwise_conv" if depthwise else "conv"), f.conv(n.out_shape, n.shape(1), n.has_input(2))


def _conv_transpose(n: OnnxNode) -> tuple[str, Arith]:
    return "conv", f.conv_transpose(n.shape(0), n.shape(1), n.out_shape, n.has_input(2))


def _gemm(n: OnnxNode) -> tuple[str, Arith]:
    a = n.shape(0)
    reduction = a[0] if n.attr("transA", 0) else a[1]
    arith = f.matmul(n.out_shape, reduction, n.has_input(2))
    scalings = (n.attr("alpha", 1.0) != 1.0) + (n.has_input(2) and n.attr("beta", 1.0) != 1.0)
    return "matmul", arith + Arith(muls=scalings * n.n_out)


def _matmul(n: OnnxNode) -> tuple[str, Arith]:
    return "matmul", f.matmul(n.out_shape, n.shape(0)[-1])


def _elementwise(kind: str) -> Rule:
    op_class = "transcendental" if kind in f.TRANSCENDENTAL_KINDS else "elementwise"
    return lambda n: (op_class, f.elementwise(kind, n.n_out))


def _variadic(kind: str) -> Rule:
    """Sum/Max/Min of k inputs: k - 1 operations per output element."""
    return lambda n: ("elementwise", f.elementwise(kind, n.n_out).times(max(1, len(n.node.input) - 1)))


def _pow(n: OnnxNode) -> tuple[str, Arith]:
    exponent = n.constants.get(n.node.input[1])
    if exponent is not None and exponent.size == 1 and float(exponent) == 2.0:
        return "elementwise", f.elementwise("square", n.n_out)
    return "transcendental", f.elementwise("pow", n.n_out)


def _clip(n: OnnxNode) -> tuple[str, Arith]:
    bounds = n.has_input(1) + n.has_input(2)
    return "elementwise", f.elementwise("clamp" if bounds == 2 else "clamp_one_sided", n.n_out)


def _batch_norm(n: OnnxNode) -> tuple[str, Arith]:
    return "norm", f.batch_norm_inference(n.n_out, n.shape(0)[1])


def _softmax(n: OnnxNode) -> tuple[str, Arith]:
    shape = n.shape(0)
    return "transcendental", f.softmax(numel(shape), shape[int(n.attr("axis", -1))])


def _reduce(kind: str) -> Rule:
    return lambda n: ("reduce", f.reduction(kind, numel(n.shape(0)), n.n_out))


def _global_pool(kind: str) -> Rule:
    def rule(n: OnnxNode) -> tuple[str, Arith]:
        shape = n.shape(0)
        return "pool", f.pooling(kind, numel(shape[:2]), [[size] for size in shape[2:]])
    return rule


def _pool(kind: str) -> Rule:
    def rule(n: OnnxNode) -> tuple[str, Arith]:
        shape = n.shape(0)
        kernel = list(n.attr("kernel_shape"))
        dims = len(kernel)
        strides = list(n.attr("strides", [1] * dims))
        begin_pads = list(n.attr("pads", [0] * 2 * dims))[:dims]
        if any(d != 1 for d in n.attr("dilations", [1] * dims)):
            raise KeyError("dilated pooling")
        if n.attr("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
            raise KeyError("auto_pad SAME")
        windows = [f.pool_window_sizes(i, o, k, s, p) for i, o, k, s, p in
                   zip(shape[2:], n.out_shape[2:], kernel, strides, begin_pads)]
        return "pool", f.pooling(kind, numel(shape[:2]), windows)
    return rule


def _resize(n: OnnxNode) -> tuple[str, Arith]:
    in_shape, out_shape = n.shape(0), n.out_shape
    resized = [i for i, (a, b) in enumerate(zip(in_shape, out_shape)) if a != b]
    mode = n.attr("mode", "nearest")
    if not resized:
        return "resize", Arith()  # same size: a copy
    if mode == "nearest":
        return "resize", f.nearest_resize(out_shape, len(out_shape) - min(resized))
    if mode == "linear" and len(out_shape) == 4 and all(i >= 2 for i in resized):
        align = n.attr("coordinate_transformation_mode", "half_pixel") == "align_corners"
        return "resize", f.linear_resize_2d(out_shape, align)
    raise KeyError(f"Resize mode {mode} over axes {resized}")


GRID_MODES = {"linear": "bilinear", "bilinear": "bilinear", "nearest": "nearest"}  # opset 20 and 16 spellings


def _grid_sample(n: OnnxNode) -> tuple[str, Arith]:
    mode = n.attr("mode", "linear")
    if mode not in GRID_MODES:
        raise KeyError(f"GridSample mode {mode}")
    return "grid_sample", f.grid_sample(n.out_shape, len(n.shape(0)) - 2, GRID_MODES[mode],
                                        n.attr("padding_mode", "zeros"))


def _range(n: OnnxNode) -> tuple[str, Arith]:
    return "elementwise", Arith(muls=n.n_out, adds=n.n_out)


def _bytes_only(n: OnnxNode) -> tuple[str, Arith]:
    return "data_movement", Arith()


VIEWS = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"}
COPIES = {"Transpose", "Concat", "Slice", "Gather", "GatherElements", "GatherND", "Expand", "Pad", "Tile",
          "Split", "Cast", "DepthToSpace", "SpaceToDepth", "ScatterND", "ScatterElements", "ConstantOfShape"}
METADATA = {"Shape", "Size", "Constant"}  # no tensor data processed at run time
# Copies that read only what they write (a slice of their input), not the whole input.
READS_OUTPUT_ONLY = {"Slice", "Gather", "GatherElements", "GatherND"}

RULES: dict[str, Rule] = {
    "Conv": _conv, "ConvTranspose": _conv_transpose, "Gemm": _gemm, "MatMul": _matmul,
    "BatchNormalization": _batch_norm, "Softmax": _softmax, "Pow": _pow, "Clip": _clip,
    "ReduceSum": _reduce("sum"), "ReduceMean": _reduce("mean"), "ReduceMax": _reduce("amax"),
    "ReduceMin": _reduce("amin"), "ReduceProd": _reduce("prod"), "ArgMax": _reduce("argmax"),
    "ArgMin": _reduce("argmin"),
    "GlobalAveragePool": _global_pool("avg"), "GlobalMaxPool": _global_pool("max"),
    "AveragePool": _pool("avg"), "MaxPool": _pool("max"), "Resize": _resize, "GridSample": _grid_sample,
    "Range": _range,
    "Add": _elementwise("add"), "Sub": _elementwise("sub"), "Mul": _elementwise("mul"),
    "Div": _elementwise("div"), "Neg": _elementwise("neg"), "Reciprocal": _elementwise("reciprocal"),
    "Relu": _elementwise("relu"), "LeakyRelu": _elementwise("leaky_relu"), "PRelu": _elementwise("prelu"),
    "Where": _elementwise("where"),
    "Abs": _elementwise("abs"), "Floor": _elementwise("floor"), "Ceil": _elementwise("ceil"),
    "Round": _elementwise("round"), "Sign": _elementwise("sign"), "Equal": _elementwise("eq"),
    "Less": _elementwise("lt"), "LessOrEqual": _elementwise("le"), "Greater": _elementwise("gt"),
    "GreaterOrEqual": _elementwise("ge"), "And": _elementwise("logical_and"),
    "Or": _elementwise("logical_or"), "Not": _elementwise("logical_not"),
    "Exp": _elementwise("exp"), "Log": _elementwise("log"), "Sqrt": _elementwise("sqrt"),
    "Sigmoid": _elementwise("sigmoid"), "Tanh": _elementwise("tanh"), "Erf": _elementwise("erf"),
    "Gelu": _elementwise("gelu"), "HardSigmoid": _elementwise("hardsigmoid"),
    "HardSwish": _elementwise("hardswish"),
    "Sum": _variadic("add"), "Max": _variadic("maximum"), "Min": _variadic("minimum"),
    **{name: _bytes_only for name in VIEWS | COPIES | METADATA},
}


# ONNX op types -> the op names the ATen front end uses, so both graphs name an op alike (the
# latency model's fusion rules match on them). Unlisted op types keep their ONNX name.
CANONICAL_NAMES = {
    "ConvTranspose": "conv_transpose2d", "Gemm": "linear", "MatMul": "matmul",
    "BatchNormalization": "batch_norm", "Softmax": "softmax", "Pow": "pow", "Clip": "clamp",
    "ReduceSum": "sum", "ReduceMean": "mean", "ReduceMax": "amax", "ReduceMin": "amin", "ReduceProd": "prod",
    "ArgMax": "argmax", "ArgMin": "argmin", "GlobalAveragePool": "adaptive_avg_pool2d",
    "GlobalMaxPool": "adaptive_max_pool2d", "AveragePool": "avg_pool2d", "MaxPool": "max_pool2d",
    "GridSample": "grid_sample", "Range": "arange", "Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div",
    "Neg": "neg", "Reciprocal": "reciprocal", "Relu": "relu", "LeakyRelu": "leaky_relu", "PRelu": "prelu", "Where": "where",
    "Abs": "abs", "Floor": "floor", "Ceil": "ceil", "Round": "round", "Sign": "sign", "Equal": "eq",
    "Less": "lt", "LessOrEqual": "le", "Greater": "gt", "GreaterOrEqual": "ge", "And": "logical_and",
    "Or": "logical_or", "Not": "logical_not", "Exp": "exp", "Log": "log", "Sqrt": "sqrt", "Sigmoid": "sigmoid",
    "Tanh": "tanh", "Erf": "erf", "Gelu": "gelu", "HardSigmoid": "hardsigmoid", "HardSwish": "hardswish",
    "Sum": "add", "Max": "maximum", "Min": "minimum",
    "Reshape": "view", "Flatten": "flatten", "Squeeze": "squeeze", "Unsqueeze": "unsqueeze", "Identity": "alias",
    "Dropout": "dropout", "Transpose": "permute", "Concat": "cat", "Slice": "slice", "Gather": "index_select",
    "GatherElements": "gather", "Expand": "expand", "Pad": "pad", "Tile": "tile", "Split": "split", "Cast": "to",
}


def _canonical_name(node: onnx.NodeProto, tensors: dict[str, TensorInfo]) -> str:
    if node.op_type == "Conv" and node.input[1] in tensors:
        return f"conv{len(tensors[node.input[1]].shape) - 2}d"
    if node.op_type == "Resize":
        mode = next((helper.get_attribute_value(a) for a in node.attribute if a.name == "mode"), b"nearest")
        return {b"linear": "upsample_bilinear2d", b"nearest": "upsample_nearest2d"}.get(mode, "upsample_bicubic2d")
    return CANONICAL_NAMES.get(node.op_type, node.op_type)


# --- loading and shape inference ----------------------------------------------------------------

def load_onnx(source: str | os.PathLike | onnx.ModelProto) -> onnx.ModelProto:
    if isinstance(source, onnx.ModelProto):
        return source
    path = str(source)
    if not os.path.isfile(path):
        raise AicamError(f"{path}: ONNX file not found; give the path to an existing .onnx model")
    try:
        return onnx.load(path)
    except Exception as err:  # protobuf raises DecodeError and friends, with no common base
        raise AicamError(f"{path}: not a readable ONNX model ({type(err).__name__}: {err}); "
                         "re-export it (torch.onnx.export(..., dynamo=True))") from None


def _bind_inputs(model: onnx.ModelProto, input_shapes: Mapping[str, Sequence[int]], source: str) -> onnx.ModelProto:
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph_inputs = {i.name: i for i in model.graph.input}
    for name, shape in input_shapes.items():
        if name not in graph_inputs:
            raise AicamError(f"{source}: no graph input named {name!r}; the inputs are {sorted(graph_inputs)}")
        dims = graph_inputs[name].type.tensor_type.shape.dim
        if len(dims) != len(shape):
            raise AicamError(f"{source}: input {name!r} has rank {len(dims)}, but shape {tuple(shape)} was given")
        for dim, size in zip(dims, shape):
            dim.Clear()
            dim.dim_value = int(size)
    # Shapes recorded for another input size would contradict the new ones: infer them afresh.
    del model.graph.value_info[:]
    for output in model.graph.output:
        output.type.tensor_type.ClearField("shape")
    return model


def _tensor_infos(model: onnx.ModelProto) -> dict[str, TensorInfo]:
    infos = {}
    values = list(model.graph.input) + list(model.graph.value_info) + list(model.graph.output)
    for value in values:
        tensor_type = value.type.tensor_type
        dims = tensor_type.shape.dim
        if not tensor_type.HasField("shape") or any(not d.HasField("dim_value") for d in dims):
            continue  # unknown or symbolic: nodes touching it are uncounted
        infos[value.name] = _info(tuple(d.dim_value for d in dims), tensor_type.elem_type)
    for init in model.graph.initializer:
        infos[init.name] = _info(tuple(init.dims), init.data_type)
    return infos


def _info(shape: tuple[int, ...], elem_type: int) -> TensorInfo:
    np_dtype = helper.tensor_dtype_to_np_dtype(elem_type)
    return TensorInfo(shape, str(np_dtype), np_dtype.itemsize)


def _constants(model: onnx.ModelProto) -> dict[str, Any]:
    consts = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer if numel(init.dims) <= 16}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return consts


def _weight_names(model: onnx.ModelProto) -> set[str]:
    """Floating-point initializers: weights, biases and folded constants (records.PARAMS). Integer
    initializers are shapes, axes and indices, and a BatchNormalization's running mean and variance are
    statistics: not parameters."""
    floating = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16, onnx.TensorProto.DOUBLE}
    statistics = {name for node in model.graph.node if node.op_type == "BatchNormalization" for name in node.input[3:5]}
    return {init.name for init in model.graph.initializer if init.data_type in floating} - statistics


def count_onnx(source: str | os.PathLike | onnx.ModelProto, input_shapes: Mapping[str, Sequence[int]] | None = None,
               part: str = "whole", scales_with_pixels: bool = False) -> list[OpCost]:
    """Every node of an ONNX model's main graph, in graph order.

    `input_shapes` ({input name: shape}) binds inputs of symbolic size; shapes of all other tensors
    come from ONNX shape inference. Parameters are the initializers a node reads.
    """
    label = "ONNX model" if isinstance(source, onnx.ModelProto) else str(source)
    model = load_onnx(source)
    if input_shapes:
        model = _bind_inputs(model, input_shapes, label)
    initializer_names = {init.name for init in model.graph.initializer}
    unbound = [i.name for i in model.graph.input if i.name not in initializer_names
               and any(not d.HasField("dim_value") for d in i.type.tensor_type.shape.dim)]
    if unbound:
        raise AicamError(f"{label}: input(s) {unbound} have symbolic sizes; counts need concrete sizes. "
                         "Pass input_shapes={name: shape} (or a workload), or export with static shapes")
    try:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as err:  # onnx raises InferenceError and checker errors with no common base
        raise AicamError(f"{label}: ONNX shape inference failed ({err}); check the model with onnx.checker") from None
    tensors = _tensor_infos(model)
    constants = _constants(model)
    weight_names = _weight_names(model)
    ops = [_count_node(node, tensors, constants, weight_names, part, scales_with_pixels)
           for node in model.graph.node]
    warn_if_uncounted(ops, label)
    return ops


def _scope(node: onnx.NodeProto) -> str:
    """The module path of a node: from the dynamo exporter's name scopes, else from a
    "/module/sub/Op" node name (the TorchScript exporter's convention)."""
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            scopes = ast.literal_eval(prop.value)
            return scopes[-2] if len(scopes) >= 2 else ""
    return node.name.rsplit("/", 1)[0].strip("/").replace("/", ".") if "/" in node.name else ""


def _count_node(node: onnx.NodeProto, tensors: dict[str, TensorInfo], constants: dict[str, Any],
                weight_names: set[str], part: str, scales_with_pixels: bool) -> OpCost:
    op = node.op_type
    inputs = [name for name in dict.fromkeys(node.input) if name and name in tensors]
    outputs = [name for name in node.output if name in tensors]
    is_view, is_metadata = op in VIEWS, op in METADATA
    read = sum(tensors[name].nbytes for name in inputs)
    if op in READS_OUTPUT_ONLY:
        read = sum(tensors[name].nbytes for name in outputs) + sum(tensors[name].nbytes for name in inputs[1:])
    common = dict(
        name=node.name or (node.output[0] if node.output else op), op=_canonical_name(node, tensors), part=part,
        scales_with_pixels=scales_with_pixels,
        bytes_read=0 if is_view or is_metadata else read,
        bytes_written=0 if is_view or is_metadata else sum(tensors[name].nbytes for name in outputs),
        params=sum(numel(tensors[name].shape) for name in inputs if name in weight_names),
        dtype=tensors[outputs[0]].dtype if outputs else "",
        scope=_scope(node),
    )
    rule = RULES.get(op) if node.domain in ("", "ai.onnx") else None
    missing_shapes = [name for name in list(node.input) + list(node.output) if name and name not in tensors]
    if rule is None:
        return OpCost(op_class="elementwise", counted=False,
                      note=uncounted_note(f"no rule for ONNX {node.domain + '.' if node.domain else ''}{op}"), **common)
    if missing_shapes and not (is_metadata or is_view):
        return OpCost(op_class="elementwise", counted=False,
                      note=uncounted_note(f"shape inference left {missing_shapes} unknown"), **common)
    try:
        op_class, arith = rule(OnnxNode(node, tensors, constants))
    except KeyError as err:
        return OpCost(op_class="elementwise", counted=False,
                      note=uncounted_note(f"ONNX {op} variant not modelled ({err.args[0]})"), **common)
    note = "view: no data moved" if is_view else ("metadata only" if is_metadata else "")
    return OpCost(op_class=op_class, note=note, **arith.as_dict(), **common)
