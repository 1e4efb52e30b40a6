"""How far each metric family may move before the gate calls it a regression (or an improvement).

Read from `reports/baseline/tolerances.yaml` (the values and the reasons for them are in that file).
A family's allowed change is the larger of `relative * |baseline|` and `absolute`, so an absolute
tolerance acts as a floor for figures close to zero (a PSNR drop of 0.01 dB has no useful 2 %).
"""
from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, model_validator

from ..config import Config, load_yaml

# The committed file, found from the package so `aicam-opt gate` works from any working directory.
DEFAULT_TOLERANCES = Path(__file__).resolve().parents[2] / "reports" / "baseline" / "tolerances.yaml"


class Tolerance(Config):
    relative: float | None = Field(None, ge=0, description="fraction of the baseline value, e.g. 0.02 = 2 %")
    absolute: float | None = Field(None, ge=0, description="in the metric's own unit (dB, ΔE2000, 8-bit levels)")

    @model_validator(mode="after")
    def _at_least_one(self) -> Tolerance:
        if self.relative is None and self.absolute is None:
            raise ValueError("give 'relative' and/or 'absolute' (use relative: 0.0 for an exact comparison)")
        return self

    def allowed(self, baseline: float) -> float:
        """The largest change from `baseline` that still counts as unchanged."""
        return max((self.relative or 0.0) * abs(baseline), self.absolute or 0.0)

    def describe(self) -> str:
        parts = []
        if self.relative:
            parts.append(f"±{self.relative * 100:g}%")
        if self.absolute:
            parts.append(f"±{self.absolute:g}")
        return " or ".join(parts) or "exact"  # "or": the larger of the two applies


class Tolerances(Config):
    """One tolerance per metric family; every family must be given (no silent defaults)."""

    latency: Tolerance            # predicted_latency_ms.* of the student and every winner
    macs: Tolerance               # macs.*
    peak_memory: Tolerance        # peak_memory_mb.*
    psnr_drop: Tolerance          # winners' quality.psnr_drop_vs_student (dB)
    deltae: Tolerance             # winners' quality.deltae_vs_student (ΔE2000)
    flicker: Tolerance            # winners' quality.flicker (8-bit levels)
    student_psnr: Tolerance       # student.quality.psnr (dB)
    measured: Tolerance           # measured host_ms / reference_ms of the same run


def load_tolerances(path: str | os.PathLike = DEFAULT_TOLERANCES) -> Tolerances:
    return load_yaml(path, Tolerances)
