"""What the latency model predicts for the parts `measure` times (latency.part_prediction), each part on
the unit and precision its candidate places it, with `threads` CPU cores."""
from __future__ import annotations

from ..kernels.spec import PixelType
from ..latency.model import Assignment, Placement
from ..latency.part_prediction import Predicted, predict_parts
from ..latency.target import load_target
from .models import ModelToMeasure


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
    return predict_parts(model.loaded.net, placement_of(model, target_name, threads), target_name, height, width,
                         pixel_type)


__all__ = ["Predicted", "predict", "placement_of"]
