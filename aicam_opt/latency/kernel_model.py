"""Latency of the shipped fused full-res kernel on a unit, from its spec (kernels.workload), not its graph.

    compute = (lane operations + gathered table values x gather_lane_ops)
              / (lane peak of the unit x lane_efficiency x threads^multicore_exponent)
              + table lookups x table_spill_ns / threads^multicore_exponent   (only when a row's
                grid tables do not fit the unit's L1 data cache)
    memory  = pixel bytes in + out / bandwidth
    time    = max(compute, memory) + per_call

The lane peak is the unit's arithmetic peak in lane operations (its ops-per-cycle figure counts an
FMA as two) at the kernel's arithmetic type: fp32, or fp16 for a `compute: float16` kernel (double on
NEON and Adreno; a unit that lists no fp16 arithmetic cannot run it natively, which is an error).
A gathered table value (the taps slice; every lookup on a GPU) costs a GPU lane one issue slot; a CPU
loads it as a scalar into its vector, CPU_LOADS_PER_CYCLE a cycle against the lane peak per cycle.
`lane_efficiency` is what a compiled schedule achieves of the peak (fitted to host timings of the
kernel itself), `multicore_exponent` how its row-parallel loop scales with threads.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import Field

from ..config import Config
from ..errors import AicamError
from ..kernels.spec import KernelSpec
from ..kernels.workload import KernelWorkload, executed
from .target import Unit

GPU_KINDS = ("gpu",)
# Scalar loads a CPU core issues per cycle (Cortex-A77: 2 load pipes; Zen 3/4: 3 load AGUs, taken as 2
# since a lane insert also occupies a vector port).
CPU_LOADS_PER_CYCLE = 2


class KernelCalibration(Config):
    """Fitted figures of the fused kernel on one unit."""

    lane_efficiency: float = Field(..., gt=0, le=1, description="achieved fraction of the fp32 lane-operation peak")
    multicore_exponent: float = Field(1.0, gt=0, le=1, description="speed-up with n threads is n ** exponent")
    per_call_us: float = Field(0.0, ge=0, description="fixed cost of one kernel call (dispatch, thread wake-up)")
    table_spill_ns: float = Field(0.0, ge=0, description="extra time per grid-table lookup when the tables miss L1")
    source: str = Field(..., min_length=3, description="what the figures were fitted to, or why they are a prior")


@dataclass(frozen=True)
class KernelPrediction:
    spec: KernelSpec
    schedule: str
    height: int
    width: int
    threads: int
    lane_ops: float
    pixel_bytes: int
    compute_ms: float
    memory_ms: float
    overhead_ms: float

    @property
    def latency_ms(self) -> float:
        return max(self.compute_ms, self.memory_ms) + self.overhead_ms

    @property
    def bound(self) -> str:
        return "compute" if self.compute_ms >= self.memory_ms else "memory"


def schedule_for_unit(unit: Unit) -> str:
    return "gpu" if unit.kind in GPU_KINDS else "cpu"


def arithmetic_precision(unit: Unit, compute: str = "float32") -> str:
    """The unit's precision figure a kernel computing in `compute` runs at."""
    if compute != "float16":
        return "fp32"
    if "fp16" not in unit.precisions:
        raise AicamError(f"the {unit.name} ({unit.kind}) lists no fp16 arithmetic: a compute=float16 kernel would be "
                         "emulated there (float32 with a rounding after every operation, slower than float32); "
                         "use compute float32 on it")
    return "fp16"


def lane_peak_per_s(unit: Unit, compute: str = "float32") -> float:
    """Lane operations per second of one core (CPU) or of the whole unit (GPU/DSP) at the kernel's
    arithmetic type (fp32, or fp16 for a float16 kernel)."""
    return unit.peak_ops_per_s(arithmetic_precision(unit, compute), cores=1) / 2


def gather_lane_ops(unit: Unit, compute: str = "float32") -> float:
    """Lane-operation slots one gathered table value takes: 1 on a GPU (each lane issues its own load);
    on a CPU the lane peak per cycle over the scalar loads per cycle (A77 fp32: 8 / 2 = 4)."""
    if unit.kind in GPU_KINDS:
        return 1.0
    return unit.precision_spec(arithmetic_precision(unit, compute)).ops_per_cycle.value / 2 / CPU_LOADS_PER_CYCLE


def l1_bytes(unit: Unit) -> int | None:
    """The L1 data cache per core, if the target lists one."""
    sizes = [c.size_kb.value for c in unit.caches if c.level.upper().startswith("L1") and c.size_kb.value]
    return int(min(sizes) * 1024) if sizes else None


def predict_kernel(spec: KernelSpec, unit: Unit, calibration: KernelCalibration, height: int, width: int,
                   bandwidth_gbps: float, threads: int = 1, schedule: str | None = None) -> KernelPrediction:
    workload: KernelWorkload = executed(spec, schedule or schedule_for_unit(unit))
    pixels = workload.computed_pixels(height, width)
    lane_ops = workload.ops(height, width).total
    lane_ops += workload.gathers_per_pixel * pixels * gather_lane_ops(unit, spec.compute)
    scale = threads ** calibration.multicore_exponent if unit.kind == "cpu" else 1.0
    compute_s = lane_ops / (lane_peak_per_s(unit, spec.compute) * calibration.lane_efficiency * scale)
    l1 = l1_bytes(unit)
    if l1 is not None and workload.table_bytes > l1:
        lookups = workload.table_loads_per_pixel * pixels
        compute_s += lookups * calibration.table_spill_ns * 1e-9 / scale
    pixel_bytes = workload.pixel_bytes(height, width)
    memory_s = pixel_bytes / (bandwidth_gbps * 1e9)
    return KernelPrediction(spec, workload.schedule, height, width, threads, lane_ops, pixel_bytes,
                            1e3 * compute_s, 1e3 * memory_s, 1e-3 * calibration.per_call_us)


def fit_kernel_calibration(rows: list[tuple[KernelSpec, int, int, int, float]], unit: Unit, bandwidth_gbps: float,
                           source: str) -> KernelCalibration:
    """Least squares in log time over (spec, height, width, threads, measured ms) rows. A figure the rows
    cannot inform (the thread scaling without multi-thread rows, the L1 spill without rows that spill)
    keeps its neutral value."""
    import numpy as np
    from scipy.optimize import least_squares

    l1 = l1_bytes(unit)
    threaded = any(t > 1 for *_, t, _ in rows)
    spills = l1 is not None and any(executed(s, schedule_for_unit(unit)).table_bytes > l1 for s, *_ in rows)

    def calibration(x: np.ndarray) -> KernelCalibration:
        return KernelCalibration(lane_efficiency=min(1.0, math.exp(x[0])),
                                 multicore_exponent=min(1.0, math.exp(x[1])) if threaded else 1.0,
                                 per_call_us=math.exp(x[2]), table_spill_ns=math.exp(x[3]) if spills else 0.0,
                                 source=source)

    def residuals(x: np.ndarray) -> np.ndarray:
        cal = calibration(x)
        return np.array([math.log(predict_kernel(s, unit, cal, h, w, bandwidth_gbps, t).latency_ms / ms)
                         for s, h, w, t, ms in rows])

    x0 = np.log([0.5, 0.9, 50.0, 0.5])
    bounds = (np.log([1e-4, 0.3, 1e-3, 1e-4]), np.log([1.0, 1.0, 1e5, 1e3]))
    return calibration(least_squares(residuals, x0, bounds=bounds).x)
