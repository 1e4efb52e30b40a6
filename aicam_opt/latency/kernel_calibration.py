"""The fused full-res kernel's figures per unit, as the target's `calibration.kernels` recipe says.

- `kernel_timings`: this host's timings of the compiled kernel over `CASES` (kernel specs x pixel types
  x 0.5-100 MP x 1 and 2 threads, kernels/bench.py), kept in a file (`aicam-opt calibrate --measure`
  re-times them). Fitted in log time; validated by holding whole configurations (a spec with its pixel
  type: every size and thread count of it) out of the fit and predicting them.
- `anchor`: a published timing of the same kind of kernel (kernel_anchor.py).
- `from_target`: another target's fitted figures for the same schedule, as the prior.
"""
from __future__ import annotations

import os
import platform
import statistics
from datetime import datetime, timezone
from typing import Callable

from pydantic import Field

from ..config import Config, load_yaml, save_json
from ..errors import AicamError
from ..kernels.spec import KernelSpec
from .kernel_anchor import anchor_range_ms, anchored_calibration
from .kernel_model import KernelCalibration, fit_kernel_calibration, predict_kernel
from .target import KernelAnchor, KernelFromTarget, KernelTimings, Target

# (n_curves, knots, depth, grid_size): the student's default, the luma guide, and the knobs the search
# moves; the last two need more than a 32 KB L1 for their row tables.
SPECS = [(3, 16, 8, 16), (1, 16, 8, 16), (3, 8, 8, 16), (3, 16, 4, 16), (3, 16, 16, 16), (1, 8, 4, 8),
         (3, 16, 8, 8), (1, 16, 16, 32), (3, 8, 16, 32)]
PIXEL_TYPES = ("uint8", "float32", "uint16")
SIZES = [(600, 800), (1500, 2000), (3000, 4000)]  # 0.5, 3 and 12 MP
LARGE = (8160, 12240)  # 100 MP: the student's spec in 8-bit only (two float32 buffers would be 2.4 GB)
STUDENT_SPEC = KernelSpec(3, 16, 8, 16, "uint8")

Log = Callable[[str], None]


class KernelRow(Config):
    n_curves: int
    knots: int
    depth: int
    grid_size: int
    dtype: str
    height: int
    width: int
    threads: int
    measured_ms: float = Field(..., gt=0)

    @property
    def spec(self) -> KernelSpec:
        return KernelSpec(self.n_curves, self.knots, self.depth, self.grid_size, self.dtype)  # type: ignore[arg-type]


class KernelMeasurements(Config):
    command: str
    measured_at_utc: str
    machine: str
    rows: list[KernelRow] = Field(..., min_length=1)


def cases():
    from ..kernels.bench import KernelCase

    out = []
    for index, (nc, nk, depth, gsize) in enumerate(SPECS):
        for dtype in PIXEL_TYPES:
            if dtype != "uint8" and (index + PIXEL_TYPES.index(dtype)) % 2:
                continue  # every spec in 8-bit, half of them in each wider type: the spread in fewer minutes
            for height, width in SIZES:
                out += [KernelCase(KernelSpec(nc, nk, depth, gsize, dtype), height, width, t) for t in (1, 2)]  # type: ignore[arg-type]
    out += [KernelCase(STUDENT_SPEC, *LARGE, t) for t in (1, 2)]
    return out


def measure(target: Target, source: KernelTimings, log: Log = print) -> KernelMeasurements:
    from ..kernels.bench import time_cases
    from .calibrate import source_path

    todo = cases()
    log(f"timing the fused kernel: {len(todo)} cases ({sum(c.megapixels for c in todo):.0f} MP in all)")
    timings = time_cases(todo)
    doc = KernelMeasurements(
        command=f"aicam-opt calibrate --target {target.name} --measure",
        measured_at_utc=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        machine=f"{platform.machine()}, {len(os.sched_getaffinity(0))} cpus, {platform.processor() or 'cpu'}",
        rows=[KernelRow(n_curves=t.case.spec.n_curves, knots=t.case.spec.knots, depth=t.case.spec.depth,
                        grid_size=t.case.spec.grid_size, dtype=t.case.spec.dtype, height=t.case.height,
                        width=t.case.width, threads=t.case.threads, measured_ms=t.ms) for t in timings])
    save_json(doc, source_path(source.file))
    return doc


def load_measurements(source: KernelTimings) -> KernelMeasurements:
    from .calibrate import source_path

    path = source_path(source.file)
    if not path.is_file():
        raise AicamError(f"{path}: no timings of the fused kernel; run `aicam-opt calibrate --target host --measure` "
                         "on the machine the target describes")
    return load_yaml(path, KernelMeasurements)


def _fit(target: Target, unit: str, rows: list[KernelRow], source: str) -> KernelCalibration:
    return fit_kernel_calibration([(r.spec, r.height, r.width, r.threads, r.measured_ms) for r in rows],
                                  target.unit(unit), target.bandwidth_gbps(unit), source)


UserKernelRows = dict[str, list[tuple[KernelSpec, int, int, int, float]]]


def fit_kernels(target: Target, remeasure: bool = False, log: Log = print,
                user: UserKernelRows | None = None) -> dict[str, KernelCalibration]:
    """Each unit's kernel figures as its recipe says. `user`: the user's kernel timings per unit
    (user_rows.py): added to a unit's timings; a unit without timings is fitted to them alone."""
    from .model import load_calibration

    user = user or {}
    figures: dict[str, KernelCalibration] = {}
    for unit, rows in user.items():
        recipe = target.calibration_recipe().kernels.get(unit)
        if not isinstance(recipe, KernelTimings):
            figures[unit] = fit_kernel_calibration(rows, target.unit(unit), target.bandwidth_gbps(unit),
                                                   f"fitted to {len(rows)} timing(s) of the compiled kernel measured "
                                                   "by the user (aicam-opt measure --save-rows)")
    for unit, recipe in target.calibration_recipe().kernels.items():
        if unit in figures:
            continue
        if isinstance(recipe, KernelTimings):
            measured = measure(target, recipe, log) if remeasure else load_measurements(recipe)
            extra = user.get(unit, [])
            timings = [(r.spec, r.height, r.width, r.threads, r.measured_ms) for r in measured.rows] + extra
            figures[unit] = fit_kernel_calibration(
                timings, target.unit(unit), target.bandwidth_gbps(unit),
                f"fitted to {len(measured.rows)} timings of the compiled kernel on {measured.machine} "
                f"({measured.command}, {measured.measured_at_utc} UTC)"
                + (f" and {len(extra)} measured by the user (aicam-opt measure --save-rows)" if extra else ""))
        elif isinstance(recipe, KernelAnchor):
            figures[unit] = anchored_calibration(target.unit(unit))
        elif isinstance(recipe, KernelFromTarget):
            other = load_calibration(recipe.target).kernel_for(recipe.unit)
            figures[unit] = other.model_copy(update={
                "source": f"prior: the figures fitted on target '{recipe.target}' ({recipe.unit}) for the same "
                          f"schedule; no timing on this unit yet. There: {other.source}"})
    return figures


def validate_kernels(target: Target) -> dict[str, dict]:
    """Per unit with kernel timings: leave one configuration out, predicted beside measured. Per anchored
    unit: the student's kernel at 12 MP against the range the anchor allows."""
    from scipy.stats import spearmanr

    report: dict[str, dict] = {}
    for unit, recipe in target.calibration_recipe().kernels.items():
        if isinstance(recipe, KernelTimings):
            rows = load_measurements(recipe).rows
            table = []
            for key in sorted({r.spec.key for r in rows}):
                cal = _fit(target, unit, [r for r in rows if r.spec.key != key], "leave-one-configuration-out")
                for r in (r for r in rows if r.spec.key == key):
                    predicted = predict_kernel(r.spec, target.unit(unit), cal, r.height, r.width,
                                               target.bandwidth_gbps(unit), r.threads).latency_ms
                    table.append({"config": key, "megapixels": round(r.height * r.width / 1e6, 2),
                                  "threads": r.threads, "measured_ms": round(r.measured_ms, 3),
                                  "predicted_ms": round(predicted, 3)})
            errors = [abs(t["predicted_ms"] / t["measured_ms"] - 1) for t in table]
            ratios = [max(t["predicted_ms"] / t["measured_ms"], t["measured_ms"] / t["predicted_ms"]) for t in table]
            figures = {"rows": len(table), "configurations": len({t["config"] for t in table}),
                       "median_abs_error": statistics.median(errors), "worst_ratio": max(ratios),
                       "spearman": float(spearmanr([t["measured_ms"] for t in table],
                                                   [t["predicted_ms"] for t in table]).statistic)}
            bars = recipe.bars
            passes = ((bars.median_abs_error is None or figures["median_abs_error"] <= bars.median_abs_error)
                      and (bars.max_ratio is None or figures["worst_ratio"] <= bars.max_ratio)
                      and (bars.spearman is None or figures["spearman"] >= bars.spearman))
            report[unit] = {"method": "leave one kernel configuration (spec and pixel type) out; fit on the rest",
                            **figures, "bars": bars.model_dump(exclude_none=True), "passes": passes, "table": table}
        elif isinstance(recipe, KernelAnchor):
            cal = anchored_calibration(target.unit(unit))
            low, high = anchor_range_ms(STUDENT_SPEC, target.unit(unit), 3000, 4000)
            predicted = predict_kernel(STUDENT_SPEC, target.unit(unit), cal, 3000, 4000,
                                       target.bandwidth_gbps(unit)).latency_ms
            report[unit] = {"method": f"the student's kernel ({STUDENT_SPEC.key}) at 12 MP against the range "
                                      "the published anchor allows (kernel_anchor.py)",
                            "predicted_ms": predicted, "anchor_range_ms": [low, high],
                            "passes": low <= predicted <= high, "source": cal.source}
    return report
