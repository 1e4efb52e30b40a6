"""The documents `aicam-opt measure --json` writes: one typed schema, shared by the writer and its readers.

One model (`student`, a candidate folder), schema "aicam_opt.device.measure/1":

    schema, model, candidate_dir (null: the committed student), roles (winner roles naming it),
    target, os, workload ("preview" | "HxW"), height, width, pixel_type, threads, repeat, number,
    measured_at_utc, command, status ("measured" | "partial" | "failed" | "running"),
    device: {address, via ("rpc" | "tracker" | "local"), tracker, key, triple, cpu, isa, os, threads,
             units: {cpu, gpu, dsp: bool}, opencl_device} | null (not reached),
    parts: {low_res | full_res | end_to_end: {
        unit, precision, engine, kernel (spec key | null), status ("measured" | "skipped" | "failed" | "pending"),
        measured_ms (median of the repeats) | null, predicted_ms | null, predicted_missing (why not) | null,
        ratio (measured / predicted) | null, spread {median_ms, mean_ms, min_ms, max_ms, q1_ms, q3_ms, iqr_ms,
        std_ms, repeats, number, times_ms} | null, reason (skipped/failed) | null,
        artifact {file, sha256, bytes, isa, link {platform, linked, linker, found_by, options, reason},
                  tvm_target} | null}},
    total: {measured_ms, measured_from ("end_to_end" | "sum_of_parts") | null, measured_missing | null,
            sum_of_parts_ms | null, predicted_ms | null, predicted_missing | null, ratio | null},
    error: null | {part, message}, notes: [...]

A report folder, schema "aicam_opt.device.measure_winners/1":
    schema, report_dir, winners_file, target, device, measured_at_utc, command, status,
    models: {label: <the document above>}, error
"""
from __future__ import annotations

import statistics
from typing import Any, Literal

from pydantic import Field

from ..config import Config

MEASURE_SCHEMA = "aicam_opt.device.measure/1"
WINNERS_SCHEMA = "aicam_opt.device.measure_winners/1"
PartName = Literal["low_res", "full_res", "end_to_end"]
Status = Literal["measured", "partial", "failed", "running"]


class Spread(Config):
    median_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    q1_ms: float
    q3_ms: float
    iqr_ms: float
    std_ms: float
    repeats: int
    number: int = Field(..., description="calls averaged into each repeat")
    times_ms: list[float]

    @classmethod
    def of(cls, times_ms: list[float], number: int) -> "Spread":
        ordered = sorted(times_ms)
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive") if len(ordered) > 1 else (ordered[0],) * 3
        return cls(median_ms=statistics.median(ordered), mean_ms=statistics.fmean(ordered), min_ms=ordered[0],
                   max_ms=ordered[-1], q1_ms=q1, q3_ms=q3, iqr_ms=q3 - q1,
                   std_ms=statistics.stdev(ordered) if len(ordered) > 1 else 0.0, repeats=len(ordered),
                   number=number, times_ms=list(times_ms))


class DeviceInfo(Config):
    address: str
    via: Literal["rpc", "tracker", "local"]
    tracker: str | None = None
    key: str | None = None
    triple: str | None = Field(None, description="the remote's LLVM triple (null: a runtime-only server, e.g. the "
                               "Android RPC app)")
    cpu: str | None = None
    isa: str | None = None
    os: str | None = None
    threads: int | None = Field(None, description="the remote's TVM thread pool size after configuring it")
    units: dict[str, bool] = Field(default_factory=dict, description="unit -> the remote has that device")
    opencl_device: str | None = None


class PartMeasurement(Config):
    unit: str
    precision: str
    engine: str
    kernel: str | None = Field(None, description="the fused kernel's spec key, where the part runs it")
    status: Literal["measured", "skipped", "failed", "pending"] = "pending"
    measured_ms: float | None = None
    predicted_ms: float | None = None
    predicted_missing: str | None = None
    ratio: float | None = None
    spread: Spread | None = None
    reason: str | None = None
    artifact: dict[str, Any] | None = None


class Total(Config):
    measured_ms: float | None = None
    measured_from: Literal["end_to_end", "sum_of_parts"] | None = None
    measured_missing: str | None = None
    sum_of_parts_ms: float | None = None
    predicted_ms: float | None = None
    predicted_missing: str | None = None
    ratio: float | None = None


class MeasureError(Config):
    part: str | None = None
    message: str


class ModelMeasurement(Config):
    schema_: str = Field(MEASURE_SCHEMA, alias="schema")
    model: str
    candidate_dir: str | None = None
    student: dict | None = None  # the measured student's configuration (StudentConfig, pruned widths included)
    roles: list[str] = Field(default_factory=list)
    target: str
    os: str | None = None
    workload: str
    height: int
    width: int
    pixel_type: str
    threads: int
    repeat: int
    number: int
    measured_at_utc: str
    command: str
    status: Status = "running"
    device: DeviceInfo | None = None
    parts: dict[PartName, PartMeasurement] = Field(default_factory=dict)
    total: Total = Field(default_factory=Total)
    error: MeasureError | None = None
    notes: list[str] = Field(default_factory=list)

    model_config = {**Config.model_config, "populate_by_name": True}

    def finish(self) -> None:
        """Fill the total and the status from the parts."""
        low, full, both = (self.parts.get(p) for p in ("low_res", "full_res", "end_to_end"))
        total = self.total
        if low and full and low.measured_ms is not None and full.measured_ms is not None:
            total.sum_of_parts_ms = low.measured_ms + full.measured_ms
        if both and both.measured_ms is not None:
            total.measured_ms, total.measured_from, total.measured_missing = both.measured_ms, "end_to_end", None
        elif total.sum_of_parts_ms is not None:
            total.measured_ms, total.measured_from = total.sum_of_parts_ms, "sum_of_parts"
            total.measured_missing = None
        else:
            total.measured_ms, total.measured_from = None, None
            total.measured_missing = "; ".join(f"{name}: {p.reason or p.status}" for name, p in self.parts.items()
                                               if name != "end_to_end" and p.measured_ms is None) or None
        total.ratio = (total.measured_ms / total.predicted_ms) if total.measured_ms and total.predicted_ms else None
        states = {p.status for p in self.parts.values()}
        if self.error is not None:
            self.status = "failed" if "measured" not in states else "partial"
        elif "pending" in states:
            self.status = "running"
        else:
            self.status = "measured" if states <= {"measured"} else ("partial" if "measured" in states else "failed")

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class WinnersMeasurement(Config):
    schema_: str = Field(WINNERS_SCHEMA, alias="schema")
    report_dir: str | None = None  # the report folder whose winners these are
    winners_file: str | None = None
    space: str | None = None  # ... or the search space the architectures were drawn from (MODEL space:NAME)
    target: str
    measured_at_utc: str
    command: str
    status: Status = "running"
    device: DeviceInfo | None = None
    models: dict[str, ModelMeasurement] = Field(default_factory=dict)
    error: MeasureError | None = None

    model_config = {**Config.model_config, "populate_by_name": True}

    def finish(self) -> None:
        for model in self.models.values():
            model.finish()
        states = {m.status for m in self.models.values()}
        if self.error is not None:
            self.status = "partial" if states & {"measured", "partial"} else "failed"
        else:
            self.status = "measured" if states <= {"measured"} else ("partial" if states & {"measured", "partial"}
                                                                      else "failed")

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


__all__ = ["ModelMeasurement", "WinnersMeasurement", "PartMeasurement", "Total", "Spread", "DeviceInfo",
           "MeasureError", "MEASURE_SCHEMA", "WINNERS_SCHEMA"]
