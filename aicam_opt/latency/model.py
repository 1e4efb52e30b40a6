"""Predicted latency of a list of `OpCost` on a target: roofline per fused op, overheads, placement.

For one op on unit u at precision p:

    compute = flops / (peak(u, p, cores) * compute_efficiency[op_class])
    memory  = bytes(p) / (bandwidth(u) * memory_efficiency * (cache_speedup if they fit the cache))
    time    = max(compute, memory) + per_op_overhead

Before that, fusion merges what a runtime runs as one kernel (`fuse`): an element-wise chain
(bias, activation, residual add, folded batch norm, ...) runs inside its producer, so the
intermediate tensors are never written to or read back from memory and there is one launch
instead of several. Each part of the model (OpCost.part: low_res / full_res) can be placed on a
different unit and run through one of the unit's runtimes (runtimes.py; the fitted figures belong to
the unit and runtime); each call (each time execution moves to another unit or runtime) costs its call
overhead, and a tensor crossing between units costs the target's transfer (fixed latency + bytes /
bandwidth).

Counts are per op at the workload's size; bytes are scaled from the op's dtype to the precision
the unit runs at (fp16 halves fp32 traffic, int8 quarters it).
"""
from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field

from ..config import Config, load_yaml
from ..cost.records import OP_CLASSES, OpCost
from ..cost.workloads import is_video_workload
from ..kernels.spec import KernelSpec
from .kernel_model import KernelCalibration, predict_kernel
from ..errors import AicamError
from .runtimes import RUNTIMES, get_runtime
from .target import BYTES_PER_ELEMENT, TARGETS_DIR, Target

CALIBRATION_DIR = TARGETS_DIR / "calibration"
PARTS = ("low_res", "full_res", "whole")
DTYPE_BYTES = {"float32": 4, "float": 4, "float16": 2, "half": 2, "bfloat16": 2, "float64": 8, "int8": 1,
               "uint8": 1, "int16": 2, "int32": 4, "int64": 8, "bool": 1}

# Op classes a runtime runs inside the kernel of the op that produced their input.
FUSABLE_CLASSES = {"elementwise", "norm", "transcendental"}
# ...except these, which need a whole row (a reduction) before they can produce an output.
NOT_FUSABLE_OPS = {"softmax", "log_softmax", "_softmax", "layer_norm", "group_norm", "instance_norm"}


class PrecisionCalibration(Config):
    """Fitted figures of one unit at one precision (see calibrate.py)."""

    compute_efficiency: dict[str, float] = Field(..., description="op_class -> achieved fraction of the arithmetic peak")
    memory_efficiency: float = Field(..., gt=0, description="achieved fraction of the memory bandwidth")
    per_op_overhead_us: float = Field(..., ge=0)
    per_call_overhead_us: float = Field(..., ge=0)
    multicore_efficiency: float = Field(1.0, gt=0, le=1, description="speed-up per extra core, as a fraction of linear")
    cache_speedup: float = Field(1.0, gt=0, description="bandwidth multiplier when an op's working set fits the last-level cache")

    def efficiency(self, op_class: str) -> float:
        return self.compute_efficiency.get(op_class, self.compute_efficiency.get("default", 1.0))


class Calibration(Config):
    target: str
    command: str = ""
    fitted_at_utc: str = ""
    units: dict[str, dict[str, dict[str, PrecisionCalibration]]] = Field(
        ..., description="unit -> runtime -> precision -> fitted figures (runtimes.py: a figure belongs to both)")
    kernels: dict[str, KernelCalibration] = Field(
        default_factory=dict, description="unit -> figures of the fused full-res kernel on it (kernel_model.py)")
    notes: list[str] = Field(default_factory=list)
    fit: dict = Field(default_factory=dict, description="rows, residuals and parameters of the fit (for people)")

    def for_unit(self, unit: str, precision: str, runtime: str) -> PrecisionCalibration:
        try:
            return self.units[unit][runtime][precision]
        except KeyError:
            have = [f"{u}/{r}/{p}" for u, rs in self.units.items() for r, ps in rs.items() for p in ps]
            raise AicamError(f"calibration of '{self.target}' has no figures for {unit}/{runtime}/{precision} "
                             f"(calibrated: {', '.join(have) or 'none'}); run `aicam-opt calibrate --target "
                             f"{self.target}`, or choose a calibrated runtime and precision") from None

    def precisions(self, unit: str, runtime: str) -> list[str]:
        """The precisions fitted for `unit` through `runtime` (none: empty)."""
        return list(self.units.get(unit, {}).get(runtime, {}))

    def fingerprint(self) -> str:
        """Short hash of the fitted figures (units and kernels): equal figures predict the same."""
        import hashlib

        figures = self.model_dump_json(include={"target", "units", "kernels"})
        return hashlib.sha256(figures.encode()).hexdigest()[:12]

    def kernel_for(self, unit: str) -> KernelCalibration:
        try:
            return self.kernels[unit]
        except KeyError:
            raise AicamError(f"calibration of '{self.target}' has no figures for the fused full-res kernel on the "
                             f"{unit} (calibrated: {', '.join(self.kernels) or 'none'}); run "
                             f"`aicam-opt calibrate --target {self.target}`, or place the full-res part on a "
                             "unit that has them") from None


def calibration_path(target: str) -> Path:
    return CALIBRATION_DIR / f"{target}.json"


# target name -> the calibration file `using_calibration` put in place of targets/calibration/<name>.json
_IN_USE: dict[str, Path] = {}


def load_calibration_file(path: str | Path, target: str) -> Calibration:
    """A fitted calibration (`aicam-opt calibrate ... --out PATH`) for `target`; AicamError if it is for another."""
    path = Path(path)
    if not path.is_file():
        raise AicamError(f"--calibration {path}: file not found; write one with `aicam-opt calibrate --target {target} "
                         f"--measurements ROWS.yaml --out {path}`")
    cal = load_yaml(path, Calibration)
    if cal.target != target:
        raise AicamError(f"--calibration {path}: fitted for target '{cal.target}', not '{target}'; give a calibration "
                         f"of '{target}' or --target {cal.target}")
    return cal


@contextlib.contextmanager
def using_calibration(target: str, path: str | Path | None) -> Iterator[Calibration | None]:
    """Within the block, every prediction for `target` (every `load_calibration(target)`: the search, the
    reports, measure's predictions) uses the calibration at `path` instead of the committed one. None: no change."""
    if path is None:
        yield None
        return
    cal = load_calibration_file(path, target)
    previous = _IN_USE.get(target)
    _IN_USE[target] = Path(path)
    try:
        yield cal
    finally:
        if previous is None:
            _IN_USE.pop(target, None)
        else:
            _IN_USE[target] = previous


def calibration_in_use(target: str) -> Path:
    """The file predictions for `target` use now: a `using_calibration` file, else the committed one."""
    return _IN_USE.get(target, calibration_path(target))


def load_calibration(target: str) -> Calibration:
    if target in _IN_USE:
        return load_calibration_file(_IN_USE[target], target)
    path = calibration_path(target)
    if not path.is_file():
        raise AicamError(f"{path}: no calibration for target '{target}'; run `aicam-opt calibrate --target {target}`")
    return load_yaml(path, Calibration)


@dataclass(frozen=True)
class Assignment:
    """Where a part runs: unit, precision, (CPU) number of cores, and the runtime that runs it (None: the
    unit's `default_runtime` in the target)."""

    unit: str = "cpu"
    precision: str = "fp32"
    cores: int | None = 1
    runtime: str | None = None


@dataclass
class Placement:
    """Unit per model part. Parts not named run on `default`."""

    default: Assignment = field(default_factory=Assignment)
    parts: dict[str, Assignment] = field(default_factory=dict)

    def of(self, part: str) -> Assignment:
        return self.parts.get(part, self.default)


@dataclass
class FusedOp:
    """One kernel: a producer and the element-wise ops fused into it."""

    ops: list[OpCost]
    bytes_read: int
    bytes_written: int

    @property
    def head(self) -> OpCost:
        return self.ops[0]


@dataclass
class OpTime:
    op: OpCost
    unit: str
    precision: str
    bytes: float          # traffic at the unit's precision, after fusion (0 for an op fused away)
    compute_ms: float
    memory_ms: float
    overhead_ms: float
    latency_ms: float
    fused_into: str = ""  # name of the producer this op runs inside, if fused

    @property
    def bound(self) -> str:
        if self.fused_into:
            return "fused"
        if not self.op.counted:
            return "unknown"
        return "compute" if self.compute_ms >= self.memory_ms else "memory"


@dataclass
class Prediction:
    ops: list[OpTime]
    parts_ms: dict[str, float]
    call_overhead_ms: float
    transfer_ms: float
    transfer_bytes: int
    uncounted: list[str]
    runtimes: dict[str, str] = field(default_factory=dict)  # part -> the runtime it is priced for

    @property
    def latency_ms(self) -> float:
        return sum(self.parts_ms.values()) + self.call_overhead_ms + self.transfer_ms

    def per_frame_ms(self, grid_every: int) -> float:
        """Video with grid reuse (runtime/grid_reuse.py): the low-res network runs on one frame in
        `grid_every`, so its time per frame is divided by that; the rest is paid on every frame: the
        full-res path, the downsample in front of the low-res network (the scene-cut detector reads it;
        it is costed with the full-res part) and, conservatively, every call overhead and transfer."""
        low_res = self.parts_ms.get("low_res", 0.0)
        return self.latency_ms - low_res + low_res / grid_every


def workload_latency_ms(prediction: Prediction, workload: str | tuple[int, int], grid_every: int = 1) -> float:
    """The latency a workload is judged by: a video frame's with the low-res part amortised over
    `grid_every` frames (`Prediction.per_frame_ms`), a still's whole."""
    return prediction.per_frame_ms(grid_every) if is_video_workload(workload) else prediction.latency_ms


def element_bytes(dtype: str) -> int:
    return DTYPE_BYTES.get(dtype.replace("torch.", ""), 4)


def _fusable_into(op: OpCost, producer: OpCost) -> bool:
    return (op.op_class in FUSABLE_CLASSES and op.op not in NOT_FUSABLE_OPS and op.counted and producer.counted
            and op.part == producer.part and producer.bytes_written > 0)


def fuse(ops: list[OpCost], conv_bias_activation: bool = True, elementwise_chains: bool = True) -> list[FusedOp]:
    """Group ops (in execution order) into kernels.

    An element-wise op right after its producer joins it: its read of the producer's output and the
    producer's write of it disappear; what remains is the chain's first input, any extra operand
    (a residual, a per-channel scale) and the chain's last output. Graph edges are not in OpCost,
    so "consumes the previous output" is taken from the order and sizes: the part of the op's read
    up to the previous op's write is the chained tensor, the rest is extra operands.
    """
    groups: list[FusedOp] = []
    for op in ops:
        if groups:
            g = groups[-1]
            producer_is_compute = g.head.op_class in ("conv", "depthwise_conv", "matmul")
            allowed = conv_bias_activation if producer_is_compute else elementwise_chains
            if allowed and _fusable_into(op, g.head):
                chained = min(op.bytes_read, g.bytes_written)
                g.ops.append(op)
                g.bytes_read += op.bytes_read - chained
                g.bytes_written = op.bytes_written
                continue
        groups.append(FusedOp([op], op.bytes_read, op.bytes_written))
    return groups


class LatencyModel:
    """A target plus its calibration: predicts per-op and total latency for a placement."""

    def __init__(self, target: Target, calibration: Calibration):
        self.target = target
        self.calibration = calibration

    def runtime(self, a: Assignment) -> str:
        """The runtime `a` runs through (its own, or its unit's default; AicamError if the unit lacks it)."""
        return self.target.unit(a.unit).runtime(a.runtime)

    def figures(self, a: Assignment) -> PrecisionCalibration:
        """The fitted figures that price `a`: its unit, precision and runtime (or the runtime standing in)."""
        return self.calibration.for_unit(a.unit, a.precision, self.target.unit(a.unit).figures_runtime(a.runtime))

    def peak(self, a: Assignment) -> float:
        unit = self.target.unit(a.unit)
        cal = self.figures(a)
        peak = unit.peak_ops_per_s(a.precision, a.cores if unit.kind == "cpu" else None)
        n = a.cores if unit.kind == "cpu" and a.cores else 1
        # Extra cores add `multicore_efficiency` of a core each (shared caches, sync, imbalance).
        return peak * (1 + (n - 1) * cal.multicore_efficiency) / n

    def _unit_figures(self, a: Assignment) -> "_UnitFigures":
        """What every op on `a` shares, computed once per part (the fit evaluates thousands of ops)."""
        cal = self.figures(a)
        return _UnitFigures(cal, self.peak(a), self.target.bandwidth_gbps(a.unit) * 1e9 * cal.memory_efficiency,
                            self.target.unit(a.unit).last_level_cache_bytes,
                            {cls: cal.efficiency(cls) for cls in OP_CLASSES})

    def _group_times(self, group: FusedOp, a: Assignment, u: "_UnitFigures") -> list[OpTime]:
        cal, peak, bandwidth = u.cal, u.peak, u.bandwidth
        head = group.head
        if not head.counted or (len(group.ops) == 1 and head.flops == 0 and head.bytes == 0):
            # Unknown cost (reported as uncounted), or a metadata-only view: no kernel runs.
            return [OpTime(head, a.unit, a.precision, 0.0, 0.0, 0.0, 0.0, 0.0)]
        scale = BYTES_PER_ELEMENT[a.precision] / element_bytes(head.dtype)
        traffic = (group.bytes_read + group.bytes_written) * scale
        compute_s = [op.flops / (peak * (u.efficiency.get(op.op_class) or cal.efficiency(op.op_class))) for op in group.ops]
        # A kernel whose whole working set fits the last-level cache is served from there when the
        # model runs repeatedly (weights and small activations stay resident), not from DRAM.
        fits_cache = traffic <= u.cache_bytes
        memory_s = traffic / (bandwidth * (cal.cache_speedup if fits_cache else 1.0))
        overhead_s = cal.per_op_overhead_us * 1e-6
        total_s = max(sum(compute_s), memory_s) + overhead_s
        # The kernel's time is reported on its producer; fused members show their own compute only.
        rows = [OpTime(head, a.unit, a.precision, traffic, compute_s[0] * 1e3, memory_s * 1e3, overhead_s * 1e3,
                       (total_s - sum(compute_s[1:])) * 1e3)]
        for op, c in zip(group.ops[1:], compute_s[1:]):
            rows.append(OpTime(op, a.unit, a.precision, 0.0, c * 1e3, 0.0, 0.0, c * 1e3, fused_into=head.name))
        return rows

    def _kernel_times(self, op: OpCost, a: Assignment) -> list[OpTime]:
        """A shipped fused kernel, priced from its spec on the unit (kernel_model.py), not as a graph op."""
        runtime = self.runtime(a)
        if not get_runtime(runtime).ships_fused_kernel:
            through = [r for r in self.target.unit(a.unit).runtimes if RUNTIMES[r].ships_fused_kernel]
            raise AicamError(f"the fused full-res kernel ({op.kernel}) does not ship through '{runtime}' on the "
                             f"{a.unit}; it ships through {', '.join(through) or 'no runtime of this unit'} "
                             "(or run the full-res part at int8, a QDQ graph any runtime can run)")
        spec = KernelSpec.from_key(op.kernel)
        height, width = op.image
        unit = self.target.unit(a.unit)
        threads = (a.cores or unit.core_count) if unit.kind == "cpu" else 1
        p = predict_kernel(spec, unit, self.calibration.kernel_for(a.unit), height, width,
                           self.target.bandwidth_gbps(a.unit), threads)
        return [OpTime(op, a.unit, a.precision, float(p.pixel_bytes), p.compute_ms, p.memory_ms, p.overhead_ms,
                       p.latency_ms)]

    def predict(self, ops: list[OpCost], placement: Placement | None = None) -> Prediction:
        placement = placement or Placement()
        rows: list[OpTime] = []
        parts_ms: dict[str, float] = {}
        calls: list[Assignment] = []  # one call each time execution moves to another unit or runtime
        runtimes: dict[str, str] = {}
        unknown = {op.part for op in ops} - set(PARTS)
        if unknown:
            raise AicamError(f"ops with unknown part(s) {sorted(unknown)}: OpCost.part must be one of {', '.join(PARTS)}")
        # Runs of consecutive ops of one part, in execution order: fusion never crosses a hand-over
        # between parts (for the student: downsample -> low-res path -> full-res path).
        for part, run in itertools.groupby(ops, key=lambda op: op.part):
            a = placement.of(part)
            unit = self.target.unit(a.unit)
            unit.precision_spec(a.precision)  # an unsupported precision is an error, not a silent fallback
            runtimes[part] = self.runtime(a)
            figures = self._unit_figures(a)
            for group in fuse(list(run), unit.fusion.conv_bias_activation, unit.fusion.elementwise_chains):
                times = self._kernel_times(group.head, a) if group.head.kernel else self._group_times(group, a, figures)
                rows.extend(times)
                parts_ms[part] = parts_ms.get(part, 0.0) + sum(t.latency_ms for t in times)
            # Another unit, or another runtime on the same unit, is another inference call.
            if not calls or (calls[-1].unit, self.runtime(calls[-1])) != (a.unit, runtimes[part]):
                calls.append(a)
        call_ms = sum(self.figures(a).per_call_overhead_us for a in calls) * 1e-3
        transfer_ms, transfer_bytes = self._transfer(ops, placement)
        return Prediction(rows, parts_ms, call_ms, transfer_ms, transfer_bytes,
                          uncounted=[op.name for op in ops if not op.counted], runtimes=runtimes)

    def _transfer(self, ops: list[OpCost], placement: Placement) -> tuple[float, int]:
        """Each hand-over between parts placed on different units costs one transfer.

        Walking the ops in execution order, a change of unit means the tensor the previous op wrote
        crosses over (for the student: the downsampled image into the low-res path, then the grid
        back to the full-res path). The full-res input image itself sits in DRAM that every unit of
        the SoC reads, so it is not transferred.
        """
        total_ms, total_bytes = 0.0, 0
        previous: OpCost | None = None
        for op in ops:
            if op.bytes_written == 0 and op.flops == 0:
                continue  # a view: it hands over nothing of its own
            if previous is not None:
                a_prev, a_op = placement.of(previous.part), placement.of(op.part)
                if a_prev.unit != a_op.unit:
                    nbytes = int(previous.bytes_written * BYTES_PER_ELEMENT[a_prev.precision] / element_bytes(previous.dtype))
                    t = self.target.transfer(a_prev.unit, a_op.unit)
                    total_ms += t.latency_us.value * 1e-3 + nbytes / (t.bandwidth_gbps.value * 1e9) * 1e3
                    total_bytes += nbytes
            previous = op
        return total_ms, total_bytes


@dataclass(frozen=True)
class _UnitFigures:
    cal: PrecisionCalibration
    peak: float
    bandwidth: float
    cache_bytes: int
    efficiency: dict[str, float]


def load_model(target: str) -> LatencyModel:
    """The latency model of a target by name: targets/<name>.yaml + targets/calibration/<name>.json."""
    from .target import load_target

    return LatencyModel(load_target(target), load_calibration(target))


assert set(FUSABLE_CLASSES) <= set(OP_CLASSES)
