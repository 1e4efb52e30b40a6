"""Targets, the latency model and its calibration.

    from aicam_opt.latency import load_model, Placement, Assignment
    model = load_model("sd865")                       # targets/sd865.yaml + targets/calibration/sd865.json
    prediction = model.predict(ops)                   # ops: list[OpCost] from aicam_opt.cost
    prediction.latency_ms, prediction.ops             # total and per-op OpTime rows
    model.predict(ops, Placement(parts={"low_res": Assignment("dsp", "int8"),
                                        "full_res": Assignment("gpu", "fp16")}))
"""
from .model import (Assignment, Calibration, FusedOp, LatencyModel, OpTime, Placement, Prediction, fuse,
                    load_calibration, load_model)
from .target import PRECISIONS, UNIT_NAMES, Target, available_targets, load_target

__all__ = ["Assignment", "Calibration", "FusedOp", "LatencyModel", "OpTime", "PRECISIONS", "Placement", "Prediction",
           "Target", "UNIT_NAMES", "available_targets", "fuse", "load_calibration", "load_model", "load_target"]
