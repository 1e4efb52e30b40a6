"""The blocks winners.json and summary.json share: per-workload figures, the uncompressed student and
the evaluation images. Plain pydantic, no torch and no Optuna: the CI gate reads summary.json through
them and stays light.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from ..config import JsonBlock

# A latency, MAC count, memory figure or speed-up of zero or below is a broken document, not an
# improvement: the gate would read a negative latency as the best run ever.
Positive = Annotated[float, Field(gt=0)]
PositiveCount = Annotated[int, Field(gt=0)]


class EvaluationSet(JsonBlock):
    """The images every quality figure of a study was measured on."""

    data: str | None = None  # where they were read from: a path differs between machines, so not compared
    pairs: list[str]
    photos: list[str]
    clip: str | None
    frames: int

    def differences(self, other: "EvaluationSet") -> list[str]:
        return [f"{name} {getattr(self, name)!r} vs {getattr(other, name)!r}"
                for name in ("pairs", "photos", "clip", "frames") if getattr(self, name) != getattr(other, name)]


class StudentQuality(JsonBlock):
    psnr: float
    flicker: float | None = None  # None: the evaluation data has no clip


class Finite(JsonBlock):
    """A block a gate compares: NaN/inf would compare as "unchanged" against anything, so they are refused."""

    model_config = ConfigDict(allow_inf_nan=False)


class Figures(Finite):
    """Per-workload figures (keys: preview, video8k, photo100mp, ...)."""

    predicted_latency_ms: dict[str, Positive]
    macs: dict[str, PositiveCount]
    peak_memory_mb: dict[str, Positive]


class FiniteStudentQuality(StudentQuality):
    model_config = ConfigDict(allow_inf_nan=False)


class StudentBlock(Figures):
    """The uncompressed student, the reference of every speed-up and quality drop of the run."""

    placement: dict[str, str]                 # part -> "unit:precision"
    quality: FiniteStudentQuality
    params: int
    measured_on: EvaluationSet | None = None  # absent in studies made before it was recorded
    best_placement: dict[str, str] | None = None             # fastest with fp16 allowed, no compression
    best_predicted_latency_ms: dict[str, Positive] | None = None
