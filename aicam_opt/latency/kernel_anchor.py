"""The fused kernel on a phone GPU, anchored to a published timing of the same kind of kernel.

No device timing of this project's kernel exists (measure one with a device: `aicam-opt measure`).
The nearest published figure is HDRNet (Gharbi et al., "Deep Bilateral Learning for Real-Time Image
Enhancement", SIGGRAPH 2017, Fig. 1): a 12 MP 16-bit image in 61 ms on a 2016-17 phone GPU, with the
same guide (colour matrix + 3 curves of 16 knots), trilinear slice of a 16x16x8 grid of 3x4 affines and
per-pixel apply. The Adreno 650 is about twice that GPU.

Derivation (`ANCHOR`, `anchored_calibration`, `anchor_range_ms`):
- HDRNet's full-res work is `kernels.workload.executed(its spec, "gpu_taps")`: the slice by 8 gathered
  corners per coefficient, as grid_sample does it.
- On the unit, that work took 61 ms / speed-up. With the speed-up at its nominal 2x and all 61 ms
  charged to the full-res pass, the achieved fraction of the unit's fp32 lane peak is the kernel
  lane efficiency the prediction uses (conservative: the low-res pass and I/O shared those 61 ms).
- The range a prediction of *another* kernel spec on the unit may fall in scales HDRNet's time by the
  work ratio, with the speed-up between 1.5x and 2.5x and the full-res share of the 61 ms between
  70 % and 100 %.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..kernels.spec import KernelSpec
from ..kernels.workload import executed
from .kernel_model import KernelCalibration, lane_peak_per_s, predict_kernel
from .target import Unit


@dataclass(frozen=True)
class PublishedKernelTiming:
    what: str
    height: int
    width: int
    ms: float
    spec: KernelSpec
    schedule: str
    speedup: float                     # the unit over the device the figure was measured on (nominal)
    speedup_range: tuple[float, float]
    full_res_share_range: tuple[float, float]
    source: str


ANCHOR = PublishedKernelTiming(
    what="HDRNet full-res pass (guide, trilinear slice, affine apply), 12 MP, 16-bit",
    height=3000, width=4000, ms=61.0, spec=KernelSpec(3, 16, 8, 16, "uint16"), schedule="gpu_taps",
    speedup=2.0, speedup_range=(1.5, 2.5), full_res_share_range=(0.7, 1.0),
    source="Gharbi et al., SIGGRAPH 2017, Fig. 1: 12 MP in 61 ms on a 2016-17 phone GPU; the Adreno 650 is "
           "about twice that GPU (../shared/calibration/sd865_aihub.yaml, anchor note)")


def _lane_work(spec: KernelSpec, schedule: str, height: int, width: int) -> float:
    work = executed(spec, schedule)
    return work.ops(height, width).total + work.table_loads_per_pixel * height * width


def anchored_calibration(unit: Unit, anchor: PublishedKernelTiming = ANCHOR) -> KernelCalibration:
    work = _lane_work(anchor.spec, anchor.schedule, anchor.height, anchor.width)
    seconds = anchor.ms / anchor.speedup * 1e-3
    efficiency = min(1.0, work / (seconds * lane_peak_per_s(unit)))
    return KernelCalibration(lane_efficiency=efficiency, multicore_exponent=1.0, per_call_us=0.0,
                             source=f"anchored: {anchor.what} in {anchor.ms:g} ms / {anchor.speedup:g}x; {anchor.source}")


def anchor_range_ms(spec: KernelSpec, unit: Unit, height: int, width: int,
                    anchor: PublishedKernelTiming = ANCHOR) -> tuple[float, float]:
    """The range the anchor allows for `spec` (on the unit's GPU schedule) at height x width."""
    from .kernel_model import schedule_for_unit

    ratio = (_lane_work(spec, schedule_for_unit(unit), height, width)
             / _lane_work(anchor.spec, anchor.schedule, anchor.height, anchor.width))
    low = anchor.ms * anchor.full_res_share_range[0] / anchor.speedup_range[1] * ratio
    high = anchor.ms * anchor.full_res_share_range[1] / anchor.speedup_range[0] * ratio
    return low, high


__all__ = ["ANCHOR", "PublishedKernelTiming", "anchor_range_ms", "anchored_calibration", "predict_kernel"]
