"""Count the ops of a torch.export ATen graph (the graph as exported, no decompositions).

Each call_function node with an ATen target is looked up in `RULES` by its op name (in-place
variants such as `relu_` share the rule of `relu`). Metadata-only views (view, unsqueeze,
transpose, slice, expand, ...) are recorded with zero bytes: ATen does not move data for them;
ops that materialise a tensor (cat, stack, pad, clone, ...) are bytes-only. An op without a rule is
an UNCOUNTED row plus an `UncountedOpWarning`.

The model is exported in eval mode (inference cost: batch norm uses its running statistics).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import nn

from . import formulas as f
from .formulas import Arith, numel
from .records import OpCost
from .uncounted import uncounted_note, warn_if_uncounted


@dataclass
class AtenNode:
    """One node, with its arguments by schema name and the shapes a rule needs."""

    node: torch.fx.Node
    args: dict[str, Any]

    @property
    def out_shape(self) -> tuple[int, ...]:
        return tuple(_first_tensor(self.node.meta["val"]).shape)

    @property
    def n_out(self) -> int:
        return numel(self.out_shape)

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self.args[name].meta["val"].shape)


def _first_tensor(value: Any) -> torch.Tensor:
    if isinstance(value, (tuple, list)):
        return next(v for v in value if isinstance(v, torch.Tensor))
    return value


# --- rules: AtenNode -> (op_class, Arith) ---------------------------------------------------------

Rule = Callable[[AtenNode], tuple[str, Arith]]


def _conv(n: AtenNode) -> tuple[str, Arith]:
    weight = n.shape("weight")
    has_bias = n.args.get("bias") is not None
    if n.args.get("transposed"):
        return "conv", f.conv_transpose(n.shape("input"), weight, n.out_shape, has_bias)
    groups = int(n.args.get("groups") or 1)
    depthwise = groups > 1 and groups == n.shape("input")[1]
    return ("depthwise_conv" if depthwise else "conv"), f.conv(n.out_shape, weight, has_bias)


def _linear(n: AtenNode) -> tuple[str, Arith]:
    return "matmul", f.matmul(n.out_shape, n.shape("weight")[-1], n.args.get("bias") is not None)


def _matmul(first: str, with_bias: bool = False) -> Rule:
    return lambda n: ("matmul", f.matmul(n.out_shape, n.shape(first)[-1], with_bias))


def _elementwise(kind: str) -> Rule:
    op_class = "transcendental" if kind in f.TRANSCENDENTAL_KINDS else "elementwise"
    return lambda n: (op_class, f.elementwise(kind, n.n_out))


def _add_or_sub(kind: str) -> Rule:
    def rule(n: AtenNode) -> tuple[str, Arith]:
        alpha = n.args.get("alpha", 1)
        return "elementwise", (f.elementwise(kind, n.n_out) if alpha in (1, None) else f.add_scaled(n.n_out))
    return rule


def _pow(n: AtenNode) -> tuple[str, Arith]:
    exponent = n.args.get("exponent")
    if exponent == 2:
        return "elementwise", f.elementwise("square", n.n_out)
    return "transcendental", f.elementwise("pow", n.n_out)


def _clamp(n: AtenNode) -> tuple[str, Arith]:
    bounds = sum(n.args.get(k) is not None for k in ("min", "max"))
    return "elementwise", f.elementwise("clamp" if bounds == 2 else "clamp_one_sided", n.n_out)


def _batch_norm(n: AtenNode) -> tuple[str, Arith]:
    if n.args.get("training"):
        raise KeyError("batch_norm in training mode (export the model in eval mode)")
    return "norm", f.batch_norm_inference(n.n_out, n.shape("input")[1])


def _softmax(n: AtenNode) -> tuple[str, Arith]:
    shape = n.shape("self")
    return "transcendental", f.softmax(numel(shape), shape[int(n.args["dim"])])


def _reduce(kind: str) -> Rule:
    return lambda n: ("reduce", f.reduction(kind, numel(n.shape("self")), n.n_out))


def _adaptive_pool(kind: str) -> Rule:
    def rule(n: AtenNode) -> tuple[str, Arith]:
        shape = n.shape("self")
        dims = len(n.args["output_size"])
        windows = [f.adaptive_window_sizes(i, o) for i, o in zip(shape[-dims:], n.out_shape[-dims:])]
        return "pool", f.pooling(kind, numel(shape[:-dims]), windows)
    return rule


def _pool(kind: str) -> Rule:
    def rule(n: AtenNode) -> tuple[str, Arith]:
        shape = n.shape("self")
        kernel = list(n.args["kernel_size"])
        dims = len(kernel)
        stride = list(n.args.get("stride") or kernel)
        padding = _per_axis(n.args.get("padding", 0), dims)
        if any(d != 1 for d in _per_axis(n.args.get("dilation", 1), dims)):
            raise KeyError("dilated pooling")
        windows = [f.pool_window_sizes(i, o, k, s, p) for i, o, k, s, p in
                   zip(shape[-dims:], n.out_shape[-dims:], _per_axis(kernel, dims), _per_axis(stride, dims), padding)]
        return "pool", f.pooling(kind, numel(shape[:-dims]), windows)
    return rule


def _per_axis(value: Any, dims: int) -> list[int]:
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    return values * dims if len(values) == 1 else values


def _bilinear(n: AtenNode) -> tuple[str, Arith]:
    return "resize", f.linear_resize_2d(n.out_shape, bool(n.args["align_corners"]))


def _nearest(n: AtenNode) -> tuple[str, Arith]:
    return "resize", f.nearest_resize(n.out_shape, len(n.out_shape) - 2)


GRID_MODES = {0: "bilinear", 1: "nearest", 2: "bicubic"}
GRID_PADDINGS = {0: "zeros", 1: "border", 2: "reflection"}


def _grid_sample(n: AtenNode) -> tuple[str, Arith]:
    dims = n.shape("grid")[-1]
    mode = GRID_MODES[int(n.args["interpolation_mode"])]
    return "grid_sample", f.grid_sample(n.out_shape, dims, mode, GRID_PADDINGS[int(n.args["padding_mode"])])


def _linspace(n: AtenNode) -> tuple[str, Arith]:
    return "elementwise", f.linspace(n.n_out)


def _arange(n: AtenNode) -> tuple[str, Arith]:
    return "elementwise", Arith(muls=n.n_out, adds=n.n_out)


def _bytes_only(n: AtenNode) -> tuple[str, Arith]:
    return "data_movement", Arith()


VIEWS = {"view", "_unsafe_view", "reshape", "flatten", "unflatten", "unsqueeze", "squeeze", "permute",
         "transpose", "t", "expand", "select", "slice", "narrow", "alias", "detach", "split",
         "split_with_sizes", "chunk", "unbind", "as_strided", "view_as", "lift_fresh_copy", "dropout"}
COPIES = {"cat", "stack", "pad", "constant_pad_nd", "replication_pad1d", "replication_pad2d",
          "replication_pad3d", "reflection_pad1d", "reflection_pad2d", "reflection_pad3d", "clone",
          "contiguous", "_to_copy", "to", "repeat", "tile", "index_select", "gather", "index", "flip",
          "roll", "copy", "expand_copy", "permute_copy", "zeros", "ones", "full", "empty", "zeros_like",
          "ones_like", "full_like", "empty_like", "scalar_tensor", "pixel_shuffle", "pixel_unshuffle"}

NOT_OPS = {"sym_size", "sym_numel", "sym_stride", "sym_storage_offset", "_assert_scalar",
           "_assert_tensor_metadata", "_assert_async", "sym_constrain_range_for_size"}

RULES: dict[str, Rule] = {
    "conv1d": _conv, "conv2d": _conv, "conv3d": _conv, "convolution": _conv, "_convolution": _conv,
    "linear": _linear, "mm": _matmul("self"), "bmm": _matmul("self"), "matmul": _matmul("self"),
    "addmm": _matmul("mat1", with_bias=True), "baddbmm": _matmul("batch1", with_bias=True),
    "batch_norm": _batch_norm, "_native_batch_norm_legit_no_training": _batch_norm,
    "add": _add_or_sub("add"), "sub": _add_or_sub("sub"), "rsub": _add_or_sub("rsub"),
    "pow": _pow, "clamp": _clamp, "clip": _clamp,
    "clamp_min": _elementwise("clamp_one_sided"), "clamp_max": _elementwise("clamp_one_sided"),
    "softmax": _softmax, "_softmax": _softmax,
    "sum": _reduce("sum"), "mean": _reduce("mean"), "amax": _reduce("amax"), "amin": _reduce("amin"),
    "argmax": _reduce("argmax"), "argmin": _reduce("argmin"), "prod": _reduce("prod"),
    "adaptive_avg_pool2d": _adaptive_pool("avg"), "_adaptive_avg_pool2d": _adaptive_pool("avg"),
    "adaptive_avg_pool1d": _adaptive_pool("avg"), "adaptive_max_pool2d": _adaptive_pool("max"),
    "avg_pool2d": _pool("avg"), "avg_pool1d": _pool("avg"), "max_pool2d": _pool("max"),
    "max_pool2d_with_indices": _pool("max"),
    "upsample_bilinear2d": _bilinear, "upsample_nearest2d": _nearest, "upsample_nearest1d": _nearest,
    "grid_sampler": _grid_sample, "grid_sampler_2d": _grid_sample, "grid_sampler_3d": _grid_sample,
    "linspace": _linspace, "arange": _arange,
    "mul": _elementwise("mul"), "div": _elementwise("div"), "neg": _elementwise("neg"),
    "reciprocal": _elementwise("reciprocal"), "relu": _elementwise("relu"),
    "leaky_relu": _elementwise("leaky_relu"), "prelu": _elementwise("prelu"),
    "_prelu_kernel": _elementwise("prelu"), "hardtanh": _elementwise("hardtanh"),
    "maximum": _elementwise("maximum"), "minimum": _elementwise("minimum"), "where": _elementwise("where"),
    "abs": _elementwise("abs"), "floor": _elementwise("floor"), "ceil": _elementwise("ceil"),
    "round": _elementwise("round"), "sign": _elementwise("sign"), "eq": _elementwise("eq"),
    "ne": _elementwise("ne"), "lt": _elementwise("lt"), "le": _elementwise("le"), "gt": _elementwise("gt"),
    "ge": _elementwise("ge"), "logical_and": _elementwise("logical_and"),
    "logical_or": _elementwise("logical_or"), "logical_not": _elementwise("logical_not"),
    "masked_fill": _elementwise("where"),
    "exp": _elementwise("exp"), "log": _elementwise("log"), "sqrt": _elementwise("sqrt"),
    "rsqrt": _elementwise("rsqrt"), "sigmoid": _elementwise("sigmoid"), "tanh": _elementwise("tanh"),
    "erf": _elementwise("erf"), "gelu": _elementwise("gelu"), "silu": _elementwise("silu"),
    "hardsigmoid": _elementwise("hardsigmoid"), "hardswish": _elementwise("hardswish"),
    "square": _elementwise("square"),
    **{name: _bytes_only for name in VIEWS | COPIES},
}


# --- graph walk -------------------------------------------------------------------------------

@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Export the inference graph, then put every submodule back in the mode it was in."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield
    finally:
        for m, training in modes.items():
            m.training = training


def export(model: nn.Module, example_inputs: Sequence[torch.Tensor]) -> torch.export.ExportedProgram:
    with eval_mode(model), torch.no_grad():
        return torch.export.export(model, tuple(example_inputs))


def count_torch(model: nn.Module, example_inputs: Sequence[torch.Tensor], part: str = "whole",
                scales_with_pixels: bool = False, scope: str = "") -> list[OpCost]:
    """Every op of `model(*example_inputs)` as exported by torch.export (ATen graph), in graph order.

    `example_inputs` may live on the meta device: export only propagates shapes, so costing a
    parameter-free module at 100 MP allocates nothing. `scope` prefixes every op's module path.
    """
    return count_exported(export(model, example_inputs), part, scales_with_pixels, scope)


def count_exported(program: torch.export.ExportedProgram, part: str = "whole",
                   scales_with_pixels: bool = False, scope: str = "") -> list[OpCost]:
    signature = program.graph_signature
    # Parameters only (records.PARAMS): buffers (BatchNorm running statistics, fixed thresholds) and
    # lifted constants are not.
    stored = dict(signature.inputs_to_parameters)
    ops = []
    for node in program.graph.nodes:
        if (node.op != "call_function" or not isinstance(node.target, torch._ops.OpOverload)
                or node.target.overloadpacket.__name__ in NOT_OPS):
            continue  # getitem of a tuple output, size queries, assertions: no tensor is computed
        ops.append(_count_node(node, stored, part, scales_with_pixels, scope))
    warn_if_uncounted(ops, "torch.export graph")
    return ops


def _count_node(node: torch.fx.Node, stored: dict[str, str], part: str, scales_with_pixels: bool,
                scope: str) -> OpCost:
    target: torch._ops.OpOverload = node.target
    name = target.overloadpacket.__name__
    op = name[:-1] if name.endswith("_") and not name.startswith("_") else name  # relu_ -> relu
    rule = RULES.get(op)
    op = _canonical_name(op, node)
    inputs = _tensor_inputs(node)
    outputs = [v for v in _flatten(node.meta.get("val")) if isinstance(v, torch.Tensor)]
    is_view = op in VIEWS
    common = dict(
        name=node.name, op=op, part=part, scales_with_pixels=scales_with_pixels,
        bytes_read=0 if is_view else sum(_nbytes(i.meta["val"]) for i in inputs),
        bytes_written=0 if is_view else sum(_nbytes(t) for t in outputs),
        params=sum(numel(i.meta["val"].shape) for i in inputs if i.op == "placeholder" and i.name in stored),
        dtype=str(outputs[0].dtype).removeprefix("torch.") if outputs else "",
        scope=".".join(filter(None, [scope, _module_path(node)])),
    )
    if rule is None:
        return OpCost(op_class="elementwise", counted=False, note=uncounted_note(f"no rule for aten.{op}"), **common)
    try:
        op_class, arith = rule(AtenNode(node, _named_args(node)))
    except KeyError as err:
        return OpCost(op_class="elementwise", counted=False,
                      note=uncounted_note(f"aten.{op} variant not modelled ({err.args[0]})"), **common)
    note = "view: no data moved" if is_view else ""
    return OpCost(op_class=op_class, note=note, **arith.as_dict(), **common)


# ATen spellings of one op, mapped to the name the ONNX front end gives it too.
ALIASES = {"grid_sampler": "grid_sample", "grid_sampler_2d": "grid_sample", "grid_sampler_3d": "grid_sample",
           "_softmax": "softmax", "_native_batch_norm_legit_no_training": "batch_norm",
           "_adaptive_avg_pool2d": "adaptive_avg_pool2d", "clip": "clamp", "max_pool2d_with_indices": "max_pool2d",
           "_unsafe_view": "view", "_to_copy": "to", "addmm": "linear", "mm": "matmul", "bmm": "matmul",
           "baddbmm": "matmul"}


def _canonical_name(op: str, node: torch.fx.Node) -> str:
    if op in ("convolution", "_convolution"):
        spatial = len(node.args[1].meta["val"].shape) - 2
        return f"conv_transpose{spatial}d" if node.args[6] else f"conv{spatial}d"
    return ALIASES.get(op, op)


def _named_args(node: torch.fx.Node) -> dict[str, Any]:
    named = {}
    for i, argument in enumerate(node.target._schema.arguments):
        if i < len(node.args):
            named[argument.name] = node.args[i]
        elif argument.name in node.kwargs:
            named[argument.name] = node.kwargs[argument.name]
        elif argument.has_default_value():
            named[argument.name] = argument.default_value
    return named


def _tensor_inputs(node: torch.fx.Node) -> list[torch.fx.Node]:
    seen: dict[torch.fx.Node, None] = {}
    for arg in _flatten(list(node.args) + list(node.kwargs.values())):
        if isinstance(arg, torch.fx.Node) and isinstance(arg.meta.get("val"), torch.Tensor):
            seen[arg] = None  # a tensor used twice (x * x) is read once
    return list(seen)


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [item for v in value for item in _flatten(v)]
    return [value]


def _nbytes(t: torch.Tensor) -> int:
    return numel(t.shape) * t.element_size()


def _module_path(node: torch.fx.Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    return list(stack.values())[-1][0] if stack else ""
