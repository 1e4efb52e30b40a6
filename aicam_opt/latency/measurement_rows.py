"""The schema of latency measurement files: shared/calibration/*.yaml and `aicam-opt measure --save-rows`.

One schema for every file of measured latencies a calibration may be fitted to, shared by the
writer (`aicam_opt.device`, layer 13b) and the readers (the calibration here, layer 8):

    device: Snapdragon 865 (Xiaomi Mi 10)          what was measured (a remote: what it reports)
    target: sd865                                  optional: the target file the rows calibrate
    measured_at_utc, command                       optional: when and how (measure's rows)
    measurements:
      - {model: mobilenet_v1, unit: cpu, precision: fp32, ms: 28.38, source: A, cores: 1, core: ...}
      - {model: student, part: low_res, unit: cpu, precision: fp32, ms: 4.1, source: aicam-opt measure ...,
         runtime: tvm, cores: 1, workload: 1080x1920, min_ms: 4.0, max_ms: 4.6, repeats: 10}

A row names a model and a unit, the precision and the time in milliseconds, and where the figure
comes from; the rest is optional and says what a refit needs to rebuild the workload: the part of
the student (low_res | full_res | end_to_end), the workload (height x width), the candidate folder
or the student's configuration, the fused kernel's spec key. Unknown fields are errors: a typo must not silently drop a figure.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from ..config import Config, load_yaml

MEASURED_PARTS = ("low_res", "full_res", "end_to_end")


class MeasurementRow(Config):
    model: str = Field(..., min_length=1, description="reference network name, 'student', or a candidate's name")
    unit: str = Field(..., min_length=1, description="unit of the target file the figure was measured on")
    precision: Literal["fp32", "fp16", "int8"]
    ms: float = Field(..., gt=0, description="the measured latency (measure: the median of the repeats)")
    source: str = Field(..., min_length=1, description="who measured it, how (a letter of the file's notes, or "
                        "the measure command and the remote)")
    runtime: str | None = Field(None, description="what ran it: tvm, tflite-gpu, onnxruntime, paddle-lite, ...")
    cores: int | None = Field(None, ge=1, description="CPU threads")
    core: str | None = None
    job: str | None = Field(None, description="the publisher's job id")
    part: Literal["low_res", "full_res", "end_to_end"] | None = Field(
        None, description="which part of the student (absent: the whole model)")
    workload: str | None = Field(None, pattern=r"^\d+x\d+$", description="image height x width of the run")
    candidate: str | None = Field(None, description="the candidate folder measured (absent: the committed student)")
    kernel: str | None = Field(None, description="the fused kernel's spec key (kernels.spec.KernelSpec.key)")
    student: dict | None = Field(None, description="the measured student's configuration (models.student.StudentConfig, "
                                 "pruned widths included): the refit rebuilds the part's ops from it")
    min_ms: float | None = Field(None, gt=0)
    max_ms: float | None = Field(None, gt=0)
    repeats: int | None = Field(None, ge=1)


class MeasurementFile(Config):
    device: str = Field(..., min_length=1)
    target: str | None = None
    measured_at_utc: str | None = None
    command: str | None = None
    measurements: list[MeasurementRow] = Field(default_factory=list)


def load_measurements(path: str | Path) -> MeasurementFile:
    """A measurement file, validated (AicamError naming the file, the row and the field otherwise)."""
    return load_yaml(path, MeasurementFile)


__all__ = ["MeasurementRow", "MeasurementFile", "load_measurements", "MEASURED_PARTS"]
