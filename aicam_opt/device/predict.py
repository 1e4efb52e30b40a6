"""What the latency model predicts for the parts `measure` times: the program that ships, on its units.

The cost is `cost.shipped.shipped_student_cost` (the low-res graph op by op; the full-res part at
fp32/fp16 as the one fused-kernel op, priced from its spec with the unit's fitted kernel figures,
`Calibration.kernels`); the model is the target's `LatencyModel` with its calibration, each part on
the unit and precision the model places it, with `threads` CPU cores. A part the model cannot price
(no calibration for the target, no kernel figures for the unit, a precision the calibration lacks)
has no prediction and its reason, never a stand-in number; the total needs every part.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..cost.shipped import shipped_student_cost
from ..errors import AicamError
from ..kernels.spec import PixelType
from ..latency.model import Assignment, LatencyModel, Placement, load_calibration
from ..latency.target import load_target
from .models import ModelToMeasure


@dataclass
class Predicted:
    parts: dict[str, float | None] = field(default_factory=dict)      # part -> ms (None: not priced)
    missing: dict[str, str] = field(default_factory=dict)             # part -> why not
    total_ms: float | None = None                                     # parts + call overheads + transfers
    total_missing: str | None = None


def placement_of(model: ModelToMeasure, target_name: str, threads: int) -> Placement:
    target = load_target(target_name)
    candidate = model.loaded.candidate
    parts = {}
    for part in ("low_res", "full_res"):
        unit = getattr(candidate.placement, part)
        cores = threads if target.unit(unit).kind == "cpu" else None
        parts[part] = Assignment(unit, getattr(candidate.quantization, part), cores)
    return Placement(default=parts["low_res"], parts=parts)


def predict(model: ModelToMeasure, target_name: str, height: int, width: int, threads: int,
            pixel_type: PixelType = "uint8") -> Predicted:
    out = Predicted()
    try:
        latency = LatencyModel(load_target(target_name), load_calibration(load_target(target_name).name))
    except AicamError as err:
        reason = str(err)
        out.missing = {"low_res": reason, "full_res": reason}
        out.parts = {"low_res": None, "full_res": None}
        out.total_missing = reason
        return out
    full_unit = load_target(target_name).unit(model.loaded.candidate.placement.full_res)
    cost = shipped_student_cost(model.loaded.net, (height, width), model.loaded.candidate.quantization.full_res,
                                full_unit.kind, pixel_type)
    placement = placement_of(model, target_name, threads)
    for part in ("low_res", "full_res"):
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


__all__ = ["Predicted", "predict", "placement_of"]
