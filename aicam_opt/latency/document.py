"""A model's counted cost and predicted latency on a target: `cost_report`, its placement, its document.

`CostReport.document()` is the JSON of `aicam-opt cost --json`, schema "aicam_opt.cost/1" (later
stages and CI read it; add keys, never rename or remove them):

    {
      "schema": "aicam_opt.cost/1",
      "model": str, "target": str,
      "workload": {"name": str, "height": int, "width": int},
      "placement": {part: {"unit": str, "precision": str, "cores": int | null, "runtime": str}},
      "total": {
        "macs", "flops", "params": int,          # arithmetic of the graph as counted; params: cost.records.PARAMS
        "bytes": int,                            # bytes read + written, as counted (unfused, model dtype)
        "bytes_moved": int,                      # after fusion, at each unit's precision
        "latency_ms": float,                     # predicted: parts + call overheads + transfers
        "ops_ms", "call_overhead_ms", "transfer_ms": float, "transfer_bytes": int,
        "uncounted_ops": int                     # > 0: the latency misses ops the counter does not know
      },
      "parts": {part: {"macs", "flops", "bytes": int, "latency_ms": float, "artifact": str,
                       "runtime": str,                    # the runtime the part is priced for
                       "figures_from": str | null}},      # ... through another runtime's fitted figures
      "by_class": {op_class: {"ops": int, "macs", "flops", "bytes": int, "latency_ms": float}},
      "budget": {"latency_ms": float | null, "within": bool | null},
      "grid_reuse": {"grid_every": int,           # only with --grid-every N > 1 (video): the low-res part
                     "low_res_ms_per_frame", "latency_ms_per_frame": float,  # ... runs on one frame in N
                     "within_budget": bool | null},
      "ops": [ {                                  # execution order
        "name", "op", "op_class", "part", "unit", "precision", "dtype": str,
        "macs", "adds", "muls", "divs", "transcendentals", "compares", "flops",
        "bytes_read", "bytes_written", "bytes", "params": int,   # as counted
        "bytes_moved": float,                    # after fusion and precision (0 when fused away)
        "compute_ms", "memory_ms", "overhead_ms", "latency_ms": float,
        "bound": "compute" | "memory" | "fused" | "unknown",
        "fused_into": str, "counted": bool, "scales_with_pixels": bool, "scope": str, "note": str } ]
    }
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..cost.workloads import is_video_workload, workload_name
from ..errors import AicamError
from .documents import CostDocument
from .model import PARTS, Assignment, LatencyModel, Placement, Prediction, load_calibration
from .target import UNIT_NAMES, Target, load_target

if TYPE_CHECKING:
    from torch import nn

    from ..cost.model_cost import ModelCost

SCHEMA = CostDocument.SCHEMA


def assignment(target: Target, unit: str, precision: str | None = None, cores: int | None = 1,
               runtime: str | None = None) -> Assignment:
    """`unit` of `target` at `precision` (default: the unit's first) on `cores` CPU cores (CPU only) through
    `runtime` (default: the unit's default_runtime); an unknown unit, a precision the unit lacks, too many
    cores or a runtime the unit does not list raise AicamError."""
    u = target.unit(unit)
    precision = precision or next(iter(u.precisions))
    u.precision_spec(precision)
    if runtime is not None:
        u.runtime(runtime)  # a runtime the unit does not list is named with the ones it does
    if u.kind == "cpu":
        u.core_clocks_ghz(cores)  # validates the core count
        return Assignment(unit, precision, cores, runtime)
    return Assignment(unit, precision, None, runtime)


def parse_placement(target: Target, unit: str = "cpu", precision: str | None = None, cores: int | None = 1,
                    place: Sequence[str] = (), runtime: str | None = None) -> Placement:
    """The whole model on `unit` through `runtime` (see `assignment`), except the parts `place` moves: items
    PART=UNIT[:PRECISION][@RUNTIME]."""
    placement = Placement(default=assignment(target, unit, precision, cores, runtime))
    for item in place:
        part, sep, rest = item.partition("=")
        if not sep or part not in PARTS:
            raise AicamError(f"--place {item!r}: expected PART=UNIT[:PRECISION][@RUNTIME] with PART one of "
                             f"{', '.join(PARTS)}")
        rest, at, part_runtime = rest.partition("@")
        if at and not part_runtime:
            raise AicamError(f"--place {item!r}: '@' must be followed by a runtime, e.g. {part}={rest}@tvm")
        part_unit, _, part_precision = rest.partition(":")
        if part_unit not in UNIT_NAMES:
            raise AicamError(f"--place {item!r}: unknown unit '{part_unit}'; choose one of {', '.join(UNIT_NAMES)}")
        placement.parts[part] = assignment(target, part_unit, part_precision or None, cores, part_runtime or None)
    return placement


@dataclass(frozen=True)
class CostReport:
    """One model costed at one workload and placed on one target: what `aicam-opt cost` shows."""

    model: str
    target: Target
    cost: ModelCost
    placement: Placement
    prediction: Prediction
    grid_every: int = 1  # video: the low-res part runs on one frame in this many (runtime/grid_reuse.py)

    @property
    def latency_ms(self) -> float:
        """Predicted latency of one frame with its own grid: parts + call overheads + transfers."""
        return self.prediction.latency_ms

    @property
    def latency_ms_per_frame(self) -> float:
        """Predicted latency per video frame with the low-res part amortised over `grid_every` frames."""
        return self.prediction.per_frame_ms(self.grid_every)

    @property
    def budget_ms(self) -> float | None:
        """The target's latency budget at this workload, if it names one."""
        return budget_ms(self.target, self.cost.workload)

    @property
    def within_budget(self) -> bool | None:
        return None if self.budget_ms is None else self.latency_ms <= self.budget_ms

    def document(self) -> dict[str, Any]:
        """The JSON document (schema in the module doc)."""
        doc = cost_document(self.model, self.cost, self.target, self.prediction, self.placement)
        if self.grid_every > 1:
            budget = self.budget_ms
            doc["grid_reuse"] = {"grid_every": self.grid_every,
                                 "low_res_ms_per_frame": self.prediction.parts_ms["low_res"] / self.grid_every,
                                 "latency_ms_per_frame": self.latency_ms_per_frame,
                                 "within_budget": None if budget is None else self.latency_ms_per_frame <= budget}
        return CostDocument.checked(doc).to_json()


def cost_report(model: str | os.PathLike | nn.Module, target: str | Target,
                workload: str | tuple[int, int] | None = None, placement: Placement | None = None,
                grid_every: int = 1) -> CostReport:
    """Count `model` ('teacher', 'student', a checkpoint, an .onnx file or a module) at `workload` (default:
    preview; an ONNX graph: its own size) and predict its latency on `target` (a name or a loaded Target)
    with `placement` (default: the first CPU core at the CPU's first precision). `grid_every` N > 1: a
    student's video frames with the grid predicted on one frame in N (`CostReport.latency_ms_per_frame`)."""
    if isinstance(grid_every, bool) or not isinstance(grid_every, int) or grid_every < 1:
        raise AicamError(f"--grid-every {grid_every!r}: must be a whole number of frames, at least 1 (1: the grid is "
                         "predicted on every frame; e.g. 4 prices video with the low-res part on every fourth frame)")
    if grid_every > 1 and workload is not None and not is_video_workload(workload):
        raise AicamError(f"--grid-every {grid_every}: grid reuse is for video frames, and {workload_name(workload)} is a "
                         "still (its low-res part runs once); use --workload video8k, preview or HxW, or leave --grid-every out")
    target = target if isinstance(target, Target) else load_target(target)
    placement = placement or parse_placement(target)
    latency = LatencyModel(target, load_calibration(target.name))
    if isinstance(model, (str, os.PathLike)) and str(model) not in ("teacher", "student") and not Path(model).exists():
        raise AicamError(f"model '{model}': not 'teacher', 'student' or an existing .onnx / checkpoint file")
    cost = shipped_cost(model, workload, placement, target)
    prediction = latency.predict(cost.ops, placement)
    name = cost.model if not isinstance(model, (str, os.PathLike)) else os.fspath(model)
    if grid_every > 1 and "low_res" not in prediction.parts_ms:
        raise AicamError(f"--grid-every {grid_every}: {name} has no low-res part that predicts a grid (only the "
                         "student does); leave --grid-every out for it")
    return CostReport(name, target, cost, placement, prediction, grid_every)


def shipped_cost(model: str | os.PathLike | nn.Module, workload: str | tuple[int, int] | None,
                 placement: Placement, target: Target) -> "ModelCost":
    """A student (by name, checkpoint or module) as compile ships it for `placement` on `target` (its
    full-res part as the fused kernel where it is one); any other model as its graph, op by op."""
    from ..cost.model_cost import DEFAULT_WORKLOAD, model_cost  # torch and onnx: loaded when a model is costed
    from ..cost.shipped import shipped_student_cost
    from ..models.checkpoints import resolve_model
    from ..models.student import StudentNet

    if isinstance(model, (str, os.PathLike)) and str(model).lower().endswith(".onnx"):
        return model_cost(model, workload)
    named = isinstance(model, (str, os.PathLike))
    net = resolve_model(model) if named else model
    if isinstance(net, StudentNet):
        full = placement.of("full_res")
        cost = shipped_student_cost(net, workload or DEFAULT_WORKLOAD, full.precision, target.unit(full.unit).kind)
    else:
        cost = model_cost(net, workload)
    return replace(cost, model=os.fspath(model)) if named else cost


def cost_document(model_name: str, cost: ModelCost, target: Target, prediction: Prediction,
                  placement: Placement) -> dict[str, Any]:
    """The JSON document (schema in the module doc) of one costed, placed model."""
    ops = []
    for t in prediction.ops:
        d = t.op.to_dict()
        d.update(unit=t.unit, precision=t.precision, bytes=t.op.bytes, bytes_moved=round(t.bytes, 1),
                 compute_ms=t.compute_ms, memory_ms=t.memory_ms, overhead_ms=t.overhead_ms, latency_ms=t.latency_ms,
                 bound=t.bound, fused_into=t.fused_into)
        ops.append(d)
    by_class: dict[str, dict] = {}
    for t in prediction.ops:
        c = by_class.setdefault(t.op.op_class, {"ops": 0, "macs": 0, "flops": 0, "bytes": 0, "latency_ms": 0.0})
        c["ops"] += 1
        c["macs"] += t.op.macs
        c["flops"] += t.op.flops
        c["bytes"] += t.op.bytes
        c["latency_ms"] += t.latency_ms
    parts = {}
    for part, ms in prediction.parts_ms.items():
        p_ops = [t.op for t in prediction.ops if t.op.part == part]
        kernels = [o.kernel for o in p_ops if o.kernel]
        runtime = prediction.runtimes[part]
        unit = target.unit(placement.of(part).unit)
        parts[part] = {"macs": sum(o.macs for o in p_ops), "flops": sum(o.flops for o in p_ops),
                       "bytes": sum(o.bytes for o in p_ops), "latency_ms": ms,
                       "artifact": f"fused kernel {kernels[0]}" if kernels else f"graph of {len(p_ops)} ops",
                       "runtime": runtime, "figures_from": unit.runtimes[runtime].figures_from}
    all_ops = [t.op for t in prediction.ops]
    workload = {"name": cost.workload, "height": cost.height, "width": cost.width}
    budget = budget_ms(target, cost.workload)
    latency = prediction.latency_ms
    return {
        "schema": SCHEMA, "model": model_name, "target": target.name, "workload": workload,
        "placement": {part: {"unit": placement.of(part).unit, "precision": placement.of(part).precision,
                             "cores": placement.of(part).cores, "runtime": prediction.runtimes[part]}
                      for part in prediction.parts_ms},
        "total": {"macs": sum(o.macs for o in all_ops), "flops": sum(o.flops for o in all_ops),
                  "params": sum(o.params for o in all_ops), "bytes": sum(o.bytes for o in all_ops),
                  "bytes_moved": int(sum(t.bytes for t in prediction.ops)), "latency_ms": latency,
                  "ops_ms": sum(prediction.parts_ms.values()), "call_overhead_ms": prediction.call_overhead_ms,
                  "transfer_ms": prediction.transfer_ms, "transfer_bytes": prediction.transfer_bytes,
                  "uncounted_ops": len(prediction.uncounted)},
        "parts": parts,
        "by_class": dict(sorted(by_class.items(), key=lambda kv: -kv[1]["latency_ms"])),
        "budget": {"latency_ms": budget, "within": None if budget is None else latency <= budget},
        "ops": ops,
    }


def budget_ms(target: Target, workload: str) -> float | None:
    """The target's latency budget at `workload`, if it names one."""
    if target.budgets is None:
        return None
    figure = target.budgets.latency_ms.get(workload)
    return figure.value if figure is not None else None
