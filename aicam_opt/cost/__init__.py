"""Per-op arithmetic cost: MACs, adds, multiplies, divides, transcendentals, compares, bytes and
parameters of every op of a model's graph (torch.export ATen or ONNX), split into the part that is
fixed (the student's low-res path) and the part that scales with the pixels.

    from aicam_opt.cost import model_cost
    cost = model_cost("student", "photo100mp")   # or "teacher", a checkpoint, an .onnx file
    cost.total()["macs"], cost.total("full_res"), cost.ops
"""
from .aten_counter import count_torch
from .model_cost import ModelCost, model_cost, student_cost, teacher_cost
from .onnx_counter import count_onnx
from .records import OP_CLASSES, OpCost
from .uncounted import UncountedOpWarning
from .workloads import WORKLOADS, parse_workload

__all__ = ["OP_CLASSES", "WORKLOADS", "ModelCost", "OpCost", "UncountedOpWarning", "count_onnx", "count_torch",
           "model_cost", "parse_workload", "student_cost", "teacher_cost"]
