"""Fit and validate the fused kernel's latency model on this host's timings of the kernel itself.

The rows (`KERNEL_CASES`: kernel specs x pixel types x 0.5-100 MP x 1 and 2 threads) are measured by
`kernels.bench` and kept in targets/calibration/host_kernel_measurements.json, so a refit needs no
remeasurement. Validation holds whole configurations out: for each spec (its curves, knots, depth,
grid and pixel type), the model is fitted to the other specs' rows and predicts all of its rows.
"""
from __future__ import annotations

import statistics
from datetime import datetime, timezone
from pathlib import Path

from pydantic import Field

from ..config import Config, load_yaml, save_json
from ..kernels.spec import KernelSpec
from .kernel_model import KernelCalibration, fit_kernel_calibration, predict_kernel
from .target import TARGETS_DIR, Target

MEASUREMENTS = TARGETS_DIR / "calibration" / "host_kernel_measurements.json"
MEDIAN_ERROR_BAR = 0.15
WORST_RATIO_BAR = 2.0
SPEARMAN_BAR = 0.9

# (n_curves, knots, depth, grid_size): the student's default, the luma guide, and the knobs the search moves.
SPECS = [(3, 16, 8, 16), (1, 16, 8, 16), (3, 8, 8, 16), (3, 16, 4, 16), (3, 16, 16, 16), (1, 8, 4, 8),
         (3, 16, 8, 8), (1, 16, 16, 32), (3, 8, 16, 32)]
DTYPES = ("uint8", "float32", "uint16")
SIZES = [(600, 800), (1500, 2000), (3000, 4000)]  # 0.5, 3 and 12 MP
LARGE = (8160, 12240)  # 100 MP: the student's default spec only (a 100 MP float32 buffer pair is 2.4 GB)


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
        return KernelSpec(self.n_curves, self.knots, self.depth, self.grid_size, self.dtype)


class KernelMeasurements(Config):
    command: str
    measured_at_utc: str
    machine: str
    rows: list[KernelRow]


def kernel_cases():
    from ..kernels.bench import KernelCase

    cases = []
    for index, (nc, nk, depth, gsize) in enumerate(SPECS):
        for dtype in DTYPES:
            if (index + DTYPES.index(dtype)) % 2 and dtype != "uint8":
                continue  # every spec in uint8, half of them in each wider type: the spread, in fewer minutes
            spec = KernelSpec(nc, nk, depth, gsize, dtype)
            for height, width in SIZES:
                for threads in (1, 2):
                    cases.append(KernelCase(spec, height, width, threads))
    for threads in (1, 2):
        cases.append(KernelCase(KernelSpec(3, 16, 8, 16, "uint8"), *LARGE, threads))
    return cases


def measure(path: Path = MEASUREMENTS, repeats: int = 5) -> KernelMeasurements:
    import platform

    from ..kernels.bench import time_cases

    timings = time_cases(kernel_cases(), repeats)
    doc = KernelMeasurements(
        command="aicam-opt calibrate --target host --remeasure",
        measured_at_utc=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        machine=f"{platform.processor() or platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cpus",
        rows=[KernelRow(n_curves=t.case.spec.n_curves, knots=t.case.spec.knots, depth=t.case.spec.depth,
                        grid_size=t.case.spec.grid_size, dtype=t.case.spec.dtype, height=t.case.height,
                        width=t.case.width, threads=t.case.threads, measured_ms=t.ms) for t in timings])
    save_json(doc.model_dump(), path)
    return doc


def load_measurements(path: Path = MEASUREMENTS) -> KernelMeasurements:
    return load_yaml(path, KernelMeasurements)


def _fit(rows: list[KernelRow], target: Target, source: str) -> KernelCalibration:
    return fit_kernel_calibration([(r.spec, r.height, r.width, r.threads, r.measured_ms) for r in rows],
                                  target.units["cpu"], target.bandwidth_gbps("cpu"), source)


def fit(target: Target, measurements: KernelMeasurements) -> KernelCalibration:
    return _fit(measurements.rows, target, f"fitted to {len(measurements.rows)} host timings of the kernel "
                                           f"({measurements.command}, {measurements.measured_at_utc} UTC)")


def validate(target: Target, measurements: KernelMeasurements) -> dict:
    """Leave one configuration (spec and pixel type) out: predicted beside measured for every row."""
    from scipy.stats import spearmanr

    unit, bandwidth = target.units["cpu"], target.bandwidth_gbps("cpu")
    configs = sorted({r.spec.key for r in measurements.rows})
    table = []
    for key in configs:
        held_out = [r for r in measurements.rows if r.spec.key == key]
        cal = _fit([r for r in measurements.rows if r.spec.key != key], target, "leave-one-configuration-out")
        for r in held_out:
            predicted = predict_kernel(r.spec, unit, cal, r.height, r.width, bandwidth, r.threads).latency_ms
            table.append({"config": key, "megapixels": round(r.height * r.width / 1e6, 2), "threads": r.threads,
                          "measured_ms": r.measured_ms, "predicted_ms": predicted,
                          "error": predicted / r.measured_ms - 1})
    errors = [abs(row["error"]) for row in table]
    ratios = [max(row["predicted_ms"] / row["measured_ms"], row["measured_ms"] / row["predicted_ms"]) for row in table]
    rho = float(spearmanr([r["measured_ms"] for r in table], [r["predicted_ms"] for r in table]).statistic)
    summary = {"rows": len(table), "configurations": len(configs), "median_abs_error": statistics.median(errors),
               "worst_ratio": max(ratios), "spearman": rho}
    return {"method": "leave one kernel configuration (spec and pixel type) out; fit on the rest",
            "bars": {"median_abs_error": MEDIAN_ERROR_BAR, "worst_ratio": WORST_RATIO_BAR, "spearman": SPEARMAN_BAR},
            "passed": summary["median_abs_error"] <= MEDIAN_ERROR_BAR and summary["worst_ratio"] <= WORST_RATIO_BAR
            and rho >= SPEARMAN_BAR, **summary, "table": table}
