"""What the latency model predicts for each part of a student as it ships: the low-res graph op by op,
the full-res part at fp32/fp16 as the one fused-kernel op (cost.shipped), each part on the unit and
precision `placement` gives it. Used wherever a prediction is set beside a measurement of the same
build: `aicam-opt measure` (device/predict.py) and the host build timed by `compile` (compile/verify.py).

A part the model cannot price (no calibration for the target, no kernel figures for the unit, a
precision the calibration lacks) has no prediction and its reason, never a stand-in number; the total
needs every part.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..cost.shipped import shipped_student_cost
from ..errors import AicamError
from ..kernels.spec import PixelType
from ..models.student import StudentNet
from .model import LatencyModel, Placement, load_calibration
from .target import load_target

PARTS = ("low_res", "full_res")


@dataclass
class Predicted:
    parts: dict[str, float | None] = field(default_factory=dict)      # part -> ms (None: not priced)
    missing: dict[str, str] = field(default_factory=dict)             # part -> why not
    total_ms: float | None = None                                     # parts + call overheads + transfers
    total_missing: str | None = None


def predict_parts(net: StudentNet, placement: Placement, target_name: str, height: int, width: int,
                  pixel_type: PixelType = "uint8", full_res_built_as: str | None = None) -> Predicted:
    """Each part of `net` at height x width, placed by `placement` (its `parts` name both), on `target_name`.
    `full_res_built_as`: the precision whose shipped form of the full-res part was built (default: the
    placement's), for a build that computes at another precision than it is priced at."""
    out = Predicted()
    target = load_target(target_name)
    try:
        latency = LatencyModel(target, load_calibration(target.name))
    except AicamError as err:
        reason = str(err)
        out.missing = {part: reason for part in PARTS}
        out.parts = {part: None for part in PARTS}
        out.total_missing = reason
        return out
    full = placement.parts["full_res"]
    cost = shipped_student_cost(net, (height, width), full_res_built_as or full.precision, target.unit(full.unit).kind,
                                pixel_type)
    for part in PARTS:
        ops = [op for op in cost.ops if op.part == part]
        try:
            out.parts[part] = latency.predict(ops, placement).parts_ms[part]
        except AicamError as err:
            out.parts[part], out.missing[part] = None, str(err)
    if out.missing:
        out.total_missing = "; ".join(f"{part} not priced" for part in out.missing) + " (see the parts)"
    else:
        out.total_ms = latency.predict(cost.ops, placement).latency_ms
    return out


__all__ = ["Predicted", "predict_parts", "PARTS"]
