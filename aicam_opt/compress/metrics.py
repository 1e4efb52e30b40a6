"""What a built candidate measured: its quality and `metrics.json` (one schema for the build that writes
it, the search that records it and the compile step that reads it back).

metrics.json has no `schema` key (it never had one); its keys:
    candidate, quality, params, macs, macs_low_res, macs_full_res, workload, predicted_latency_ms, base,
    architecture, channel_multiple, inheritance, recovery, seconds, evaluated_on (which images measured it),
    [latency_ms, peak_memory_mb: a search trial's folder, the trial's predicted figures per budgeted
     workload; `macs` is then per workload too], [onnx: when model.onnx was exported].
"""
from __future__ import annotations

import math
from typing import Any

from pydantic import ConfigDict

from ..config import Document, JsonBlock


class CandidateQuality(JsonBlock):
    """compress.evaluation.candidate_quality: the candidate against the uncompressed student and the
    teacher on the evaluation images; the flicker keys only when the evaluation had clip frames."""

    psnr: float
    student_psnr: float
    psnr_drop_vs_student: float
    psnr_vs_student: float
    deltae_vs_student: float
    psnr_vs_teacher: float
    deltae_vs_teacher: float
    pairs: int
    images: int
    flicker: float | None = None
    flicker_student: float | None = None
    flicker_frames: int | None = None

    def metric(self, name: str) -> float | None:
        """A quality objective of the search by name (search.space.QUALITY_OBJECTIVES)."""
        value = getattr(self, name)
        return None if value is None else float(value)

    def non_finite(self) -> list[str]:
        """Names of the float metrics that are NaN or infinite (a transform that broke the model)."""
        return [name for name, value in self if isinstance(value, float) and not math.isfinite(value)]


class FiniteQuality(CandidateQuality):
    """CandidateQuality in documents a gate compares: NaN or infinity would compare as 'unchanged'."""

    model_config = ConfigDict(allow_inf_nan=False)


class BaseFigures(JsonBlock):
    params: int
    macs: int


class OnnxExport(JsonBlock):
    path: str
    inputs: dict[str, list[int]]
    qdq_nodes: dict[str, int]
    export_s: float


class CandidateMetrics(Document):
    candidate: str
    quality: CandidateQuality
    params: int
    macs: int | dict[str, int]  # the preview workload's; per budgeted workload in a search trial's folder
    macs_low_res: int
    macs_full_res: int
    workload: str
    predicted_latency_ms: dict[str, float]
    base: BaseFigures
    architecture: dict[str, Any]
    channel_multiple: int
    inheritance: dict[str, Any] | None
    recovery: dict[str, Any]
    seconds: dict[str, float]
    evaluated_on: str | None = None  # data.DataSource.split_description of the measured images
    latency_ms: dict[str, float] | None = None
    peak_memory_mb: dict[str, float] | None = None
    onnx: OnnxExport | None = None
