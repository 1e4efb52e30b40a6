"""Latency of the shipped fused full-res kernel on a unit, from its spec (kernels.workload), not its graph.

    compute = lane operations / (lane peak of the unit x lane_efficiency x threads^multicore_exponent)
              + table lookups x table_spill_ns / threads^multicore_exponent   (only when a row's
                grid tables do not fit the unit's L1 data cache)
    memory  = pixel bytes in + out / bandwidth
    time    = max(compute, memory) + per_call

The lane peak is the unit's fp32 arithmetic peak in lane operations (its ops-per-cycle figure counts
an FMA as two); the kernel computes in float32 whatever the pixel type. `lane_efficiency` is what a
compiled schedule achieves of it (fitted to host timings of the kernel itself), `multicore_exponent`
how its row-parallel loop scales with threads.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import Field

from ..config import Config
from ..kernels.spec import KernelSpec
from ..kernels.workload import KernelWorkload, executed, lanes_per_row
from .target import Unit

GPU_KINDS = ("gpu",)


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


def lane_peak_per_s(unit: Unit) -> float:
    """fp32 lane operations per second of one core (CPU) or of the whole unit (GPU/DSP)."""
    return unit.peak_ops_per_s("fp32", cores=1) / 2


def l1_bytes(unit: Unit) -> int | None:
    """The L1 data cache per core, if the target lists one."""
    sizes = [c.size_kb.value for c in unit.caches if c.level.upper().startswith("L1") and c.size_kb.value]
    return int(min(sizes) * 1024) if sizes else None


def predict_kernel(spec: KernelSpec, unit: Unit, calibration: KernelCalibration, height: int, width: int,
                   bandwidth_gbps: float, threads: int = 1, schedule: str | None = None) -> KernelPrediction:
    workload: KernelWorkload = executed(spec, schedule or schedule_for_unit(unit))
    lane_ops = workload.ops(height, width).total
    if unit.kind in GPU_KINDS:  # a GPU issues each gather from its lanes like an arithmetic instruction
        lane_ops += workload.table_loads_per_pixel * height * lanes_per_row(width)
    scale = threads ** calibration.multicore_exponent if unit.kind == "cpu" else 1.0
    compute_s = lane_ops / (lane_peak_per_s(unit) * calibration.lane_efficiency * scale)
    l1 = l1_bytes(unit)
    if l1 is not None and workload.table_bytes > l1:
        lookups = workload.table_loads_per_pixel * height * lanes_per_row(width)
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
