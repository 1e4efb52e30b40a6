"""A whole model's cost at a workload: its ops (each with its part) and totals.

- Student: `LowResPath` is costed once at its fixed input (lowres_size squared, part "low_res"; a
  hard switch costs the trunk plus its most expensive branch, since one branch runs per image);
  `FullResPath` (part "full_res") is traced at four small sizes and evaluated at the workload with
  the exact bilinear size model of `size_scaling`; the downsample in front of the low-res path
  (box average + bilinear resize, whose box size depends on the photo size) is exported directly at
  the workload size on the meta device (shapes only, nothing allocated) and belongs to "full_res".
- Teacher (a whole-image, fully convolutional U-Net): traced at four small sizes with the
  workload's remainders mod its stride and evaluated at the workload (part "whole"); its global
  MLP comes out as fixed-cost ops, everything else scales with the pixels.
- ONNX: counted as the graph stands; an input of symbolic height/width is bound to the workload.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from ..errors import AicamError
from ..models.student import StudentNet, downsample
from ..models.teacher import Generator
from .aten_counter import count_torch
from .onnx_counter import count_onnx, load_onnx
from .records import OpCost
from .size_scaling import BilinearCostModel, reference_sides
from .workloads import parse_workload, workload_name

DEFAULT_WORKLOAD = "preview"
TOTAL_FIELDS = ("macs", "adds", "muls", "divs", "transcendentals", "compares", "flops",
                "bytes_read", "bytes_written", "bytes", "params")


@dataclass
class ModelCost:
    model: str
    workload: str
    height: int
    width: int
    ops: list[OpCost] = field(default_factory=list)

    def total(self, part: str | None = None) -> dict[str, int]:
        """Sums over all ops, or over the ops of one part ("low_res", "full_res", "whole")."""
        ops = [op for op in self.ops if part is None or op.part == part]
        sums = {name: sum(getattr(op, name) for op in ops) for name in TOTAL_FIELDS}
        sums["ops"] = len(ops)
        sums["uncounted_ops"] = sum(not op.counted for op in ops)
        return sums

    @property
    def parts(self) -> list[str]:
        return list(dict.fromkeys(op.part for op in self.ops))

    @property
    def macs(self) -> int:
        return self.total()["macs"]

    @property
    def flops(self) -> int:
        return self.total()["flops"]

    @property
    def bytes(self) -> int:
        return self.total()["bytes"]

    @property
    def params(self) -> int:
        return self.total()["params"]

    @property
    def uncounted(self) -> list[OpCost]:
        return [op for op in self.ops if not op.counted]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "workload": {"name": self.workload, "height": self.height, "width": self.width},
            "total": self.total(),
            "parts": {part: self.total(part) for part in self.parts},
            "uncounted": [op.name for op in self.uncounted],
            "ops": [op.to_dict() for op in self.ops],
        }


# --- torch models ---------------------------------------------------------------------------------

def student_cost(model: StudentNet, workload: str | tuple[int, int] = DEFAULT_WORKLOAD,
                 model_name: str = "student") -> ModelCost:
    height, width = parse_workload(workload)
    cfg = model.cfg
    low_res_ops = _cached(("low_res", _structure(model.low_res), cfg.switch), lambda: _low_res_ops(model))
    downsample_ops = _cached(("downsample", cfg.lowres_size, height, width), lambda: count_torch(
        _Downsample(cfg.lowres_size), (torch.empty(1, 3, height, width, device="meta"),),
        part="full_res", scales_with_pixels=True, scope="downsample"))
    full_res = _cached(("full_res", _structure(model.full_res), cfg.grid_depth, cfg.grid_size),
                       lambda: _full_res_model(model))
    ops = downsample_ops + low_res_ops + full_res.at(height, width)
    return ModelCost(model_name, workload_name((height, width)), height, width, ops)


# Counts depend on the shapes and the configuration only, never on weight values: a search costs
# many candidates of few architectures at several workloads, so traces are kept by structure.
_TRACES: dict[tuple, Any] = {}
_MAX_TRACES = 64


def _cached(key: tuple, compute: Any) -> Any:
    if key not in _TRACES:
        if len(_TRACES) >= _MAX_TRACES:
            _TRACES.clear()
        _TRACES[key] = compute()
    return _TRACES[key]


def _structure(module: nn.Module) -> tuple:
    """What the trace of `module` depends on: its class, every parameter's and buffer's shape, its config."""
    cfg = getattr(module, "cfg", None)
    return (type(module).__name__, cfg.model_dump_json() if cfg is not None else "",
            tuple((n, tuple(t.shape)) for n, t in module.state_dict().items()))


def _low_res_ops(model: StudentNet) -> list[OpCost]:
    cfg = model.cfg
    low = torch.zeros(1, 3, cfg.lowres_size, cfg.lowres_size)
    if cfg.switch == "hard" and cfg.num_branches > 1:
        return _hard_switch_low_res_ops(model.low_res, low)
    return count_torch(model.low_res, (low,), part="low_res", scope="low_res")


def _full_res_model(model: StudentNet) -> BilinearCostModel:
    cfg = model.cfg
    grid = torch.zeros(1, 12, cfg.grid_depth, cfg.grid_size, cfg.grid_size)

    def trace_full_res(h: int, w: int) -> list[OpCost]:
        return count_torch(model.full_res, (torch.zeros(1, 3, h, w), grid), part="full_res", scope="full_res")

    return BilinearCostModel(trace_full_res, heights=(32, 64), widths=(48, 96))


class _SwitchOnly(nn.Module):
    """The hard-switch low-res path up to its choice: features, switch and argmax."""

    def __init__(self, low_res: nn.Module):
        super().__init__()
        self.low_res = low_res

    def forward(self, low: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fused, global_feats = self.low_res.features(low)
        return fused, self.low_res.switch(global_feats).argmax(dim=1)


def _hard_switch_low_res_ops(low_res: nn.Module, low: torch.Tensor) -> list[OpCost]:
    """A hard switch runs one branch per image, chosen at run time (which export cannot trace):
    cost the path up to the choice, plus the most expensive branch (the worst case)."""
    trunk = count_torch(_SwitchOnly(low_res), (low,), part="low_res")  # its module paths start with low_res
    fused = torch.zeros(1, low_res.channels, low_res.cfg.grid_size, low_res.cfg.grid_size)
    branches = [count_torch(branch, (fused,), part="low_res", scope=f"low_res.branches.{k}")
                for k, branch in enumerate(low_res.branches)]
    worst = max(branches, key=lambda ops: sum(o.flops for o in ops))
    note = "hard switch: the most expensive of the branches, one of which runs per image"
    return trunk + [replace(o, note="; ".join(filter(None, [o.note, note]))) for o in worst]


class _Downsample(nn.Module):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return downsample(x, self.size)


def fully_convolutional_cost(model: nn.Module, workload: str | tuple[int, int] = DEFAULT_WORKLOAD,
                             stride: int = 1, model_name: str = "model") -> ModelCost:
    """Any image-to-image network taking (1, 3, H, W) whose graph does not change with the size,
    given the multiple `stride` it pads its input to."""
    height, width = parse_workload(workload)
    base = stride * max(4, -(-32 // stride))  # small, yet at least 32 pixels and 4 strides

    def trace(h: int, w: int) -> list[OpCost]:
        return count_torch(model, (torch.zeros(1, 3, h, w),))

    sizes = BilinearCostModel(trace, reference_sides(height, stride, base), reference_sides(width, stride, base))
    return ModelCost(model_name, workload_name((height, width)), height, width, sizes.at(height, width))


def teacher_cost(model: Generator, workload: str | tuple[int, int] = DEFAULT_WORKLOAD,
                 model_name: str = "teacher") -> ModelCost:
    return fully_convolutional_cost(model, workload, stride=model.stride, model_name=model_name)


def torch_model_cost(model: nn.Module, workload: str | tuple[int, int] = DEFAULT_WORKLOAD,
                     model_name: str = "model") -> ModelCost:
    if isinstance(model, StudentNet):
        return student_cost(model, workload, model_name)
    if isinstance(model, Generator):
        return teacher_cost(model, workload, model_name)
    raise AicamError(f"{model_name}: a {type(model).__name__} cannot be costed here; give a student or "
                     "teacher checkpoint, or export the model to ONNX and pass the .onnx file")


# --- ONNX -----------------------------------------------------------------------------------------

def onnx_cost(path: str | os.PathLike, workload: str | tuple[int, int] | None = None) -> ModelCost:
    """An ONNX model at its own input size (workload None) or at the workload's, if its image
    input has symbolic height and width. A fixed-size graph cannot be re-sized: error."""
    model = load_onnx(path)
    image = _image_input(model, str(path))
    dims = [d.dim_value if d.HasField("dim_value") else None for d in image.type.tensor_type.shape.dim]
    if workload is None:
        if None in dims[2:]:
            raise AicamError(f"{path}: input {image.name!r} has a symbolic height/width; give a workload "
                             "(preview, photo100mp, video8k or HxW)")
        height, width = dims[2], dims[3]
    else:
        height, width = parse_workload(workload)
        if None not in dims[2:] and (dims[2], dims[3]) != (height, width):
            raise AicamError(f"{path}: the graph has a fixed input size {dims[2]}x{dims[3]} but workload "
                             f"{workload_name(workload)} is {height}x{width}. Re-export it with dynamic height "
                             f"and width, or cost it at its own size (workload {dims[2]}x{dims[3]})")
    shape = [dims[0] or 1, dims[1] or 3, height, width]
    ops = count_onnx(model, input_shapes={image.name: shape}, part="whole")
    return ModelCost(str(path), workload_name((height, width)), height, width, ops)


def _image_input(model: onnx.ModelProto, source: str) -> onnx.ValueInfoProto:
    initializers = {init.name for init in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    images = [i for i in inputs if len(i.type.tensor_type.shape.dim) == 4]
    if len(inputs) != 1 or not images:
        raise AicamError(f"{source}: expected one image input of shape (N, C, H, W), found "
                         f"{[(i.name, len(i.type.tensor_type.shape.dim)) for i in inputs]}; use count_onnx "
                         "with input_shapes for other models")
    return images[0]


# --- any spec -------------------------------------------------------------------------------------

def model_cost(spec: str | os.PathLike | nn.Module, workload: str | tuple[int, int] | None = None) -> ModelCost:
    """The cost of 'teacher', 'student', a checkpoint (.safetensors), an .onnx file, or a module.

    `workload`: a name (preview, photo100mp, video8k), "HxW" or (H, W). None means preview for the
    torch models and the graph's own input size for ONNX files.
    """
    if isinstance(spec, nn.Module):
        return torch_model_cost(spec, workload or DEFAULT_WORKLOAD, type(spec).__name__)
    if str(spec).lower().endswith(".onnx"):
        return onnx_cost(spec, workload)
    from ..models.checkpoints import resolve_model  # safetensors loading is only needed here

    if workload is not None:
        parse_workload(workload)  # a bad workload is reported before a slow model load
    model = resolve_model(spec)
    name = str(spec) if str(spec) in ("teacher", "student") else Path(spec).name
    return torch_model_cost(model, workload or DEFAULT_WORKLOAD, name)
